"""Run a model through the case sets and collect its scores.

The model is anything with the pipeline's public API:
    text_to_image(prompts: list[str], seed: int) -> list[PIL.Image]
    caption(image) -> str
    answer(image, question) -> str
    edit(image, instruction, seed: int) -> PIL.Image
    chat(messages, seed: int) -> list[str | PIL.Image]
A wrong or unreadable output is scored as wrong; an exception inside the model propagates
(that is a bug to see, not a score).
"""

from __future__ import annotations

import time

from ..shapesworld.captions import canonical_caption
from ..shapesworld.edits import EDIT_KINDS
from ..shapesworld.questions import QUESTION_FORMS
from ..shapesworld.render import render
from .cases import TEXT_TO_IMAGE_GROUPS, CaseSet, build_cases
from .natural import build_natural_cases, score_natural
from .score import ATTRIBUTES, Tally, last_image, pixel_error, read, scene_matches, score_attributes, text_matches


def _text_to_image(model, cases: CaseSet, seed: int, batch_size: int) -> dict:
    groups = {g: Tally() for g in TEXT_TO_IMAGE_GROUPS}
    attributes = {a: Tally() for a in ATTRIBUTES}
    seconds, squared = 0.0, 0.0
    todo = list(cases.text_to_image)
    for b, start in enumerate(range(0, len(todo), batch_size)):
        batch = todo[start : start + batch_size]
        t0 = time.perf_counter()
        images = list(model.text_to_image([c.prompt for c in batch], seed=seed + b))
        seconds += time.perf_counter() - t0
        images += [None] * (len(batch) - len(images))  # a missing image is a wrong one
        for case, image in zip(batch, images):
            got = read(image)
            groups[case.group].add(got == case.scene)
            score_attributes(got, case.scene, attributes)
            squared += pixel_error(image, case.scene)
    return {
        "text_to_image": {g: t.as_dict() for g, t in groups.items()},
        "attributes": {a: t.as_dict() for a, t in attributes.items()},
        "pixel error": {"mean squared": squared / max(len(todo), 1), "images": len(todo)},
        "speed": {"seconds per image": seconds / max(len(todo), 1), "images": len(todo)},
    }


def _caption(model, cases: CaseSet) -> dict:
    exact = Tally()
    for case in cases.caption:
        exact.add(text_matches(model.caption(render(case.scene)), case.caption))
    return {"exact": exact.as_dict()}


def _question(model, cases: CaseSet) -> dict:
    forms = {f: Tally() for f in QUESTION_FORMS}
    overall = Tally()
    for case in cases.question:
        ok = text_matches(model.answer(render(case.scene), case.question), case.answer)
        forms[case.form].add(ok)
        overall.add(ok)
    return {"all": overall.as_dict(), **{f: t.as_dict() for f, t in forms.items()}}


def _edit(model, cases: CaseSet, seed: int) -> dict:
    kinds = {k: Tally() for k in EDIT_KINDS}
    overall = Tally()
    for i, case in enumerate(cases.edit):
        ok = scene_matches(model.edit(render(case.scene), case.instruction, seed=seed + i), case.expected)
        kinds[case.kind].add(ok)
        overall.add(ok)
    return {"all": overall.as_dict(), **{k: t.as_dict() for k, t in kinds.items()}}


def _chat(model, cases: CaseSet, seed: int) -> dict:
    """Turn 1 'draw <caption>' must return an image; turn 2 edits it; judge the final image."""
    two_turn = Tally()
    for i, case in enumerate(cases.chat):
        messages = [{"role": "user", "content": "draw " + canonical_caption(case.scene)}]
        reply = model.chat(messages, seed=seed + i)
        if last_image(reply) is None:
            two_turn.add(False)
            continue
        messages += [
            {"role": "assistant", "content": list(reply)},
            {"role": "user", "content": case.instruction},
        ]
        final = last_image(model.chat(messages, seed=seed + i))
        two_turn.add(scene_matches(final, case.expected))
    return {"draw then edit": two_turn.as_dict()}


DEFAULT_CASES = 100  # per group: a row's 95 % interval is then about ±5 points at 90 % (±10 at 20 cases)
GROUPS = ("text_to_image", "caption", "question", "edit", "chat")  # the canonical groups, in the table's order


def evaluate(model, cases: int = DEFAULT_CASES, seed: int = 0, batch_size: int = 16, natural: bool = True,
             groups: tuple[str, ...] = GROUPS) -> dict:
    """Every score of `model` on the case sets with `cases` cases per group; JSON-ready. With
    `natural` also the cases in people's words (`natural.py`); `groups` leaves the others of
    GROUPS out (the experiments grade the discrete arm, which has no room for two pictures,
    on drawings, captions and questions). A reference model that defines
    `prepare(case_set, natural_cases)` sees the cases first (the oracle looks its answers up
    there: people's words have no parser); a real model never does."""
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown groups {sorted(unknown)}; choose from {GROUPS}")
    case_set = build_cases(cases, seed)
    natural_cases = build_natural_cases(cases, seed) if natural else None
    if hasattr(model, "prepare"):
        model.prepare(case_set, natural_cases)
    results: dict = {"cases per group": cases, "seed": seed}
    if "text_to_image" in groups:
        results.update(_text_to_image(model, case_set, seed, batch_size))
    if "caption" in groups:
        results["caption"] = _caption(model, case_set)
    if "question" in groups:
        results["question"] = _question(model, case_set)
    if "edit" in groups:
        results["edit"] = _edit(model, case_set, seed)
    if "chat" in groups:
        results["chat"] = _chat(model, case_set, seed)
    if natural:
        results["natural"] = score_natural(model, natural_cases, seed)
    return results

