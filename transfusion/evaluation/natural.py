"""The evaluator's cases in people's words: draw requests, questions, edits and chitchat.

Each group is drawn, as in `cases.py`, from its own seeded generator, and comes twice: in
phrasings seen in training and in held-out ones (`requests`, `more_questions`,
`edit_phrasings`, `chitchat` keep the held-out ones out of the training stream), so that the
table shows how the model does on words it has never read. Scoring:
- a request: the chat's reply holds a picture whose analysed scene satisfies the request (the
  named attributes right, exactly the named count of objects); and, apart, whether the words of
  the reply ("here is <caption>") describe that picture truthfully;
- a question or an edit in people's words: as the canonical ones (exact answer, exact scene),
  except that a yes/no or count answer is graded on its verdict (`more_questions.verdict_of`:
  the evidence said before it is the model's working, and a bare verdict counts the same);
- chitchat: a text reply, no picture, that ended by itself (no loop) and names what the model
  draws (`chitchat.is_good_reply`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..shapesworld.captions import canonical_caption
from ..shapesworld.chitchat import CHITCHAT_KINDS, is_good_reply, random_chitchat
from ..shapesworld.edit_phrasings import phrase_edit
from ..shapesworld.edits import EDIT_KINDS, feasible_kinds, random_edit
from ..shapesworld.more_questions import NEW_QUESTION_FORMS, phrase_question, random_new_question, verdict_of
from ..shapesworld.questions import questions_for
from ..shapesworld.render import render
from ..shapesworld.requests import REQUEST_GROUPS, Request, random_request
from ..shapesworld.world import Scene, random_scene
from .score import Tally, last_image, normalise, read, scene_matches, text_matches

PHRASINGS = ("seen", "held-out")


@dataclass(frozen=True)
class RequestCase:
    group: str  # one of REQUEST_GROUPS
    held_out: bool
    request: Request


@dataclass(frozen=True)
class NaturalQuestionCase:
    row: str  # the table's row: a new form (seen words), or "seen" / "held-out" (any form)
    scene: Scene
    form: str  # a key of QUESTION_FORMS or NEW_QUESTION_FORMS
    held_out: bool
    question: str
    answer: str


@dataclass(frozen=True)
class NaturalEditCase:
    scene: Scene
    kind: str
    held_out: bool
    instruction: str
    expected: Scene


@dataclass(frozen=True)
class ChitChatCase:
    kind: str
    held_out: bool
    message: str


@dataclass(frozen=True)
class NaturalCases:
    request: tuple[RequestCase, ...]
    question: tuple[NaturalQuestionCase, ...]
    edit: tuple[NaturalEditCase, ...]
    chitchat: tuple[ChitChatCase, ...]


def _rng(seed: int, group: str) -> random.Random:
    return random.Random(f"eval:{seed}:natural/{group}")


def request_cases(n: int, seed: int) -> tuple[RequestCase, ...]:
    """n seen requests per group, and n held-out ones across the groups."""
    out = []
    for group in REQUEST_GROUPS:
        rng = _rng(seed, f"request/{group}")
        out += [RequestCase(group, False, random_request(rng, False, group)) for _ in range(n)]
    rng = _rng(seed, "request/held out")
    for k in range(n):
        group = REQUEST_GROUPS[k % len(REQUEST_GROUPS)]
        out.append(RequestCase(group, True, random_request(rng, True, group)))
    return tuple(out)


def question_cases(n: int, seed: int) -> tuple[NaturalQuestionCase, ...]:
    """n questions of each new form in seen words, then n of any form (the five canonical ones
    and the new) in seen words and n in held-out words."""
    out = []
    for form in NEW_QUESTION_FORMS:
        rng = _rng(seed, f"question/{form}")
        while sum(c.row == form for c in out) < n:
            scene = random_scene(rng)
            try:
                q = random_new_question(rng, scene, form)
            except ValueError:  # e.g. 'which shape is red?' needs exactly one red object
                continue
            out.append(NaturalQuestionCase(form, scene, form, False, phrase_question(q, rng), q.answer))
    for held_out in (False, True):
        rng = _rng(seed, f"question/any/{PHRASINGS[held_out]}")
        for _ in range(n):
            scene = random_scene(rng)
            if rng.random() < 0.5:
                q = rng.choice(questions_for(scene))
            else:
                q = random_new_question(rng, scene)
            out.append(NaturalQuestionCase(PHRASINGS[held_out], scene, q.form, held_out, phrase_question(q, rng, held_out),
                                           q.answer))
    return tuple(out)


def edit_cases(n: int, seed: int) -> tuple[NaturalEditCase, ...]:
    """n paraphrased edits in seen words and n in held-out words, the kinds in turn."""
    out = []
    for held_out in (False, True):
        rng = _rng(seed, f"edit/{PHRASINGS[held_out]}")
        k = 0
        while k < n:
            scene = random_scene(rng)
            kind = EDIT_KINDS[k % len(EDIT_KINDS)]
            if kind in feasible_kinds(scene):
                e = random_edit(rng, scene, kind)
                out.append(NaturalEditCase(scene, kind, held_out, phrase_edit(e, scene, rng, held_out), e.apply(scene)))
                k += 1
    return tuple(out)


def chitchat_cases(n: int, seed: int) -> tuple[ChitChatCase, ...]:
    out = []
    for held_out in (False, True):
        rng = _rng(seed, f"chitchat/{PHRASINGS[held_out]}")
        for k in range(n):
            c = random_chitchat(rng, held_out, CHITCHAT_KINDS[k % len(CHITCHAT_KINDS)])
            out.append(ChitChatCase(c.kind, held_out, c.message))
    return tuple(out)


def build_natural_cases(n: int, seed: int = 0) -> NaturalCases:
    return NaturalCases(request_cases(n, seed), question_cases(n, seed), edit_cases(n, seed), chitchat_cases(n, seed))


REQUEST_ROWS = (*REQUEST_GROUPS, "held out")


def _words(parts) -> str:
    return " ".join(p.strip() for p in parts if isinstance(p, str)).strip() if isinstance(parts, list) else ""


def _truthful(words: str, scene: Scene | None) -> bool:
    """Whether a reply's words say 'here is <the caption of its own picture>'."""
    if scene is None or not 1 <= len(scene.objects) <= 3:
        return False
    return text_matches(words, f"here is {canonical_caption(scene)}")


def chat_ended(model, messages: list[dict], seed: int) -> tuple[list, bool]:
    """The model's chat reply and whether it ended by itself (not cut at its token budget)."""
    if hasattr(model, "chat_ended"):
        return model.chat_ended(messages, seed=seed)
    return model.chat(messages, seed=seed), True


def request_right(model, case: RequestCase, seed: int) -> tuple[bool, bool]:
    """(the reply's picture satisfies the request, the reply's words say that picture truthfully)."""
    reply = model.chat([{"role": "user", "content": case.request.text}], seed=seed)
    scene = read(last_image(reply))
    return scene is not None and case.request.satisfied_by(scene), _truthful(_words(reply), scene)


def question_right(model, case: NaturalQuestionCase) -> bool:
    reply = normalise(model.answer(render(case.scene), case.question))
    return text_matches(verdict_of(reply), verdict_of(case.answer))


def edit_right(model, case: NaturalEditCase, seed: int) -> bool:
    return scene_matches(model.edit(render(case.scene), case.instruction, seed=seed), case.expected)


def chitchat_replies(model, cases: tuple[ChitChatCase, ...], seed: int):
    """(case, the model's reply, whether it ended by itself) for each chitchat case, the i-th
    sampled with seed + i."""
    for i, case in enumerate(cases):
        reply, ended = chat_ended(model, [{"role": "user", "content": case.message}], seed + i)
        yield case, list(reply), ended


def score_natural(model, cases: NaturalCases, seed: int) -> dict:
    """Every score in people's words of `model` (the pipeline's API); JSON-ready."""
    requests = {r: Tally() for r in REQUEST_ROWS}
    truthful = Tally()
    for i, case in enumerate(cases.request):
        satisfied, true_words = request_right(model, case, seed + i)
        requests["held out" if case.held_out else case.group].add(satisfied)
        truthful.add(true_words)
    questions = {r: Tally() for r in (*NEW_QUESTION_FORMS, *PHRASINGS)}
    for case in cases.question:
        questions[case.row].add(question_right(model, case))
    edits = {p: Tally() for p in PHRASINGS}
    for i, case in enumerate(cases.edit):
        edits[PHRASINGS[case.held_out]].add(edit_right(model, case, seed + i))
    chitchat = {p: Tally() for p in PHRASINGS}
    for case, reply, ended in chitchat_replies(model, cases.chitchat, seed):
        chitchat[PHRASINGS[case.held_out]].add(is_good_reply(reply, ended))
    return {
        "requests": {**{r: t.as_dict() for r, t in requests.items()}, "truthful words": truthful.as_dict()},
        "questions": {r: t.as_dict() for r, t in questions.items()},
        "edits": {p: t.as_dict() for p, t in edits.items()},
        "chitchat": {p: t.as_dict() for p, t in chitchat.items()},
    }
