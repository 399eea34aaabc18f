"""Fixed, seeded case sets for the evaluator.

Every group draws from its own generator, `random.Random(f"eval:{seed}:{group}")`, so a case
set depends only on (seed, n) and a larger n extends a smaller one. Expected answers come from
the contract's code (captions, questions, edits), never from a model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from ..shapesworld.captions import canonical_caption
from ..shapesworld.edits import EDIT_KINDS, feasible_kinds, random_edit
from ..shapesworld.questions import QUESTION_FORMS, questions_for
from ..shapesworld.world import HELD_OUT_PAIRS, Scene, random_scene

TEXT_TO_IMAGE_GROUPS: tuple[str, ...] = ("1 object", "2 objects", "3 objects", "held-out pairs")


@dataclass(frozen=True)
class TextToImageCase:
    group: str  # one of TEXT_TO_IMAGE_GROUPS
    prompt: str  # the canonical caption
    scene: Scene  # what the image must show


@dataclass(frozen=True)
class CaptionCase:
    scene: Scene  # the image to caption is render(scene)
    caption: str  # the canonical caption expected


@dataclass(frozen=True)
class QuestionCase:
    scene: Scene
    form: str  # a key of QUESTION_FORMS
    question: str
    answer: str


@dataclass(frozen=True)
class EditCase:
    scene: Scene  # the image to edit is render(scene)
    kind: str  # one of EDIT_KINDS
    instruction: str
    expected: Scene


@dataclass(frozen=True)
class ChatCase:
    scene: Scene  # turn 1 asks to draw it
    instruction: str  # turn 2 asks to edit it
    expected: Scene  # what the final image must show


@dataclass(frozen=True)
class CaseSet:
    text_to_image: tuple[TextToImageCase, ...]
    caption: tuple[CaptionCase, ...]
    question: tuple[QuestionCase, ...]
    edit: tuple[EditCase, ...]
    chat: tuple[ChatCase, ...]


def _rng(seed: int, group: str) -> random.Random:
    return random.Random(f"eval:{seed}:{group}")


def held_out_scene(rng: random.Random) -> Scene:
    """A scene of 1 to 3 objects where at least one object is a held-out colour-shape pair."""
    scene = random_scene(rng, allow_held_out=True)
    objects = list(scene.objects)
    k = rng.randrange(len(objects))
    colour, shape = rng.choice(sorted(HELD_OUT_PAIRS))
    objects[k] = replace(objects[k], colour=colour, shape=shape)
    return Scene(scene.background, tuple(objects))


def text_to_image_cases(n: int, seed: int) -> tuple[TextToImageCase, ...]:
    """n cases per group: 1, 2 and 3 objects of training pairs, and scenes with held-out pairs."""
    out = []
    for group in TEXT_TO_IMAGE_GROUPS:
        rng = _rng(seed, f"text_to_image/{group}")
        for _ in range(n):
            if group == "held-out pairs":
                scene = held_out_scene(rng)
            else:
                scene = random_scene(rng, n_objects=int(group[0]))
            out.append(TextToImageCase(group, canonical_caption(scene), scene))
    return tuple(out)


def caption_cases(n: int, seed: int) -> tuple[CaptionCase, ...]:
    rng = _rng(seed, "caption")
    scenes = [random_scene(rng) for _ in range(n)]
    return tuple(CaptionCase(s, canonical_caption(s)) for s in scenes)


def question_cases(n: int, seed: int) -> tuple[QuestionCase, ...]:
    """n cases per question form, each on its own scene."""
    out = []
    for form in QUESTION_FORMS:
        rng = _rng(seed, f"question/{form}")
        made = 0
        while made < n:
            scene = random_scene(rng)
            valid = [q for q in questions_for(scene) if q.form == form]
            if valid:  # 'what color is the {shape}?' needs a unique shape, and so on
                q = rng.choice(valid)
                out.append(QuestionCase(scene, form, q.question, q.answer))
                made += 1
    return tuple(out)


def edit_cases(n: int, seed: int) -> tuple[EditCase, ...]:
    """n cases per edit kind, each on its own scene."""
    out = []
    for kind in EDIT_KINDS:
        rng = _rng(seed, f"edit/{kind}")
        made = 0
        while made < n:
            scene = random_scene(rng)
            if kind in feasible_kinds(scene):  # e.g. 'remove' needs two objects
                e = random_edit(rng, scene, kind)
                out.append(EditCase(scene, kind, e.instruction, e.apply(scene)))
                made += 1
    return tuple(out)


def chat_cases(n: int, seed: int) -> tuple[ChatCase, ...]:
    """n two-turn chats: draw a scene, then one edit of any kind."""
    rng = _rng(seed, "chat")
    out = []
    for _ in range(n):
        scene = random_scene(rng)
        e = random_edit(rng, scene)
        out.append(ChatCase(scene, e.instruction, e.apply(scene)))
    return tuple(out)


def build_cases(n: int, seed: int = 0) -> CaseSet:
    """Every case set, n cases per group (per object count, question form, edit kind)."""
    if n < 1:
        raise ValueError(f"need at least one case per group, got n={n}")
    return CaseSet(
        text_to_image=text_to_image_cases(n, seed),
        caption=caption_cases(n, seed),
        question=question_cases(n, seed),
        edit=edit_cases(n, seed),
        chat=chat_cases(n, seed),
    )
