"""The training stream: endless, seeded, interleaved text-and-image documents in chat form.

A document is a chat, `list[dict]`, each turn `{"role": "user" | "assistant", "content": parts}`
where parts are plain strings (no role markers: the tokenizer adds those) and 64 x 64 RGB
PIL images. `document(index, seed)` is a pure function of (seed, index), so a run resumes at an
exact data position and data-parallel ranks take disjoint indices (`stream`).

Tasks (weights in `DEFAULT_MIXTURE`, any of them may be changed or zeroed):
- text_to_image: user [caption or paraphrase] -> assistant [image]
- image_to_text: user [image, "describe this image"...] -> assistant [canonical caption]
- question: user [image, question] -> assistant [canonical answer]
- edit: user [image, instruction] -> assistant [edited image]
- chat: 2-3 user turns. It opens with a drawing request (-> "here is <caption>", image) or an
  uploaded image with a request to describe, a question or an edit; follow-ups edit the last
  image (-> "here is <caption of the result>", image), ask a question, or ask to describe it.
  Saying the caption before the image lets the model plan the picture in words first.
  Half the requests, instructions and questions are in people's words (below).
- request: user [a request in people's words, naming any subset of the attributes] ->
  assistant ["here is <caption of what it drew>", image], the unnamed attributes at random
- natural_question: user [image, a question in people's words, of the five forms or the new
  ones (yes/no, which, what is, how many)] -> assistant [canonical answer; yes/no and counts
  say their evidence first]
- natural_edit: user [image, a paraphrased instruction] -> assistant [edited image]
- chitchat: user [a greeting, thanks, a question about the model, a thing outside the world]
  -> assistant [a short text reply: what it draws, and an example request]; sometimes followed
  by a drawing request
- reason: user ["there is <caption>. <a yes/no or count question>"] -> assistant [the same
  evidence, then the verdict], then up to two more such questions about the same scene (the
  scene not said again, as a question about a picture leaves it in the context): text only.
  The image questions of these forms leave the model to learn the comparison of what it wrote
  with what was asked from one bit per picture; here the same step is taught from words,
  cheaply (no image tokens)
- glossary: user ["what does enlarge mean?"] -> assistant ["enlarge means make bigger"], one to
  three words (`glossary.py`): what the words of held-out phrasings mean, read in text and never
  in a task, as a pretrained model would have read them elsewhere. Not in `DEFAULT_MIXTURE`:
  a run asks for it by weight
No scene, instruction or edit result ever holds a held-out colour-shape pair, and no text uses
a held-out phrasing (`requests`, `more_questions`, `edit_phrasings`, `chitchat`); the glossary
alone says the words of some, each in a definition.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

from PIL import Image

from .captions import canonical_caption, paraphrase
from .chitchat import random_chitchat
from .edit_phrasings import phrase_edit
from .edits import Edit, random_edit
from .glossary import glossary_turns
from .more_questions import EVIDENCE_FORMS, in_words, phrase_question, random_new_question
from .questions import QUESTION_FORMS, Question, questions_for
from .requests import random_request
from .render import render
from .world import Scene, random_scene

Document = list[dict]

DEFAULT_MIXTURE: dict[str, float] = {
    "text_to_image": 0.10,
    "image_to_text": 0.03,
    "question": 0.08,
    "edit": 0.22,
    "chat": 0.16,
    "request": 0.15,
    "natural_question": 0.08,
    "natural_edit": 0.07,
    "chitchat": 0.05,
    "reason": 0.06,
}
NATURAL_P = 0.5  # share of a chat's requests, instructions and questions said in people's words
CHITCHAT_THEN_DRAW_P = 0.3  # share of chitchat documents that go on with a drawing request
CANONICAL_PROMPT_P = 0.4  # share of text-to-image prompts that are the canonical caption
NEAR_MISS_P = 0.5  # share of absent 'is there a {colour} {shape}?' asked about a colour or shape that is there
MAX_REASON_QUESTIONS = 3  # a scene said once in words, then asked about up to this many times
MAX_CHAT_IMAGES = 3  # keeps a chat within a few hundred tokens (an image costs config.image_tokens)

DESCRIBE_PROMPTS: tuple[str, ...] = (
    "describe this image",
    "describe this",
    "describe the image",
    "what is in this picture?",
    "what do you see?",
    "caption this image",
)
DESCRIBE_AGAIN_PROMPTS: tuple[str, ...] = (
    "describe the image",
    "describe it",
    "describe it now",
    "what does it look like now?",
)
DRAW_LEAD_INS: tuple[str, ...] = ("draw ", "please draw ", "can you draw ", "show me ", "make a picture of ")


def user(*parts) -> dict:
    return {"role": "user", "content": list(parts)}


def assistant(*parts) -> dict:
    return {"role": "assistant", "content": list(parts)}


def here_is(scene: Scene) -> str:
    """The assistant's sentence before an image it draws in a chat."""
    return f"here is {canonical_caption(scene)}"


def pick_question(rng: random.Random, scene: Scene) -> Question:
    """A question with its answer: first a form uniformly (among those valid), then one of it."""
    by_form: dict[str, list[Question]] = {}
    for q in questions_for(scene):
        by_form.setdefault(q.form, []).append(q)
    form = rng.choice([f for f in QUESTION_FORMS if f in by_form])
    return rng.choice(by_form[form])


# ---------------------------------------------------------------- single-turn tasks


def text_to_image(rng: random.Random) -> Document:
    scene = random_scene(rng)
    prompt = canonical_caption(scene) if rng.random() < CANONICAL_PROMPT_P else paraphrase(scene, rng)
    return [user(prompt), assistant(render(scene))]


def image_to_text(rng: random.Random) -> Document:
    scene = random_scene(rng)
    return [user(render(scene), rng.choice(DESCRIBE_PROMPTS)), assistant(canonical_caption(scene))]


def question(rng: random.Random) -> Document:
    scene = random_scene(rng)
    q = pick_question(rng, scene)
    return [user(render(scene), q.question), assistant(q.answer)]


def edit(rng: random.Random) -> Document:
    scene = random_scene(rng)
    e = random_edit(rng, scene)
    return [user(render(scene), e.instruction), assistant(render(e.apply(scene)))]


# ---------------------------------------------------------------- people's words


def natural_question_of(rng: random.Random, scene: Scene) -> tuple[Question, str]:
    """A question (of the five forms or the new ones) with its answer, and how people word it."""
    q = random_new_question(rng, scene, near_miss_p=NEAR_MISS_P) if rng.random() < 0.6 else pick_question(rng, scene)
    return q, phrase_question(q, rng)


def question_of(rng: random.Random, scene: Scene, natural: bool) -> tuple[Question, str]:
    """A question and its words: people's (`natural`) or the canonical ones."""
    if natural:
        return natural_question_of(rng, scene)
    q = pick_question(rng, scene)
    return q, q.question


def instruction_of(rng: random.Random, e: Edit, scene: Scene, natural: bool) -> str:
    return phrase_edit(e, scene, rng) if natural else e.instruction


def drawn_request(rng: random.Random) -> tuple[Document, Scene]:
    """A request in people's words, the caption of what was drawn and the picture."""
    r = random_request(rng)
    scene = r.fill(rng)
    return [user(r.text), assistant(here_is(scene), render(scene))], scene


def request(rng: random.Random) -> Document:
    return drawn_request(rng)[0]


def natural_question(rng: random.Random) -> Document:
    scene = random_scene(rng)
    q, text = natural_question_of(rng, scene)
    return [user(render(scene), text), assistant(q.answer)]


def natural_edit(rng: random.Random) -> Document:
    scene = random_scene(rng)
    e = random_edit(rng, scene)
    return [user(render(scene), phrase_edit(e, scene, rng)), assistant(render(e.apply(scene)))]


def chitchat(rng: random.Random) -> Document:
    c = random_chitchat(rng, wider=True)
    doc = [user(c.message), assistant(c.reply)]
    if rng.random() < CHITCHAT_THEN_DRAW_P:
        doc += drawn_request(rng)[0]
    return doc


def reason(rng: random.Random) -> Document:
    scene = random_scene(rng)
    doc: Document = []
    asked: set[str] = set()
    for _ in range(rng.randint(1, MAX_REASON_QUESTIONS)):
        q = random_new_question(rng, scene, form=rng.choice(EVIDENCE_FORMS), near_miss_p=NEAR_MISS_P)
        if q.question in asked:  # never the same question twice, as in a chat
            continue
        asked.add(q.question)
        text = phrase_question(q, rng) if rng.random() < NATURAL_P else q.question
        doc += [user(in_words(scene, text) if not doc else text), assistant(q.answer)]
    return doc


def glossary(rng: random.Random) -> Document:
    doc: Document = []
    for asked, answer in glossary_turns(rng):
        doc += [user(asked), assistant(answer)]
    return doc


# ---------------------------------------------------------------- chat


def _opening(rng: random.Random, scene: Scene, asked: set[str]) -> tuple[Document, Scene]:
    """The first exchange of a chat, and the scene of the last image after it."""
    image = render(scene)
    opener = rng.choices(("draw", "describe", "question", "edit"), weights=(0.6, 0.2, 0.1, 0.1))[0]
    if opener == "draw":
        if rng.random() < NATURAL_P:
            return drawn_request(rng)
        if rng.random() < 0.5:
            request = "draw " + canonical_caption(scene)
        else:
            request = paraphrase(scene, rng, lead_ins=DRAW_LEAD_INS)
        return [user(request), assistant(here_is(scene), image)], scene
    if opener == "describe":
        return [user(image, rng.choice(DESCRIBE_PROMPTS)), assistant(canonical_caption(scene))], scene
    natural = rng.random() < NATURAL_P
    if opener == "question":
        q, text = question_of(rng, scene, natural)
        asked.add(q.question)  # the canonical text: the same question in other words is the same
        return [user(image, text), assistant(q.answer)], scene
    e = random_edit(rng, scene)
    edited = e.apply(scene)
    return [user(image, instruction_of(rng, e, scene, natural)), assistant(here_is(edited), render(edited))], edited


def _follow_up(rng: random.Random, scene: Scene, asked: set[str], may_draw: bool) -> tuple[Document, Scene]:
    """One more exchange about the last image (`scene`): an edit, a question or 'describe'."""
    kinds, weights = ["question", "describe"], [0.3, 0.2]
    if may_draw:
        kinds, weights = kinds + ["edit"], weights + [0.5]
    kind = rng.choices(kinds, weights=weights)[0]
    natural = rng.random() < NATURAL_P
    if kind == "edit":
        e = random_edit(rng, scene)
        edited = e.apply(scene)
        asked.clear()  # a new image: every question is new again
        prefix = "now " if rng.random() < 0.25 else ""
        instruction = prefix + instruction_of(rng, e, scene, natural)
        return [user(instruction), assistant(here_is(edited), render(edited))], edited
    if kind == "question":
        q, text = question_of(rng, scene, natural)
        if q.question not in asked:  # never the same question twice about one image, in any words
            asked.add(q.question)
            return [user(text), assistant(q.answer)], scene
    return [user(rng.choice(DESCRIBE_AGAIN_PROMPTS)), assistant(canonical_caption(scene))], scene


def chat(rng: random.Random) -> Document:
    asked: set[str] = set()  # questions already asked about the current image
    turns, scene = _opening(rng, random_scene(rng), asked)
    for _ in range(rng.randint(1, 2)):
        n_images = len(images(turns))
        more, scene = _follow_up(rng, scene, asked, may_draw=n_images < MAX_CHAT_IMAGES)
        turns += more
    return turns


TASKS = {
    "text_to_image": text_to_image,
    "image_to_text": image_to_text,
    "question": question,
    "edit": edit,
    "chat": chat,
    "request": request,
    "natural_question": natural_question,
    "natural_edit": natural_edit,
    "chitchat": chitchat,
    "reason": reason,
    "glossary": glossary,
}


# ---------------------------------------------------------------- the stream


def check_mixture(mixture: dict[str, float]) -> None:
    """Raise ValueError unless `mixture` maps known task names to weights >= 0 with a positive sum."""
    unknown = set(mixture) - set(TASKS)
    if unknown:
        raise ValueError(f"unknown tasks in mixture: {sorted(unknown)}; known: {sorted(TASKS)}")
    if not all(isinstance(w, (int, float)) and not isinstance(w, bool) for w in mixture.values()):
        raise ValueError(f"mixture weights must be numbers, got {mixture}")
    if any(w < 0 for w in mixture.values()) or sum(mixture.values()) <= 0:
        raise ValueError(f"mixture weights must be >= 0 with a positive sum, got {mixture}")


def _start(index: int, seed: int, mixture: dict[str, float] | None) -> tuple[random.Random, str]:
    """The document's own generator and its task (the first draw)."""
    if index < 0:
        raise ValueError(f"document index must be >= 0, got {index}")
    mixture = DEFAULT_MIXTURE if mixture is None else mixture
    check_mixture(mixture)
    rng = random.Random(f"{seed}:{index}")  # a str seed hashes with SHA-512: stable everywhere
    names = list(mixture)
    return rng, rng.choices(names, weights=[mixture[n] for n in names])[0]


def task_of(index: int, seed: int = 0, mixture: dict[str, float] | None = None) -> str:
    """Which task document `index` is (without building it)."""
    return _start(index, seed, mixture)[1]


def document(index: int, seed: int = 0, mixture: dict[str, float] | None = None) -> Document:
    """Document number `index` of the stream `seed`: a pure function of its arguments."""
    rng, task = _start(index, seed, mixture)
    return TASKS[task](rng)


def stream(
    seed: int = 0,
    start: int = 0,
    rank: int = 0,
    world_size: int = 1,
    mixture: dict[str, float] | None = None,
) -> Iterator[Document]:
    """Documents start + rank, start + rank + world_size, ... forever.

    Ranks 0..world_size-1 together read every index from `start` on exactly once; to resume,
    pass as `start` the number of documents all ranks have consumed (a multiple of world_size).
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size), got rank={rank}, world_size={world_size}")
    for index in itertools.count(start + rank, world_size):
        yield document(index, seed, mixture)


def texts(doc: Document) -> list[str]:
    """The text parts of a document, in order."""
    return [p for turn in doc for p in turn["content"] if isinstance(p, str)]


def images(doc: Document) -> list[Image.Image]:
    """The image parts of a document, in order."""
    return [p for turn in doc for p in turn["content"] if isinstance(p, Image.Image)]


def text_corpus(n: int, seed: int = 0) -> list[str]:
    """The first `n` text parts of the stream `seed` (e.g. to train the tokenizer)."""
    out: list[str] = []
    for doc in stream(seed):
        out.extend(texts(doc))
        if len(out) >= n:
            return out[:n]
    raise AssertionError("unreachable: the stream is endless")
