"""Paraphrased edit instructions: each names exactly the edit's target and says the same change."""

import random
import re
from collections import Counter

import pytest

from transfusion.shapesworld.captions import POSITION_WORDS
from transfusion.shapesworld.edit_phrasings import (
    EDIT_PHRASINGS,
    HELD_OUT_EDIT_PHRASINGS,
    KINDS_WITH_HELD_OUT,
    RELATIVE_MOVE_PHRASINGS,
    phrase_edit,
)
from transfusion.shapesworld.edits import (
    EDIT_KINDS,
    Add,
    Background,
    Move,
    Recolour,
    Remove,
    Resize,
    feasible_kinds,
    random_edit,
)
from transfusion.shapesworld.world import COLOURS, HELD_OUT_PAIRS, SHAPES, Obj, Scene, random_scene

SCENE = Scene("white", (Obj("circle", "red", "large", 0, 0), Obj("square", "blue", "small", 1, 1)))
LONE = Scene("gray", (Obj("circle", "red", "small", 1, 1),))
HELD_OUT_RES = {p: re.compile(rf"\b{re.escape(p)}\b") for p in HELD_OUT_EDIT_PHRASINGS}
HELD_OUT_PAIR_TEXT = [re.compile(rf"\b{c} {s}\b|\b{s} in {c}\b") for c, s in HELD_OUT_PAIRS]


def held_out_in(text: str) -> list[str]:
    return [p for p, r in HELD_OUT_RES.items() if r.search(text)]


# ---------------------------------------------------------------- an independent reader

_COLOUR_RE = re.compile(rf"\b({'|'.join(COLOURS)})\b")
_SHAPE_RE = re.compile(rf"\b({'|'.join(SHAPES)})\b")
_BACKGROUND = {"white": "white", "black": "black", "gray": "gray", "grey": "gray"}
_SIZE = {"small": "small", "little": "small", "tiny": "small", "large": "large", "big": "large"}
_BIGGER = {"bigger", "larger", "large", "big", "enlarge", "increase"}
_SMALLER = {"smaller", "small", "tiny", "shrink", "reduce"}
_RELATIVE = re.compile(r"(?:one (?:cell|step) )?(to the left|to the right|up|down)$")
_STEP = {"to the left": (0, -1), "to the right": (0, 1), "up": (-1, 0), "down": (1, 0)}
_POSITIONS = sorted(
    [(p, cell) for cell, ps in POSITION_WORDS.items() for p in ps]
    + [("to " + p.split(" ", 1)[1], cell) for cell, ps in POSITION_WORDS.items() for p in ps],
    key=lambda pc: -len(pc[0]),
)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text)


def cell_named(text: str) -> tuple[int, int]:
    """The one cell that a position phrase of the text names (longest phrases first)."""
    cells = []
    for phrase, cell in _POSITIONS:
        if re.search(rf"\b{phrase}\b", text):
            cells.append(cell)
            text = re.sub(rf"\b{phrase}\b", "", text)
    assert len(cells) == 1, (text, cells)
    return cells[0]


def named(scene: Scene, colours: list[str], shapes: list[str], text: str) -> list[Obj]:
    """The objects of the scene that the named colour and shape (or 'it') fit."""
    assert len(colours) <= 1 and len(shapes) <= 1, text
    if not colours and not shapes:
        assert "it" in words(text), text
        return list(scene.objects) if len(scene.objects) == 1 else []
    return [
        o for o in scene.objects
        if (not colours or o.colour == colours[0]) and (not shapes or o.shape == shapes[0])
    ]


def check(edit, scene: Scene, text: str) -> None:
    """The text names exactly the edit's target in the scene and asks for the edit's change."""
    colours, shapes = _COLOUR_RE.findall(text), _SHAPE_RE.findall(text)
    if isinstance(edit, Add):
        o = edit.obj
        assert colours == [o.colour] and shapes == [o.shape], text
        assert [_SIZE[w] for w in words(text) if w in _SIZE] == [o.size], text
        assert cell_named(text) == o.cell, text
        return
    if isinstance(edit, Background):
        assert not colours and not shapes, text
        assert [_BACKGROUND[w] for w in words(text) if w in _BACKGROUND] == [edit.background], text
        return
    target = scene.find(edit.colour, edit.shape)[0]
    if isinstance(edit, Recolour):
        assert colours and colours[-1] == edit.new_colour, text  # the new colour, said last
        colours = colours[:-1]
    assert named(scene, colours, shapes, text) == [target], text
    if isinstance(edit, Resize):
        said = set(words(text))
        assert bool(said & _BIGGER) == edit.bigger and bool(said & _SMALLER) != edit.bigger, text
    if isinstance(edit, Move):
        m = _RELATIVE.search(text)
        if m:  # only into the neighbouring cell in that direction
            dr, dc = _STEP[m.group(1)]
            assert (target.row + dr, target.col + dc) == (edit.row, edit.col), text
        else:
            assert cell_named(text) == (edit.row, edit.col), text
            if re.search(r"\bto the (top|bottom)$", text):  # not 'the top row', from elsewhere
                assert target.col == edit.col == 1, text


def edits_of(seed: str, n: int, allow_held_out: bool = False):
    """n (scene, edit) pairs of each kind."""
    rng = random.Random(seed)
    for kind in EDIT_KINDS:
        done = 0
        while done < n:
            scene = random_scene(rng, allow_held_out=allow_held_out)
            if kind in feasible_kinds(scene):
                done += 1
                yield scene, random_edit(rng, scene, kind, allow_held_out=allow_held_out)


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("held_out", [False, True])
def test_phrase_edit_names_exactly_the_target_and_the_change(held_out):
    rng = random.Random(f"edit phrasings:{held_out}")
    for scene, edit in edits_of(f"scenes:{held_out}", 400, allow_held_out=held_out):
        for _ in range(3):
            text = phrase_edit(edit, scene, rng, held_out)
            assert text == text.strip() and "  " not in text and text == text.lower()
            check(edit, scene, text)


def test_the_reader_rejects_wrong_paraphrases():
    """The checker above is not a rubber stamp."""
    three = Scene("white", SCENE.objects + (Obj("circle", "green", "small", 2, 2),))
    for edit, scene, text in [
        (Recolour("red", "circle", "blue"), three, "turn the circle blue"),  # two circles
        (Recolour("red", "circle", "blue"), SCENE, "make it blue"),  # two objects
        (Remove("blue", "square"), SCENE, "delete the red shape"),
        (Move("red", "circle", 0, 2), SCENE, "move the red circle to the right"),  # two cells away
        (Move("blue", "square", 1, 2), SCENE, "move the square to the middle left"),
        (Move("red", "circle", 2, 1), SCENE, "move the red circle to the bottom"),  # not from the middle column
        (Resize("blue", "square", bigger=True), SCENE, "make the blue square smaller"),
        (Add(Obj("square", "red", "small", 0, 1)), SCENE, "add a big red square at the top"),
        (Background("gray"), SCENE, "make the background black"),
    ]:
        with pytest.raises(AssertionError):
            check(edit, scene, text)


@pytest.mark.parametrize(
    "edit, scene, expected",
    [
        (Recolour("red", "circle", "blue"), SCENE,
         {"turn the red circle blue", "color the red circle blue", "make the circle blue", "change the red shape to blue"}),
        (Recolour("red", "circle", "blue"), LONE, {"make it blue", "turn it blue"}),
        (Remove("blue", "square"), SCENE, {"delete the blue square", "take away the square", "remove the blue square"}),
        (Resize("red", "circle", bigger=True), LONE, {"make it bigger", "make the red circle larger", "make the circle large"}),
        (Resize("red", "circle", bigger=False), SCENE, {"make the red circle smaller", "make the circle small"}),
        (Move("red", "circle", 0, 1), LONE, {"move it up", "move it to the top", "move the red circle one cell up"}),
        (Move("blue", "square", 1, 0), SCENE, {"move the blue square to the left", "put the square on the left"}),
        (Add(Obj("square", "blue", "small", 0, 2)), SCENE, {"put a small blue square in the top right corner", "add a little blue square at the top right"}),
        (Background("white"), LONE, {"change the background to white", "make the background white"}),
    ],
)
def test_phrasings_by_example(edit, scene, expected):
    rng = random.Random(0)
    texts = {phrase_edit(edit, scene, rng) for _ in range(400)}
    assert expected <= texts, expected - texts
    assert edit.instruction in texts  # the canonical text, sometimes
    for text in texts:
        check(edit, scene, text)


def test_relative_moves_only_into_the_neighbouring_cell():
    rng = random.Random(2)
    relative = Counter()
    for scene, edit in edits_of("moves", 600):
        if edit.kind != "move":
            continue
        target = scene.find(edit.colour, edit.shape)[0]
        step = (edit.row - target.row, edit.col - target.col)
        for held_out in (False, True):
            text = phrase_edit(edit, scene, rng, held_out)
            m = _RELATIVE.search(text)
            if m:
                assert _STEP[m.group(1)] == step, text
                relative[m.group(1)] += 1
    assert set(relative) == set(_STEP)  # every direction is said


def test_held_out_phrasings_only_when_asked():
    assert KINDS_WITH_HELD_OUT == EDIT_KINDS
    rng = random.Random(9)
    said = Counter()
    canonical = 0
    for scene, edit in edits_of("held out", 300):
        for held_out in (False, True):
            text = phrase_edit(edit, scene, rng, held_out)
            found = held_out_in(text)
            assert bool(found) == held_out, (held_out, text)
            said.update(found)
            canonical += text == edit.instruction
        assert phrase_edit(edit, scene, rng, True) != edit.instruction
    assert set(said) == set(HELD_OUT_EDIT_PHRASINGS)
    assert canonical > 0


def test_templates_split_about_one_in_five():
    templates = [t for ts in EDIT_PHRASINGS.values() for t in ts] + list(RELATIVE_MOVE_PHRASINGS)
    held = [t for t in templates if held_out_in(re.sub(r"\{\w+\}", "", t))]
    assert 0.15 <= len(held) / len(templates) <= 0.3
    for group, ts in list(EDIT_PHRASINGS.items()) + [("relative", RELATIVE_MOVE_PHRASINGS)]:
        n_held = sum(t in held for t in ts)
        assert 1 <= n_held < len(ts), group


def test_training_phrasings_name_no_held_out_pair():
    rng = random.Random(4)
    for scene, edit in edits_of("training", 300):
        text = phrase_edit(edit, scene, rng)
        assert not any(r.search(text) for r in HELD_OUT_PAIR_TEXT), text


def test_phrase_edit_is_a_pure_function_of_the_rng():
    pairs = list(edits_of("pure", 20))
    for held_out in (False, True):
        a, b = random.Random(7), random.Random(7)
        assert [phrase_edit(e, s, a, held_out) for s, e in pairs] == [phrase_edit(e, s, b, held_out) for s, e in pairs]


def test_phrase_edit_refuses_an_edit_that_does_not_fit():
    with pytest.raises(ValueError):
        phrase_edit(Remove("green", "circle"), SCENE, random.Random(0))
    with pytest.raises(ValueError):
        phrase_edit(Move("red", "circle", 1, 1), SCENE, random.Random(0))
