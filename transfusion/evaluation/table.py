"""One Markdown table of every score, ready to paste into a model card."""

from __future__ import annotations

from ..shapesworld.edits import EDIT_KINDS
from ..shapesworld.questions import QUESTION_FORMS
from ..shapesworld.more_questions import NEW_QUESTION_FORMS
from .cases import TEXT_TO_IMAGE_GROUPS
from .natural import PHRASINGS, REQUEST_ROWS
from .score import ATTRIBUTES


def _percent(tally: dict) -> tuple[str, str, str]:
    """(score, 95 % interval, cases) of one tally."""
    return (f"{100 * tally['accuracy']:.1f} %", f"{100 * tally['low']:.0f}–{100 * tally['high']:.0f}",
            str(tally["total"]))


def _natural_rows(natural: dict) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for r in REQUEST_ROWS:
        measure = "held-out phrasings (all groups)" if r == "held out" else f"{r}: named attributes and count"
        rows.append(("requests", measure, *_percent(natural["requests"][r])))
    rows.append(("requests", "the reply's words describe its picture", *_percent(natural["requests"]["truthful words"])))
    for f, label in NEW_QUESTION_FORMS.items():
        rows.append(("questions, people's words", f"“{label}”", *_percent(natural["questions"][f])))
    for p in PHRASINGS:
        rows.append(("questions, people's words", f"any form, {p} phrasings", *_percent(natural["questions"][p])))
    for p in PHRASINGS:
        rows.append(("editing, people's words", f"exact scene, {p} phrasings", *_percent(natural["edits"][p])))
    for p in PHRASINGS:
        rows.append(("chitchat", f"text reply, no picture, ends: {p} phrasings", *_percent(natural["chitchat"][p])))
    return rows


def format_table(results: dict) -> str:
    """The results of `evaluate` as a Markdown table: capability, measure, score, cases."""
    rows: list[tuple[str, ...]] = []
    for g in TEXT_TO_IMAGE_GROUPS:
        rows.append(("text → image", f"exact scene, {g}", *_percent(results["text_to_image"][g])))
    for a in ATTRIBUTES:
        rows.append(("text → image", f"attribute: {a}", *_percent(results["attributes"][a])))
    if "pixel error" in results:  # (results saved before it was measured have none)
        error = results["pixel error"]
        rows.append(("text → image", "mean squared pixel error against the asked scene's render",
                     f"{error['mean squared']:.4f}", "", str(error["images"])))
    rows.append(("image → text", "exact canonical caption", *_percent(results["caption"]["exact"])))
    rows.append(("questions", "all forms", *_percent(results["question"]["all"])))
    for f, label in QUESTION_FORMS.items():
        rows.append(("questions", f"“{label}”", *_percent(results["question"][f])))
    rows.append(("editing", "exact scene, all kinds", *_percent(results["edit"]["all"])))
    for k in EDIT_KINDS:
        rows.append(("editing", f"exact scene, {k}", *_percent(results["edit"][k])))
    rows.append(("chat", "draw, then edit: exact final scene", *_percent(results["chat"]["draw then edit"])))
    if "natural" in results:
        rows += _natural_rows(results["natural"])
    speed = results["speed"]
    rows.append(("speed", "seconds per image (text → image)", f"{speed['seconds per image']:.4f}", "", str(speed["images"])))

    lines = [f"ShapesWorld evaluation: {results['cases per group']} cases per group, seed {results['seed']}"]
    if "sampling" in results:
        lines.append("sampling: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in results["sampling"].items()))
    lines += [
        "",
        "| capability | measure | score | 95 % interval | cases |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {c} | {m} | {s} | {i} | {n} |" for c, m, s, i, n in rows]
    return "\n".join(lines)
