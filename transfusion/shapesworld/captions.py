"""Captions: the canonical caption of a scene, its strict parser, and paraphrases.

The canonical caption is the contract's one true description (what the captioning task must
answer). Paraphrases are for text-to-image prompts only: they vary the lead-in, word order,
joining words, the place of the background and some synonyms, but every paraphrase still names
every object's size, colour, shape and position, and the background, so the image is fixed.
"""

from __future__ import annotations

import random
import re

from .words import alternatives
from .world import BACKGROUNDS, CELL_OF_POSITION, COLOURS, POSITIONS, SHAPES, SIZES, Obj, Scene

# ---------------------------------------------------------------- canonical form


def object_phrase(obj: Obj) -> str:
    """'a {size} {colour} {shape} {position phrase}'."""
    return f"a {obj.size} {obj.colour} {obj.shape} {obj.position}"


def join_list(items: list[str], comma: str = ", ", last: str = " and ") -> str:
    """'A', 'A and B', 'A, B and C'."""
    if len(items) <= 1:
        return "".join(items)
    return comma.join(items[:-1]) + last + items[-1]


def canonical_caption(scene: Scene) -> str:
    """The contract's caption, e.g. 'a large red circle in the top left corner on a white background'."""
    if not 1 <= len(scene.objects) <= 3:
        raise ValueError(f"a canonical caption describes 1 to 3 objects, this scene has {len(scene.objects)}")
    objects = join_list([object_phrase(o) for o in scene.objects])  # scene keeps reading order
    return f"{objects} on a {scene.background} background"


_OBJECT = (
    rf"a ({alternatives(SIZES)}) ({alternatives(COLOURS)}) ({alternatives(SHAPES)}) "
    rf"({alternatives(POSITIONS.values())})"
)
_CAPTION = re.compile(
    rf"{_OBJECT}(?:(?:, {_OBJECT})? and {_OBJECT})? on a ({alternatives(BACKGROUNDS)}) background"
)


def parse_caption(text: str) -> Scene:
    """The scene that a canonical caption describes; ValueError if `text` is not canonical.

    Strict: lower case, single spaces, no full stop, objects in reading order, distinct cells.
    """
    m = _CAPTION.fullmatch(text)
    if m is None:
        raise ValueError(
            f"not a canonical caption: {text!r}; expected e.g. "
            "'a large red circle in the top left corner and a small blue square in the center "
            "on a white background'"
        )
    groups = m.groups()
    objects = []
    for i in range(0, 12, 4):
        size, colour, shape, position = groups[i : i + 4]
        if size is not None:
            row, col = CELL_OF_POSITION[position]
            objects.append(Obj(shape=shape, colour=colour, size=size, row=row, col=col))
    if len({o.cell for o in objects}) != len(objects):
        raise ValueError(f"not a canonical caption: two objects share a cell in {text!r}")
    scene = Scene(background=groups[12], objects=tuple(objects))
    if list(scene.objects) != objects:
        raise ValueError(f"not a canonical caption: objects are not in reading order in {text!r}")
    return scene


# ---------------------------------------------------------------- paraphrases

SIZE_WORDS: dict[str, tuple[str, ...]] = {
    "small": ("small", "little", "tiny"),
    "large": ("large", "big"),
}
BACKGROUND_WORDS: dict[str, tuple[str, ...]] = {
    "white": ("white",),
    "black": ("black",),
    "gray": ("gray", "grey"),
}
POSITION_WORDS: dict[tuple[int, int], tuple[str, ...]] = {
    (0, 0): ("in the top left corner", "at the top left", "in the upper left corner"),
    (0, 1): ("at the top", "at the top middle", "in the top center"),
    (0, 2): ("in the top right corner", "at the top right", "in the upper right corner"),
    (1, 0): ("on the left", "on the left side", "at the middle left"),
    (1, 1): ("in the center", "in the middle", "in the centre"),
    (1, 2): ("on the right", "on the right side", "at the middle right"),
    (2, 0): ("in the bottom left corner", "at the bottom left", "in the lower left corner"),
    (2, 1): ("at the bottom", "at the bottom middle", "in the bottom center"),
    (2, 2): ("in the bottom right corner", "at the bottom right", "in the lower right corner"),
}
OBJECT_TEMPLATES: tuple[str, ...] = (
    "a {size} {colour} {shape} {pos}",
    "one {size} {colour} {shape} {pos}",
    "a {size} {colour} {shape} placed {pos}",
    "a {size} {shape} in {colour} {pos}",
    "{pos} a {size} {colour} {shape}",
)
JOINERS: tuple[tuple[str, str], ...] = ((", ", " and "), (", ", ", and "), (" and ", " and "), ("; ", "; "))
SCENE_TEMPLATES: tuple[str, ...] = (
    "{objects} on a {bg} background",
    "{objects} with a {bg} background",
    "{objects}, {bg} background",
    "{objects} against a {bg} background",
    "a {bg} background with {objects}",
    "on a {bg} background, {objects}",
)
LEAD_INS: tuple[str, ...] = (
    "",
    "draw ",
    "please draw ",
    "can you draw ",
    "a picture of ",
    "an image of ",
    "show me ",
    "generate ",
    "make an image of ",
    "paint ",
)


def object_variants(obj: Obj) -> set[str]:
    """Every way a paraphrase may phrase this object (for tests and for readers)."""
    return {
        t.format(size=s, colour=obj.colour, shape=obj.shape, pos=p)
        for t in OBJECT_TEMPLATES
        for s in SIZE_WORDS[obj.size]
        for p in POSITION_WORDS[obj.cell]
    }


def paraphrase(scene: Scene, rng: random.Random, lead_ins: tuple[str, ...] = LEAD_INS) -> str:
    """A random paraphrase of the scene's caption that still names every attribute.

    Objects may be listed in any order; it opens with one of `lead_ins` (e.g. 'draw ').
    """
    objects = list(scene.objects)
    if rng.random() < 0.5:
        rng.shuffle(objects)
    phrases = [
        rng.choice(OBJECT_TEMPLATES).format(
            size=rng.choice(SIZE_WORDS[o.size]),
            colour=o.colour,
            shape=o.shape,
            pos=rng.choice(POSITION_WORDS[o.cell]),
        )
        for o in objects
    ]
    text = rng.choice(SCENE_TEMPLATES).format(
        objects=join_list(phrases, *rng.choice(JOINERS)),
        bg=rng.choice(BACKGROUND_WORDS[scene.background]),
    )
    text = rng.choice(lead_ins) + text
    if rng.random() < 0.15:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.15:
        text += "."
    return text
