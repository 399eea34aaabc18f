"""Edit instructions in people's words: paraphrases of the six canonical kinds.

`phrase_edit(edit, scene, rng)` says the same edit another way ('get rid of the blue square',
'turn the circle green', 'move it up', 'put a small red circle at the top left'); the effect is
the edit's own, and the target is named so that exactly one object of that scene fits:
- `the {colour} {shape}` always (an edit's target is unique by its pair);
- `the {shape}` when the scene has one object of that shape, `the {colour} shape` when it has
  one object of that colour, `it` when it has one object.
A move into the neighbouring cell may be said relative to where the object is ('to the left',
'one cell up'); any other move names the destination with a position phrase of
`captions.POSITION_WORDS`, or the same phrase after 'to' where that cannot be read as relative.

Some whole phrasings (`HELD_OUT_EDIT_PHRASINGS`) never appear with `held_out=False`; the
evaluator asks with them. The canonical instructions in `edits.py` are not changed here.
"""

from __future__ import annotations

import random

from .captions import BACKGROUND_WORDS, POSITION_WORDS, SIZE_WORDS
from .edits import EDIT_KINDS, Add, Background, Edit, Move, Recolour, Remove, Resize
from .words import phrase_finder, without_slots
from .world import Scene

# A held-out phrasing is a template that holds one of these (as whole words). They never appear
# in what phrase_edit says with held_out=False; with held_out=True it always says one.
HELD_OUT_EDIT_PHRASINGS: tuple[str, ...] = (
    "get rid of", "erase", "paint", "colour", "shift", "insert", "enlarge", "shrink"
)

# Slots: {t} the target, {new} the new colour, {pos} a position phrase, {to} 'to ' and a
# position, {dir} a relative direction, {size} {colour} {shape} of an added object, {bg}.
EDIT_PHRASINGS: dict[str, tuple[str, ...]] = {
    "recolour": (
        "make {t} {new}",
        "turn {t} {new}",
        "color {t} {new}",
        "change {t} to {new}",
        "change the color of {t} to {new}",
        "give {t} the color {new}",
        "paint {t} {new}",
        "colour {t} {new}",
    ),
    "move": (
        "move {t} {pos}",
        "put {t} {pos}",
        "place {t} {pos}",
        "move {t} {to}",
        "shift {t} {to}",
    ),
    "remove": (
        "remove {t}",
        "delete {t}",
        "take away {t}",
        "take {t} away",
        "take out {t}",
        "get rid of {t}",
        "erase {t}",
    ),
    "add": (
        "add a {size} {colour} {shape} {pos}",
        "put a {size} {colour} {shape} {pos}",
        "place a {size} {colour} {shape} {pos}",
        "add one {size} {colour} {shape} {pos}",
        "add a {size} {colour} {shape} {to}",
        "{pos}, add a {size} {colour} {shape}",
        "insert a {size} {colour} {shape} {pos}",
    ),
    "bigger": (
        "make {t} bigger",
        "make {t} larger",
        "make {t} large",
        "make {t} big",
        "increase the size of {t}",
        "enlarge {t}",
    ),
    "smaller": (
        "make {t} smaller",
        "make {t} small",
        "make {t} tiny",
        "reduce the size of {t}",
        "shrink {t}",
    ),
    "background": (
        "change the background to {bg}",
        "make the background {bg}",
        "turn the background {bg}",
        "set the background to {bg}",
        "switch the background to {bg}",
        "change the background color to {bg}",
        "use a {bg} background",
        "paint the background {bg}",
        "change the background colour to {bg}",
    ),
}
# moves into the neighbouring cell, said from where the object is; always at the end of the text
RELATIVE_MOVE_PHRASINGS: tuple[str, ...] = ("move {t} {dir}", "shift {t} {dir}")
DIRECTION_WORDS: dict[tuple[int, int], tuple[str, ...]] = {  # (d row, d col) -> phrases
    (0, -1): ("to the left", "one cell to the left", "one step to the left"),
    (0, 1): ("to the right", "one cell to the right", "one step to the right"),
    (-1, 0): ("up", "one cell up", "one step up"),
    (1, 0): ("down", "one cell down", "one step down"),
}
RELATIVE_SHARE = 0.5  # how often a move into a neighbouring cell is said relatively
CANONICAL_SHARE = 0.25  # how often phrase_edit (held_out=False) says the canonical instruction

# 'to the left' (and '... side') reads as a relative move, so no destination is said so; 'to the
# top' / 'to the bottom' read as 'up/down to that row', so only for an object in the middle column
_RELATIVE_LOOKING = {"to the left", "to the right", "to the left side", "to the right side"}
_ROW_ONLY = {"to the top", "to the bottom"}


def _to(phrase: str) -> str:
    """'in the top left corner' -> 'to the top left corner'."""
    return "to " + phrase.split(" ", 1)[1]


TO_POSITION_WORDS: dict[tuple[int, int], tuple[str, ...]] = {
    cell: tuple(_to(p) for p in phrases if _to(p) not in _RELATIVE_LOOKING | _ROW_ONLY)
    for cell, phrases in POSITION_WORDS.items()
}


is_held_out_phrasing = phrase_finder(HELD_OUT_EDIT_PHRASINGS)  # (text) -> bool, as whole words


def _template_held_out(template: str) -> bool:
    return is_held_out_phrasing(without_slots(template))


def _templates_of(kind: str) -> tuple[str, ...]:
    if kind == "resize":
        return EDIT_PHRASINGS["bigger"] + EDIT_PHRASINGS["smaller"]
    return EDIT_PHRASINGS[kind] + (RELATIVE_MOVE_PHRASINGS if kind == "move" else ())


# the edit kinds that have a held-out phrasing: held_out=True works for these
KINDS_WITH_HELD_OUT: tuple[str, ...] = tuple(
    k for k in EDIT_KINDS if any(_template_held_out(t) for t in _templates_of(k))
)


def target_phrases(scene: Scene, colour: str, shape: str) -> list[str]:
    """Every way to name the object of this colour and shape so that only it fits in the scene."""
    out = [f"the {colour} {shape}"]
    if sum(o.shape == shape for o in scene.objects) == 1:
        out.append(f"the {shape}")
    if sum(o.colour == colour for o in scene.objects) == 1:
        out.append(f"the {colour} shape")
    if len(scene.objects) == 1:
        out.append("it")
    return out


def _to_phrases(dest: tuple[int, int], origin: tuple[int, int] | None) -> list[str]:
    """'to {position}' phrases for a destination that no reader takes for a relative move."""
    out = list(TO_POSITION_WORDS[dest])
    if origin is not None and origin[1] == dest[1] == 1:  # up or down the middle column
        out += [_to(p) for p in POSITION_WORDS[dest] if _to(p) in _ROW_ONLY]
    return out


def phrase_edit(edit: Edit, scene: Scene, rng: random.Random, held_out: bool = False) -> str:
    """A paraphrase of the edit's instruction, with the same effect on `scene`.

    With `held_out=False` the canonical instruction a quarter of the time, otherwise an
    alternative that holds no held-out phrasing; with `held_out=True` always a held-out one
    (every kind has one: `KINDS_WITH_HELD_OUT`). ValueError when the edit does not fit the
    scene. A pure function of the generator's state.
    """
    edit.apply(scene)  # raises ValueError if the edit does not fit the scene
    if held_out and edit.kind not in KINDS_WITH_HELD_OUT:
        raise ValueError(f"{edit.kind} edits have no held-out phrasing; kinds with one: {KINDS_WITH_HELD_OUT}")
    if not held_out and rng.random() < CANONICAL_SHARE:
        return edit.instruction

    fill: dict[str, str] = {}
    if isinstance(edit, Resize):
        templates = EDIT_PHRASINGS["bigger" if edit.bigger else "smaller"]
    elif isinstance(edit, Move):
        obj = scene.find(edit.colour, edit.shape)[0]
        step = (edit.row - obj.row, edit.col - obj.col)
        if step in DIRECTION_WORDS and rng.random() < RELATIVE_SHARE:
            templates = RELATIVE_MOVE_PHRASINGS
            fill["dir"] = rng.choice(DIRECTION_WORDS[step])
        else:
            templates = EDIT_PHRASINGS["move"]
            fill["pos"] = rng.choice(POSITION_WORDS[(edit.row, edit.col)])
            fill["to"] = rng.choice(_to_phrases((edit.row, edit.col), obj.cell))
    else:
        templates = EDIT_PHRASINGS[edit.kind]
    template = rng.choice([t for t in templates if _template_held_out(t) == held_out])

    if isinstance(edit, (Recolour, Move, Remove, Resize)):
        targets = target_phrases(scene, edit.colour, edit.shape)
        if "of {t}" in template:  # 'the color of it' is not how anyone says it
            targets = [t for t in targets if t != "it"]
        fill["t"] = rng.choice(targets)
    if isinstance(edit, Recolour):
        fill["new"] = edit.new_colour
    elif isinstance(edit, Add):
        o = edit.obj
        fill.update(size=rng.choice(SIZE_WORDS[o.size]), colour=o.colour, shape=o.shape)
        fill["pos"] = rng.choice(POSITION_WORDS[o.cell])
        fill["to"] = rng.choice(_to_phrases(o.cell, None))
    elif isinstance(edit, Background):
        fill["bg"] = rng.choice(BACKGROUND_WORDS[edit.background])
    return template.format(**fill)

