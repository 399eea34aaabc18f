"""Edits: the six kinds do what they say, only that, and what the renderer draws is the expected scene."""

import random

import pytest

from transfusion.shapesworld.analyse import analyse
from transfusion.shapesworld.edits import (
    EDIT_KINDS,
    Add,
    Background,
    Move,
    Recolour,
    Remove,
    Resize,
    feasible_kinds,
    parse_edit,
    random_edit,
)
from transfusion.shapesworld.render import render
from transfusion.shapesworld.world import MAX_OBJECTS, Obj, Scene, random_scene

SCENE = Scene("white", (Obj("circle", "red", "large", 0, 0), Obj("square", "blue", "small", 1, 1)))


@pytest.mark.parametrize(
    "edit, text, expected",
    [
        (Recolour("red", "circle", "green"), "make the red circle green",
         Scene("white", (Obj("circle", "green", "large", 0, 0), Obj("square", "blue", "small", 1, 1)))),
        (Move("blue", "square", 2, 2), "move the blue square in the bottom right corner",
         Scene("white", (Obj("circle", "red", "large", 0, 0), Obj("square", "blue", "small", 2, 2)))),
        (Remove("red", "circle"), "remove the red circle",
         Scene("white", (Obj("square", "blue", "small", 1, 1),))),
        (Add(Obj("triangle", "yellow", "small", 0, 1)), "add a small yellow triangle at the top",
         Scene("white", (Obj("circle", "red", "large", 0, 0), Obj("triangle", "yellow", "small", 0, 1), Obj("square", "blue", "small", 1, 1)))),
        (Resize("blue", "square", bigger=True), "make the blue square bigger",
         Scene("white", (Obj("circle", "red", "large", 0, 0), Obj("square", "blue", "large", 1, 1)))),
        (Resize("red", "circle", bigger=False), "make the red circle smaller",
         Scene("white", (Obj("circle", "red", "small", 0, 0), Obj("square", "blue", "small", 1, 1)))),
        (Background("gray"), "change the background to gray",
         Scene("gray", SCENE.objects)),
    ],
)
def test_each_kind_by_example(edit, text, expected):
    assert edit.instruction == text
    assert parse_edit(text, SCENE) == edit
    assert edit.apply(SCENE) == expected
    assert analyse(render(edit.apply(SCENE))) == expected


@pytest.mark.parametrize(
    "edit",
    [
        Recolour("green", "circle", "red"),  # no such object
        Recolour("red", "circle", "red"),  # no change
        Move("red", "circle", 1, 1),  # the cell is taken
        Remove("blue", "triangle"),
        Add(Obj("circle", "red", "small", 1, 1)),  # the cell is taken
        Resize("red", "circle", bigger=True),  # already large
        Resize("blue", "square", bigger=False),  # already small
        Background("white"),  # already white
    ],
)
def test_invalid_edits_raise(edit):
    with pytest.raises(ValueError):
        edit.apply(SCENE)


def test_limits_on_object_count():
    lone = Scene("black", (Obj("circle", "red", "small", 0, 0),))
    with pytest.raises(ValueError, match="last"):
        Remove("red", "circle").apply(lone)
    full = Scene("black", tuple(Obj("circle", c, "small", 0, i) for i, c in enumerate(["red", "blue", "green"])))
    with pytest.raises(ValueError, match="at most"):
        Add(Obj("square", "red", "small", 2, 2)).apply(full)
    assert "remove" not in feasible_kinds(lone) and "add" not in feasible_kinds(full)


def test_target_must_be_unique():
    twins = Scene("white", (Obj("circle", "red", "small", 0, 0), Obj("circle", "red", "large", 2, 2)))
    with pytest.raises(ValueError, match="exactly one"):
        Recolour("red", "circle", "blue").apply(twins)
    assert feasible_kinds(twins) == ["add", "background"]
    with pytest.raises(ValueError):
        random_edit(random.Random(0), twins, "move")


@pytest.mark.parametrize("kind", EDIT_KINDS)
def test_random_edits_of_each_kind(kind):
    """render(apply(scene)) reads back as the expected scene; what is not named stays the same."""
    rng = random.Random(f"edits:{kind}")
    done = 0
    while done < 150:
        scene = random_scene(rng)
        if kind not in feasible_kinds(scene):
            continue
        done += 1
        edit = random_edit(rng, scene, kind)
        assert edit.kind == kind
        assert parse_edit(edit.instruction, scene) == edit  # the text says exactly this edit
        after = edit.apply(scene)
        assert analyse(render(after)) == after
        assert 1 <= len(after.objects) <= MAX_OBJECTS
        assert not after.has_held_out

        before_objs, after_objs = set(scene.objects), set(after.objects)
        gone, new = before_objs - after_objs, after_objs - before_objs
        if kind == "background":
            assert after.background != scene.background and after.objects == scene.objects
            continue
        assert after.background == scene.background
        if kind == "add":
            assert not gone and len(new) == 1 and new.pop() == edit.obj
            continue
        (target,) = gone  # one object changed or went, every other is untouched
        assert target.pair == (edit.colour, edit.shape)
        if kind == "remove":
            assert not new
            continue
        (changed,) = new
        if kind == "recolour":
            assert changed == Obj(target.shape, edit.new_colour, target.size, target.row, target.col)
        elif kind == "move":
            assert changed == Obj(target.shape, target.colour, target.size, edit.row, edit.col)
            assert scene.at(edit.row, edit.col) is None
        elif kind == "resize":
            assert {target.size, changed.size} == {"small", "large"}
            assert (changed.shape, changed.colour, changed.cell) == (target.shape, target.colour, target.cell)


def test_random_edits_never_make_a_held_out_pair():
    rng = random.Random(5)
    for _ in range(5000):
        scene = random_scene(rng)
        assert not random_edit(rng, scene).apply(scene).has_held_out


def test_random_edit_refuses_held_out_scenes_unless_allowed():
    scene = Scene("white", (Obj("triangle", "purple", "small", 0, 0), Obj("circle", "red", "small", 1, 1)))
    with pytest.raises(ValueError, match="held-out"):
        random_edit(random.Random(0), scene)
    random_edit(random.Random(0), scene, allow_held_out=True).apply(scene)


@pytest.mark.parametrize(
    "text",
    [
        "make the red circle",
        "make the red circle huge",
        "Remove the red circle",
        "remove the red circle.",
        "move the red circle to the right",
        "add a red circle at the top",
        "change the background to pink",
        "remove the green circle",  # not in the scene
        "add a small red circle in the center",  # the cell is taken
    ],
)
def test_parse_edit_rejects(text):
    with pytest.raises(ValueError):
        parse_edit(text, SCENE)
