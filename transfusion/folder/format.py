"""The project's folder format: a world of your own pictures on disk.

    <folder>/
      captions.jsonl   required: the catalogue, one picture a line
                       {"image": "<file>", "caption": "<text>", "prompts": ["<text>", ...],
                        "attributes": {"<name>": "<value>", ...}}
                       ("prompts", optional: other texts that ask for this picture, e.g.
                       "draw a thumbs up"; the caption itself always asks for it.
                       "attributes", optional: what the evaluator also grades a drawing on,
                       e.g. {"emoji": "thumbs up", "tone": "dark skin tone"}: a drawing of
                       the wrong entry still gets its tone right when the tones agree)
      edits.jsonl      optional: {"source": "<file>", "instruction": "<text>", "target": "<file>",
                                  "kind": "<name>"}
      questions.jsonl  optional: {"image": "<file>", "question": "<text>", "answer": "<text>",
                                  "kind": "<name>"}
                       ("kind", optional: the evaluator reports each kind on its own row)
      held_out.txt     optional: one picture file a line that no training document shows
                       (neither drawn, nor described, nor edited from or into); the evaluator
                       asks for them to measure what the model makes of things it never saw

File names are relative to the folder and must stay inside it. Every picture that an edit or a
question names must be in captions.jsonl: the catalogue is what the evaluator grades against
(`retrieval.py`). `read_folder` checks all of this and says which line is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

CAPTIONS, EDITS, QUESTIONS, HELD_OUT = "captions.jsonl", "edits.jsonl", "questions.jsonl", "held_out.txt"


@dataclass(frozen=True)
class Entry:
    """One picture of the catalogue."""

    image: Path  # absolute
    caption: str
    prompts: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EditRow:
    source: Path
    instruction: str
    target: Path
    kind: str = ""


@dataclass(frozen=True)
class QuestionRow:
    image: Path
    question: str
    answer: str
    kind: str = ""


@dataclass(frozen=True)
class Folder:
    """A folder read and checked: the catalogue, its edits and questions, the held-out pictures."""

    root: Path
    entries: tuple[Entry, ...]
    edits: tuple[EditRow, ...]
    questions: tuple[QuestionRow, ...]
    held_out: frozenset[Path]

    def training(self) -> Folder:
        """The same folder without anything that shows a held-out picture."""
        h = self.held_out
        return Folder(
            self.root,
            tuple(e for e in self.entries if e.image not in h),
            tuple(e for e in self.edits if e.source not in h and e.target not in h),
            tuple(q for q in self.questions if q.image not in h),
            frozenset(),
        )


def _lines(path: Path):
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not a JSON line ({e.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{n}: each line must be a JSON object")
            yield n, row


def _text(row: dict, key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key!r} must be a non-empty string")
    return value


RESERVED_KIND = "held out"  # the evaluator's row of the rows that show held-out pictures


def _kind(row: dict, where: str) -> str:
    kind = row.get("kind", "")
    if not isinstance(kind, str):
        raise ValueError(f"{where}: 'kind' must be a string")
    if kind == RESERVED_KIND:
        raise ValueError(f"{where}: the kind {RESERVED_KIND!r} is the evaluator's own row; name it otherwise")
    return kind


def _inside(root: Path, name: object, where: str) -> Path:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: a picture must be named by a file name relative to {root}")
    path = (root / name).resolve()
    if root.resolve() not in path.parents:
        raise ValueError(f"{where}: {name!r} points outside {root}")
    return path


def read_folder(folder: str | Path) -> Folder:
    """Read and check a folder of the format above (FileNotFoundError, ValueError naming the line)."""
    root = Path(folder)
    index = root / CAPTIONS
    if not index.exists():
        raise FileNotFoundError(f"{index} not found: a folder source needs {CAPTIONS} "
                                '(one {"image": "<file>", "caption": "<text>"} per line)')
    entries, known = [], set()
    for n, row in _lines(index):
        where = f"{index}:{n}"
        if not {"image", "caption"} <= row.keys():
            raise ValueError(f"{where}: each line needs 'image' and 'caption'")
        image = _inside(root, row["image"], where)
        if image in known:
            raise ValueError(f"{where}: {row['image']!r} is listed twice; give it one caption (more texts go in 'prompts')")
        prompts = row.get("prompts", [])
        if not isinstance(prompts, list) or not all(isinstance(p, str) and p.strip() for p in prompts):
            raise ValueError(f"{where}: 'prompts' must be a list of non-empty strings")
        attributes = row.get("attributes", {})
        if not isinstance(attributes, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()):
            raise ValueError(f"{where}: 'attributes' must be an object of strings")
        known.add(image)
        entries.append(Entry(image, _text(row, "caption", where), tuple(prompts), attributes))
    if not entries:
        raise ValueError(f"{index} lists no pairs")

    def listed(name: object, where: str) -> Path:
        path = _inside(root, name, where)
        if path not in known:
            raise ValueError(f"{where}: {name!r} is not in {CAPTIONS}; every picture an edit or a question names must be")
        return path

    edits = []
    if (root / EDITS).exists():
        for n, row in _lines(root / EDITS):
            where = f"{root / EDITS}:{n}"
            edits.append(EditRow(listed(row.get("source"), where), _text(row, "instruction", where),
                                 listed(row.get("target"), where), _kind(row, where)))
    questions = []
    if (root / QUESTIONS).exists():
        for n, row in _lines(root / QUESTIONS):
            where = f"{root / QUESTIONS}:{n}"
            questions.append(QuestionRow(listed(row.get("image"), where), _text(row, "question", where),
                                         _text(row, "answer", where), _kind(row, where)))
    held_out = set()
    if (root / HELD_OUT).exists():
        for n, line in enumerate((root / HELD_OUT).read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                held_out.add(listed(line.strip(), f"{root / HELD_OUT}:{n}"))
        if len(held_out) == len(entries):
            raise ValueError(f"{root / HELD_OUT} holds out every picture: nothing is left to train on")
    return Folder(root, tuple(entries), tuple(edits), tuple(questions), frozenset(held_out))


def write_jsonl(path: Path, rows) -> None:
    """Write rows as JSON lines (UTF-8, not ASCII-escaped, so a folder reads as text)."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
