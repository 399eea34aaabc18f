"""Why edits fail: every wrong edit of the evaluator's edit cases, sorted by what went wrong.

    python -m transfusion.evaluation.edit_failures --model assets/model --cases 50 --seed 1

For each edit the analyser reads the result and compares it cell by cell with the input scene
and the expected one. The cells the edit should change are its targets (the recoloured,
resized, removed or added object's cell; both cells of a move). A wrong result is then any of:
  unreadable       the analyser cannot read it
  not done         it is the input scene unchanged
  target wrong     a target cell does not hold what the edit asks (the edit missed or misfired)
  others changed   a cell the edit should leave alone changed (the edit spread, or an object
                   was redrawn): split by how (shape, colour, size, lost, added)
  background       the background is not the expected one
A result may show several at once, so the columns need not add up to the failures. It also
reports exact edits by the number of objects in the input scene.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from ..shapesworld.edits import EDIT_KINDS
from ..shapesworld.render import render
from ..shapesworld.world import CELLS, Obj, Scene
from .cases import EditCase, edit_cases
from .score import last_image, read

FAILURES = ("unreadable", "not done", "target wrong", "others changed", "background")
CHANGES = ("shape", "colour", "size", "lost", "added")


def _change(before: Obj | None, after: Obj | None) -> str | None:
    """How one cell changed between two scenes (None: it did not)."""
    if before == after:
        return None
    if before is None:
        return "added"
    if after is None:
        return "lost"
    for attribute in ("shape", "colour", "size"):
        if getattr(before, attribute) != getattr(after, attribute):
            return attribute
    return None


def classify(case: EditCase, got: Scene | None) -> tuple[set[str], Counter]:
    """(the failure classes of one result, the changes to cells it should have left alone).
    An exact result gives two empty answers."""
    if got == case.expected:
        return set(), Counter()
    if got is None:
        return {"unreadable"}, Counter()
    if got == case.scene:
        return {"not done"}, Counter()
    src, exp = case.scene, case.expected
    targets = {c for c in CELLS if src.at(*c) != exp.at(*c)}
    failures, others = set(), Counter()
    if any(got.at(*c) != exp.at(*c) for c in targets):
        failures.add("target wrong")
    for c in CELLS:
        if c not in targets:
            change = _change(src.at(*c), got.at(*c))
            if change:
                others[change] += 1
    if others:
        failures.add("others changed")
    if got.background != exp.background:
        failures.add("background")
    return failures, others


def _edited(model, case: EditCase, seed: int, via_chat: bool):
    """The model's result: `model.edit`, or with `via_chat` the last picture of its chat reply
    (it may first say the caption of the result in words, then draw it)."""
    if not via_chat:
        return model.edit(render(case.scene), case.instruction, seed=seed)
    return last_image(model.chat([{"role": "user", "content": [render(case.scene), case.instruction]}], seed=seed))


def diagnose(model, cases: int, seed: int, via_chat: bool = False) -> dict:
    """Failure counts per edit kind, and exact edits per object count, for `model.edit` (or the chat)."""
    by_kind = {k: {"cases": 0, "exact": 0, **{f: 0 for f in FAILURES}, **{c: 0 for c in CHANGES}} for k in EDIT_KINDS}
    by_count = {n: {"cases": 0, "exact": 0} for n in (1, 2, 3)}
    for i, case in enumerate(edit_cases(cases, seed)):
        got = read(_edited(model, case, seed + i, via_chat))
        failures, others = classify(case, got)
        row, n = by_kind[case.kind], by_count[len(case.scene.objects)]
        row["cases"] += 1
        n["cases"] += 1
        row["exact"] += not failures
        n["exact"] += not failures
        for f in failures:
            row[f] += 1
        for c, k in others.items():
            row[c] += k
    return {"by kind": by_kind, "by object count": {str(n): v for n, v in by_count.items()}}


def format_report(report: dict) -> str:
    head = ["kind", "cases", "exact", *FAILURES, *(f"other {c}" for c in CHANGES)]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---"] + ["---:"] * (len(head) - 1)) + " |"]
    for kind, row in report["by kind"].items():
        lines.append("| " + " | ".join([kind, *(str(row[k]) for k in ("cases", "exact", *FAILURES, *CHANGES))]) + " |")
    lines += ["", "| objects in the input | cases | exact |", "| --- | ---: | ---: |"]
    for n, row in report["by object count"].items():
        share = row["exact"] / row["cases"] if row["cases"] else 0.0
        lines.append(f"| {n} | {row['cases']} | {row['exact']} ({share:.0%}) |")
    return "\n".join(lines)


def main(argv=None) -> None:
    from .cli import MODEL_HELP, add_model_args, model_from_args

    p = argparse.ArgumentParser(prog="python -m transfusion.evaluation.edit_failures", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--cases", type=int, default=50, help="edit cases per kind (default %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="case seed (default 1: not the evaluator's default cases)")
    add_model_args(p)
    p.add_argument("--via-chat", action="store_true", help="edit through the chat (words first, then the picture)")
    p.add_argument("--json", type=Path, default=None, help="also write the counts here")
    args = p.parse_args(argv)
    model = model_from_args(args)
    report = diagnose(model, args.cases, args.seed, args.via_chat)
    sampling = model.sampling() if hasattr(model, "sampling") else {}
    print(f"edit failures{' through the chat' if args.via_chat else ''}: {args.cases} cases per kind, seed {args.seed}, "
          f"sampling {', '.join(f'{k} {v}' for k, v in sampling.items()) or 'none'}\n")
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
