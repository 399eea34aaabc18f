"""Training documents from a folder of your own pictures (`format.py`), as a pure function of an index.

Tasks, each drawn with its weight in `FOLDER_MIXTURE` (a task the folder has no rows for is
left out, the others keep their proportions; `--mixture` changes any of them):
- text_to_image: user [the caption, or one of the entry's prompts] -> assistant [picture]; after
  a prompt (a request in words: "draw a thumbs up"), half the time ["here is <caption>", picture],
  so that a chat's reply says what it drew while a bare request still conditions a bare picture
  (the evaluator and the editor force the picture right after the request)
- image_to_text: user [picture, "what is this?" ...] -> assistant [caption]
- question: user [picture, question] -> assistant [answer]                (questions.jsonl)
- edit: user [source picture, instruction] -> assistant [target picture]  (edits.jsonl)
- chat: user [a prompt of the source] -> assistant ["here is <caption>", source picture];
  user [instruction] -> assistant ["here is <target caption>", target picture]  (edits.jsonl)

Nothing that shows a held-out picture is trained on. Pictures and captions are taken in a fresh
shuffled order every epoch; the other tasks draw their row from the document's own generator.
An epoch shows every picture once, or, balanced by an attribute (`balance_by`, `--balance-by`),
every value of it about equally often (`epoch_multiplicity`).
"""

from __future__ import annotations

import random
from collections import Counter
from functools import lru_cache
from pathlib import Path

from PIL import Image

from .format import Entry, Folder, read_folder

DESCRIBE = ("describe this image", "what is in this picture?", "caption this image", "what is this?")
FOLDER_MIXTURE: dict[str, float] = {"text_to_image": 0.45, "image_to_text": 0.2, "question": 0.1, "edit": 0.15, "chat": 0.1}
# the share of drawings after a prompt whose reply says "here is <caption>" first
WORDS_AFTER_REQUEST = 0.5
# how many of the catalogue's captions the training grid draws (`sample_prompts`)
SAMPLE_COUNT = 8


def here_is(entry: Entry) -> str:
    """The assistant's words before a picture it draws in a chat."""
    return f"here is {entry.caption}"


def epoch_multiplicity(entries: tuple[Entry, ...], attribute: str | None) -> list[int]:
    """How many times each entry appears in an epoch of drawing and naming.

    Without an attribute, once each. With one, the entries sharing a value of it (in the emoji
    world `emoji`: a figure and its skin-tone variants) share one value's turns between them:
    an entry of a group of n appears round(L / n) times, L the largest group, so each value is
    seen about L times an epoch whatever its number of pictures (exactly, where n divides L). An
    entry without the attribute is a group of its own. Why: a one-of-a-kind picture is otherwise
    seen once an epoch while a figure in six tones is seen six times, and is learnt far sooner.
    """
    if attribute is None:
        return [1] * len(entries)
    if not any(attribute in e.attributes for e in entries):
        raise ValueError(f"no picture has the attribute {attribute!r} to balance by (captions.jsonl 'attributes')")
    groups = [("value", e.attributes[attribute]) if attribute in e.attributes else ("alone", i)
              for i, e in enumerate(entries)]
    sizes = Counter(groups)
    largest = max(sizes.values())
    return [max(1, round(largest / sizes[g])) for g in groups]


@lru_cache(maxsize=8192)
def load_picture(path: Path) -> Image.Image:
    """A catalogue picture as RGB (read once: a folder's pictures are drawn again and again)."""
    with Image.open(path) as im:
        return im.convert("RGB")


class FolderSource:
    """The training stream of a folder: `document(i)`, `image(i)` (for the autoencoder), the
    texts to train a tokenizer on and the prompts of the training grid."""

    def __init__(self, folder: str | Path, seed: int = 0, mixture: dict[str, float] | None = None,
                 balance_by: str | None = None):
        self.all: Folder = read_folder(folder)
        self.data: Folder = self.all.training()
        self.folder, self.seed = self.all.root, seed
        # the epoch of drawing and naming: an entry's index once per appearance
        times = epoch_multiplicity(self.data.entries, balance_by)
        self.slots = [i for i, n in enumerate(times) for _ in range(n)]
        self.by_image = {e.image: e for e in self.all.entries}
        rows = {"text_to_image": self.data.entries, "image_to_text": self.data.entries, "question": self.data.questions,
                "edit": self.data.edits, "chat": self.data.edits}
        if mixture is not None:
            unknown = set(mixture) - set(FOLDER_MIXTURE)
            if unknown:
                raise ValueError(f"unknown folder tasks {sorted(unknown)}; expected some of {sorted(FOLDER_MIXTURE)}")
            if any(not isinstance(w, (int, float)) or w < 0 for w in mixture.values()):
                raise ValueError("task weights must be numbers >= 0")
            empty = [t for t, w in mixture.items() if w > 0 and not rows[t]]
            if empty:
                raise ValueError(f"{self.folder} has no rows for {empty} (questions.jsonl / edits.jsonl)")
        weights = {**FOLDER_MIXTURE, **(mixture or {})}
        self.mixture = {t: w for t, w in weights.items() if w > 0 and rows[t]}
        if not self.mixture:
            raise ValueError("every task weight is 0: nothing to train on")

    default_eval_cases = 10  # the evaluation at the end of a training run (`folder/evaluate.py`)

    def _entry(self, index: int) -> Entry:
        epoch, i = divmod(index, len(self.slots))
        return self.data.entries[self._order(epoch)[i]]

    @lru_cache(maxsize=4)  # noqa: B019 (a source lives as long as its run)
    def _order(self, epoch: int) -> list[int]:
        order = list(self.slots)
        random.Random(f"{self.seed}:{epoch}").shuffle(order)  # a fresh order every epoch
        return order

    def _task(self, rng: random.Random) -> str:
        tasks = list(self.mixture)
        return rng.choices(tasks, weights=[self.mixture[t] for t in tasks])[0]

    def document(self, index: int) -> list[dict]:
        rng = random.Random(f"{self.seed}:doc:{index}")
        task = self._task(rng)
        if task in ("text_to_image", "image_to_text"):
            entry = self._entry(index)
            if task == "text_to_image":
                prompt = rng.choice((entry.caption, *entry.prompts))
                said = prompt != entry.caption and rng.random() < WORDS_AFTER_REQUEST
                words = (here_is(entry),) if said else ()
                return [_user(prompt), _assistant(*words, load_picture(entry.image))]
            return [_user(load_picture(entry.image), rng.choice(DESCRIBE)), _assistant(entry.caption)]
        if task == "question":
            q = rng.choice(self.data.questions)
            return [_user(load_picture(q.image), q.question), _assistant(q.answer)]
        e = rng.choice(self.data.edits)
        if task == "edit":
            return [_user(load_picture(e.source), e.instruction), _assistant(load_picture(e.target))]
        source, target = self.by_image[e.source], self.by_image[e.target]
        return [
            _user(rng.choice((source.caption, *source.prompts))), _assistant(here_is(source), load_picture(source.image)),
            _user(e.instruction), _assistant(here_is(target), load_picture(target.image)),
        ]

    def image(self, index: int) -> Image.Image:
        return load_picture(self._entry(index).image)

    def text_corpus(self, n: int | None = None) -> list[str]:
        """Every distinct text the folder's documents can say, the few (questions, answers,
        instructions) before the many (captions, then prompts, then "here is ..."), so that `n`
        cuts only the many (the tokenizer is trained on these)."""
        d = self.data
        few = [*DESCRIBE, *(t for q in d.questions for t in (q.question, q.answer)), *(e.instruction for e in d.edits)]
        # every caption before any prompt: a cut drops repeated wordings, never a picture's name
        many = [e.caption for e in d.entries] + [p for e in d.entries for p in e.prompts] + [here_is(e) for e in d.entries]
        texts = list(dict.fromkeys(few + many))
        return texts if n is None else texts[:n]

    def sample_prompts(self) -> list[str]:
        """The training grid's prompts: captions spread over the catalogue."""
        entries = self.data.entries
        step = max(1, len(entries) // SAMPLE_COUNT)
        return [entries[i].caption for i in range(0, len(entries), step)][:SAMPLE_COUNT]


    def write_world_card(self, model_dir: Path) -> None:
        """world.json (and examples/) in a saved model folder: what the app shows of this world."""
        from .app import write_world_card

        write_world_card(self.all, model_dir, self.seed)

    def evaluate(self, model, cases: int, seed: int, name: str = "") -> tuple[dict, str]:
        from .evaluate import build_folder_cases, format_folder_table, score_folder

        results = score_folder(model, self.all, build_folder_cases(self.all, cases, seed), seed)
        results.update({"model": name, "data": str(self.folder), "cases per group": cases, "seed": seed})
        if hasattr(model, "sampling"):
            results["sampling"] = model.sampling()
        return results, format_folder_table(results)


def _user(*parts) -> dict:
    return {"role": "user", "content": list(parts)}


def _assistant(*parts) -> dict:
    return {"role": "assistant", "content": list(parts)}
