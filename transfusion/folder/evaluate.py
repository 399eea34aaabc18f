"""The evaluator of any folder (`format.py`): `python -m transfusion.folder.evaluate --model M --data FOLDER`.

Every drawing is graded by retrieval (`retrieval.py`): right when the catalogue entry nearest
to it is the expected one; and, for each attribute the expected entry has ("emoji", "tone"),
right when the retrieved entry's value is the same. Where the cases hold both pictures whose
value of an attribute no other catalogue picture has (an emoji without skin-tone variants) and
pictures that share it (a figure in six tones), exact is also reported for each part apart.
Groups, each of `--cases` cases drawn from its own seeded generator (fewer where the folder
has fewer rows):
- draw: a caption or prompt of a training entry -> its picture; "draw, held out": of a
  held-out entry (never trained on);
- caption: a training picture -> its caption, exactly (any caption of a pixel-identical picture);
- question: each kind of questions.jsonl, on training pictures, and on held-out ones apart
  (exactly; the answer of a pixel-identical picture to the same question counts too);
- edit: each kind of edits.jsonl, training rows, and rows into or out of held-out pictures apart;
- chat: draw a training entry (by its caption or a prompt), then edit it: both pictures right.
`--only` scores some groups (by their `FolderCases` field: draw, draw_held_out, caption, question,
edit, chat), e.g. to compare sampling settings on the drawings alone; the others are left out of
the results and the table.
The model is anything with the pipeline's API (`transfusion.evaluation.harness`).
`FolderOracle` answers from the folder itself and must score 100 %; `FolderRandom` guesses.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

from PIL import Image

from ..evaluation.score import Tally, last_image, normalise
from .format import RESERVED_KIND, EditRow, Entry, Folder, QuestionRow, read_folder
from .retrieval import Catalogue
from .source import here_is, load_picture

DEFAULT_CASES = 100
HELD_OUT = RESERVED_KIND  # the row of the cases that show held-out pictures


@dataclass(frozen=True)
class FolderCases:
    draw: tuple[tuple[str, Entry], ...]  # (prompt, expected)
    draw_held_out: tuple[tuple[str, Entry], ...]
    caption: tuple[Entry, ...]
    question: tuple[tuple[str, QuestionRow], ...]  # (row: its kind, or HELD_OUT)
    edit: tuple[tuple[str, EditRow], ...]
    chat: tuple[tuple[str, EditRow], ...]  # (the first message: a prompt of the source, the edit)


def _some(rng: random.Random, rows: Sequence, n: int) -> list:
    return rng.sample(list(rows), min(n, len(rows)))


def _kinds(rows) -> list[str]:
    return sorted({r.kind for r in rows})


def build_folder_cases(folder: Folder, n: int, seed: int = 0) -> FolderCases:
    def rng(group: str) -> random.Random:
        return random.Random(f"folder eval:{seed}:{group}")

    train, held = folder.training(), folder.held_out
    by_image = {e.image: e for e in folder.entries}

    def prompted(r: random.Random, entries) -> tuple[tuple[str, Entry], ...]:
        return tuple((r.choice((e.caption, *e.prompts)), e) for e in entries)

    r = rng("draw")
    draw = prompted(r, _some(r, train.entries, n))
    r = rng("draw held out")
    draw_held = prompted(r, _some(r, [by_image[h] for h in sorted(held)], n))
    caption = tuple(_some(rng("caption"), train.entries, n))
    question = [(k, q) for k in _kinds(train.questions)
                for q in _some(rng(f"question:{k}"), [q for q in train.questions if q.kind == k], n)]
    question += [(HELD_OUT, q) for q in _some(rng("question held out"), [q for q in folder.questions if q.image in held], n)]
    edit = [(k, e) for k in _kinds(train.edits) for e in _some(rng(f"edit:{k}"), [e for e in train.edits if e.kind == k], n)]
    edit += [(HELD_OUT, e) for e in _some(rng("edit held out"),
                                          [e for e in folder.edits if e.source in held or e.target in held], n)]
    r = rng("chat")
    chat = tuple((r.choice((by_image[e.source].caption, *by_image[e.source].prompts)), e) for e in _some(r, train.edits, n))
    return FolderCases(draw, draw_held, caption, tuple(question), tuple(edit), chat)


GROUPS = tuple(f.name for f in fields(FolderCases))  # what `--only` may name


def only(cases: FolderCases, groups: Sequence[str]) -> FolderCases:
    """The cases of these groups (`GROUPS`); the others empty, so left out of the scores."""
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise ValueError(f"no such group: {', '.join(sorted(unknown))} (the groups: {', '.join(GROUPS)})")
    return replace(cases, **{g: () for g in GROUPS if g not in groups})


class _Drawings:
    """Exact and per-attribute tallies of drawings graded by retrieval, and the misses: the
    caption expected and the one retrieved (None: no picture)."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue, self.exact, self.attributes = catalogue, Tally(), {}
        self.misses: list[dict] = []
        self.pictures_with = Counter((k, v) for e in catalogue.entries for k, v in e.attributes.items())
        self.exact_when: dict[str, dict[str, Tally]] = {}  # "emoji": {"one picture": ..., "several pictures": ...}

    def add(self, image: object, expected: Entry) -> bool:
        found = self.catalogue.nearest(image) if isinstance(image, Image.Image) else None
        ok = found is not None and found in self.catalogue.same[self.catalogue.index[expected.image]]
        self.exact.add(ok)
        # the attributes of the retrieved picture: of any entry it is pixel-identical to
        got = [self.catalogue.entries[j] for j in self.catalogue.same[found]] if found is not None else []
        for name, value in expected.attributes.items():
            self.attributes.setdefault(name, Tally()).add(any(g.attributes.get(name) == value for g in got))
            part = "one picture" if self.pictures_with[(name, value)] == 1 else "several pictures"
            self.exact_when.setdefault(name, {}).setdefault(part, Tally()).add(ok)
        if not ok:
            drawn = self.catalogue.entries[found].caption if found is not None else None
            self.misses.append({"expected": expected.caption, "drawn": drawn})
        return ok

    def as_dict(self) -> dict:
        scores = {"exact": self.exact.as_dict(), **{k: t.as_dict() for k, t in sorted(self.attributes.items())}}
        # an attribute whose cases all fall in one part tells nothing beyond exact
        split = {f"{name} in {part}": t.as_dict() for name, parts in sorted(self.exact_when.items()) if len(parts) == 2
                 for part, t in sorted(parts.items())}
        if split:
            scores["exact when"] = split
        return scores


def _drawn(model, cases: Sequence[tuple[str, Entry]], seed: int, batch_size: int, tally: _Drawings) -> None:
    for b, start in enumerate(range(0, len(cases), batch_size)):
        batch = cases[start : start + batch_size]
        images = list(model.text_to_image([p for p, _ in batch], seed=seed + b))
        images += [None] * (len(batch) - len(images))
        for (_, entry), image in zip(batch, images):
            tally.add(image, entry)


def score_folder(model, folder: Folder, cases: FolderCases, seed: int = 0, batch_size: int = 16) -> dict:
    """Every score of `model` on the folder's cases, JSON-ready; a group without cases is left
    out. "misses" lists each wrong drawing of the draw and edit groups."""
    catalogue = Catalogue(folder.entries)
    draw, draw_held = _Drawings(catalogue), _Drawings(catalogue)
    _drawn(model, cases.draw, seed, batch_size, draw)
    _drawn(model, cases.draw_held_out, seed, batch_size, draw_held)
    captions = Tally()
    for entry in cases.caption:
        i = catalogue.index[entry.image]
        said = normalise(model.caption(load_picture(entry.image)))
        captions.add(said in {normalise(catalogue.entries[j].caption) for j in catalogue.same[i]})
    questions: dict[str, Tally] = {}
    answers = {(q.image, q.question): q.answer for q in folder.questions}
    for row, q in cases.question:
        said = normalise(model.answer(load_picture(q.image), q.question))
        alike = [catalogue.entries[j].image for j in catalogue.same[catalogue.index[q.image]]]
        questions.setdefault(row, Tally()).add(said in {normalise(answers[(a, q.question)]) for a in alike if (a, q.question) in answers})
    edits: dict[str, _Drawings] = {}
    by_image = {e.image: e for e in folder.entries}
    for i, (row, e) in enumerate(cases.edit):
        image = model.edit(load_picture(e.source), e.instruction, seed=seed + i)
        edits.setdefault(row, _Drawings(catalogue)).add(image, by_image[e.target])
    chat = Tally()
    for i, (prompt, e) in enumerate(cases.chat):
        source, target = by_image[e.source], by_image[e.target]
        messages = [{"role": "user", "content": prompt}]
        first = model.chat(messages, seed=seed + i)
        drew = catalogue.retrieves(last_image(first), catalogue.index[source.image])
        messages += [{"role": "assistant", "content": list(first)}, {"role": "user", "content": e.instruction}]
        second = model.chat(messages, seed=seed + i)
        chat.add(drew and catalogue.retrieves(last_image(second), catalogue.index[target.image]))
    asked = {"draw": cases.draw, "draw, held out": cases.draw_held_out, "caption": cases.caption,
             "question": cases.question, "edit": cases.edit, "chat": cases.chat}
    scores = {
        "draw": draw.as_dict(), "draw, held out": draw_held.as_dict(), "caption": captions.as_dict(),
        "question": {k: t.as_dict() for k, t in questions.items()},
        "edit": {k: t.as_dict() for k, t in edits.items()}, "chat": chat.as_dict(),
    }
    results = {group: score for group, score in scores.items() if asked[group]}
    drawings = {group: d for group, d in (("draw", draw), ("draw, held out", draw_held)) if asked[group]}
    drawings.update({f"edit: {k}": d for k, d in edits.items()})  # the edit kinds that had cases
    results["misses"] = {group: d.misses for group, d in drawings.items()}
    return results


def _row(group: str, measure: str, tally: dict) -> str:
    return (f"| {group} | {measure} | {100 * tally['accuracy']:.1f} % | "
            f"{100 * tally['low']:.0f}–{100 * tally['high']:.0f} | {tally['total']} |")


def format_folder_table(results: dict) -> str:
    lines = [f"Folder evaluation of {results.get('model') or 'a model'} on {results['data']}: "
             f"{results['cases per group']} cases per group, seed {results['seed']}", "",
             "| group | measure | score | 95 % interval | cases |", "| --- | --- | ---: | ---: | ---: |"]
    def drawn(group: str, drawings: dict) -> None:
        for measure, tally in drawings.items():
            if measure == "exact when":
                lines.extend(_row(group, f"exact entry, {part}", t) for part, t in tally.items())
            elif tally["total"]:
                lines.append(_row(group, "exact entry" if measure == "exact" else f"right {measure}", tally))

    for group in ("draw", "draw, held out"):
        drawn(group, results.get(group, {}))
    if "caption" in results:
        lines.append(_row("caption", "exact", results["caption"]))
    for kind, tally in results.get("question", {}).items():
        lines.append(_row("question", kind or "all", tally))
    for kind, drawings in results.get("edit", {}).items():
        drawn(f"edit: {kind or 'all'}", drawings)
    if "chat" in results:
        lines.append(_row("chat", "draw, then edit: both right", results["chat"]))
    return "\n".join(lines)


# ---------------------------------------------------------------- reference models


def _text(content) -> str:
    return content if isinstance(content, str) else " ".join(p for p in content if isinstance(p, str))


class FolderOracle:
    """Answers from the folder itself (its catalogue, questions and edits): must score 100 %."""

    def __init__(self, folder: Folder):
        self.catalogue = Catalogue(folder.entries)
        self.by_prompt = {t: e for e in folder.entries for t in (e.caption, *e.prompts)}
        self.answers = {(q.image, q.question): q.answer for q in folder.questions}
        self.edits = {(e.source, e.instruction): e.target for e in folder.edits}

    def _entry(self, image: Image.Image) -> Entry:
        return self.catalogue.entries[self.catalogue.nearest(image)]

    def _alike(self, image: Image.Image) -> list[Path]:
        """The files of every entry that shows this picture (pixel-identical ones included)."""
        return [self.catalogue.entries[j].image for j in self.catalogue.same[self.catalogue.nearest(image)]]

    def _edited(self, image: Image.Image, instruction: str) -> Path:
        return next(self.edits[(a, instruction)] for a in self._alike(image) if (a, instruction) in self.edits)

    def text_to_image(self, prompts: list[str], seed: int = 0) -> list[Image.Image]:
        return [load_picture(self.by_prompt[p].image) for p in prompts]

    def caption(self, image: Image.Image) -> str:
        return self._entry(image).caption

    def answer(self, image: Image.Image, question: str) -> str:
        return next(self.answers[(a, question)] for a in self._alike(image) if (a, question) in self.answers)

    def edit(self, image: Image.Image, instruction: str, seed: int = 0) -> Image.Image:
        return load_picture(self._edited(image, instruction))

    def chat(self, messages: list[dict], seed: int = 0) -> list:
        pictures = [p for m in messages if not isinstance(m["content"], str) for p in m["content"] if isinstance(p, Image.Image)]
        asked = _text(messages[-1]["content"])
        if not pictures:
            entry = self.by_prompt[asked]
        else:
            entry = self.catalogue.entries[self.catalogue.index[self._edited(pictures[-1], asked)]]
        return [here_is(entry), load_picture(entry.image)]


class FolderRandom:
    """Guesses: random catalogue pictures, captions and answers. Scores about 1 in the catalogue's size."""

    def __init__(self, folder: Folder, seed: int = 0):
        self.rng, self.entries = random.Random(seed), folder.entries
        self.answer_words = sorted({q.answer for q in folder.questions}) or ["?"]

    def _picture(self) -> Image.Image:
        return load_picture(self.rng.choice(self.entries).image)

    def text_to_image(self, prompts: list[str], seed: int = 0) -> list[Image.Image]:
        return [self._picture() for _ in prompts]

    def caption(self, image: Image.Image) -> str:
        return self.rng.choice(self.entries).caption

    def answer(self, image: Image.Image, question: str) -> str:
        return self.rng.choice(self.answer_words)

    def edit(self, image: Image.Image, instruction: str, seed: int = 0) -> Image.Image:
        return self._picture()

    def chat(self, messages: list[dict], seed: int = 0) -> list:
        return [self._picture()]


def main(argv: list[str] | None = None) -> None:
    from ..evaluation.cli import WithSettings, add_model_args, add_run_args, model_from_args

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="'oracle' (the folder itself), 'random' (guesses) or a checkpoint directory")
    p.add_argument("--data", required=True, type=Path, help="the folder (captions.jsonl, and optionally edits, questions, held out)")
    p.add_argument("--cases", type=int, default=DEFAULT_CASES, help="cases per group (default %(default)s)")
    p.add_argument("--only", nargs="+", choices=GROUPS, default=GROUPS, metavar="GROUP",
                   help=f"score only these groups ({', '.join(GROUPS)}; default all)")
    add_run_args(p)
    add_model_args(p)
    args = p.parse_args(argv)
    if args.cases < 1:
        p.error("--cases must be at least 1")
    try:
        folder = read_folder(args.data)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    if args.model == "oracle":
        model = FolderOracle(folder)
    elif args.model == "random":
        model = FolderRandom(folder, args.seed)
    else:
        model = model_from_args(args)
    cases = only(build_folder_cases(folder, args.cases, args.seed), args.only)
    results = score_folder(model, folder, cases, args.seed, args.batch_size)
    results.update({"model": args.model, "data": str(args.data), "cases per group": args.cases, "seed": args.seed})
    if isinstance(model, WithSettings):
        results["sampling"] = model.sampling()
    print(format_folder_table(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
