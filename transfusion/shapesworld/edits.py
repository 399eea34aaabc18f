"""Edit instructions: the contract's six kinds, their text, their effect on a scene, and a parser.

Each kind is a small frozen dataclass with `instruction` (the canonical text) and
`apply(scene) -> Scene`. `apply` checks that the edit is valid for the scene (the target is
named uniquely by colour and shape, a destination cell is empty, ...) and raises ValueError
otherwise; everything the instruction does not name stays exactly as it was.
"""

from __future__ import annotations

import random
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import ClassVar

from .words import alternatives
from .world import (
    BACKGROUNDS,
    CELL_OF_POSITION,
    COLOURS,
    HELD_OUT_PAIRS,
    MAX_OBJECTS,
    POSITIONS,
    SHAPES,
    SIZES,
    Obj,
    Scene,
    random_object,
)

EDIT_KINDS: tuple[str, ...] = ("recolour", "move", "remove", "add", "resize", "background")


def _target(scene: Scene, colour: str, shape: str) -> Obj:
    """The one object of this colour and shape; ValueError if there is none or more than one."""
    found = scene.find(colour, shape)
    if len(found) != 1:
        raise ValueError(f"an edit must name exactly one object; there are {len(found)} {colour} {shape}s")
    return found[0]


def _swap(scene: Scene, old: Obj, new: Obj | None) -> Scene:
    """The scene with `old` replaced by `new` (or removed when `new` is None)."""
    rest = tuple(o for o in scene.objects if o is not old)
    return Scene(scene.background, rest + ((new,) if new is not None else ()))


class Edit(ABC):
    """One edit of a scene."""

    kind: ClassVar[str]

    @property
    @abstractmethod
    def instruction(self) -> str:
        """The canonical instruction text."""

    @abstractmethod
    def apply(self, scene: Scene) -> Scene:
        """The edited scene; ValueError if the edit is not valid for `scene`."""


@dataclass(frozen=True)
class Recolour(Edit):
    colour: str
    shape: str
    new_colour: str
    kind: ClassVar[str] = "recolour"

    @property
    def instruction(self) -> str:
        return f"make the {self.colour} {self.shape} {self.new_colour}"

    def apply(self, scene: Scene) -> Scene:
        obj = _target(scene, self.colour, self.shape)
        if self.new_colour == self.colour:
            raise ValueError(f"the {self.colour} {self.shape} is already {self.colour}")
        return _swap(scene, obj, replace(obj, colour=self.new_colour))


@dataclass(frozen=True)
class Move(Edit):
    colour: str
    shape: str
    row: int
    col: int
    kind: ClassVar[str] = "move"

    @property
    def instruction(self) -> str:
        return f"move the {self.colour} {self.shape} {POSITIONS[(self.row, self.col)]}"

    def apply(self, scene: Scene) -> Scene:
        obj = _target(scene, self.colour, self.shape)
        if scene.at(self.row, self.col) is not None:
            raise ValueError(f"cannot move there: {POSITIONS[(self.row, self.col)]} is not empty")
        return _swap(scene, obj, replace(obj, row=self.row, col=self.col))


@dataclass(frozen=True)
class Remove(Edit):
    colour: str
    shape: str
    kind: ClassVar[str] = "remove"

    @property
    def instruction(self) -> str:
        return f"remove the {self.colour} {self.shape}"

    def apply(self, scene: Scene) -> Scene:
        obj = _target(scene, self.colour, self.shape)
        if len(scene.objects) == 1:
            raise ValueError("cannot remove the last object")
        return _swap(scene, obj, None)


@dataclass(frozen=True)
class Add(Edit):
    obj: Obj
    kind: ClassVar[str] = "add"

    @property
    def instruction(self) -> str:
        o = self.obj
        return f"add a {o.size} {o.colour} {o.shape} {o.position}"

    def apply(self, scene: Scene) -> Scene:
        if len(scene.objects) >= MAX_OBJECTS:
            raise ValueError(f"cannot add: a scene holds at most {MAX_OBJECTS} objects")
        if scene.at(*self.obj.cell) is not None:
            raise ValueError(f"cannot add there: {self.obj.position} is not empty")
        return Scene(scene.background, scene.objects + (self.obj,))


@dataclass(frozen=True)
class Resize(Edit):
    colour: str
    shape: str
    bigger: bool
    kind: ClassVar[str] = "resize"

    @property
    def instruction(self) -> str:
        return f"make the {self.colour} {self.shape} {'bigger' if self.bigger else 'smaller'}"

    def apply(self, scene: Scene) -> Scene:
        obj = _target(scene, self.colour, self.shape)
        want_from, want_to = ("small", "large") if self.bigger else ("large", "small")
        if obj.size != want_from:
            raise ValueError(f"the {self.colour} {self.shape} is already {obj.size}")
        return _swap(scene, obj, replace(obj, size=want_to))


@dataclass(frozen=True)
class Background(Edit):
    background: str
    kind: ClassVar[str] = "background"

    @property
    def instruction(self) -> str:
        return f"change the background to {self.background}"

    def apply(self, scene: Scene) -> Scene:
        if self.background not in BACKGROUNDS:
            raise ValueError(f"unknown background {self.background!r}")
        if scene.background == self.background:
            raise ValueError(f"the background is already {self.background}")
        return Scene(self.background, scene.objects)


# ---------------------------------------------------------------- sampling


def feasible_kinds(scene: Scene) -> list[str]:
    """The edit kinds that have at least one valid instance for this scene."""
    named = bool(scene.unique_objects())
    ok = {
        "recolour": named,
        "move": named and bool(scene.empty_cells()),
        "remove": named and len(scene.objects) > 1,
        "add": len(scene.objects) < MAX_OBJECTS,
        "resize": named,
        "background": True,
    }
    return [k for k in EDIT_KINDS if ok[k]]


def random_edit(
    rng: random.Random, scene: Scene, kind: str | None = None, allow_held_out: bool = False
) -> Edit:
    """A uniformly drawn valid edit of `scene` (of `kind`, if given).

    With `allow_held_out=False` neither the scene nor the result holds a held-out pair.
    ValueError when `kind` has no valid instance for this scene (see `feasible_kinds`).
    """
    if not allow_held_out and scene.has_held_out:
        raise ValueError("the scene holds a held-out pair; pass allow_held_out=True to edit it")
    kinds = feasible_kinds(scene)
    if kind is None:
        kind = rng.choice(kinds)
    elif kind not in EDIT_KINDS:
        raise ValueError(f"unknown edit kind {kind!r}; expected one of {EDIT_KINDS}")
    elif kind not in kinds:
        raise ValueError(f"no valid {kind} edit for this scene")

    if kind == "background":
        return Background(rng.choice([b for b in BACKGROUNDS if b != scene.background]))
    if kind == "add":
        row, col = rng.choice(scene.empty_cells())
        return Add(random_object(rng, row, col, allow_held_out))
    obj = rng.choice(scene.unique_objects())
    if kind == "recolour":
        colours = [
            c
            for c in COLOURS
            if c != obj.colour and (allow_held_out or (c, obj.shape) not in HELD_OUT_PAIRS)
        ]
        return Recolour(obj.colour, obj.shape, rng.choice(colours))
    if kind == "move":
        return Move(obj.colour, obj.shape, *rng.choice(scene.empty_cells()))
    if kind == "remove":
        return Remove(obj.colour, obj.shape)
    return Resize(obj.colour, obj.shape, bigger=obj.size == "small")


# ---------------------------------------------------------------- parsing


_NAMED = rf"({alternatives(COLOURS)}) ({alternatives(SHAPES)})"
_POSITION = rf"({alternatives(POSITIONS.values())})"
_PATTERNS = {
    "recolour": re.compile(rf"make the {_NAMED} ({alternatives(COLOURS)})"),
    "move": re.compile(rf"move the {_NAMED} {_POSITION}"),
    "remove": re.compile(rf"remove the {_NAMED}"),
    "add": re.compile(rf"add a ({alternatives(SIZES)}) {_NAMED} {_POSITION}"),
    "resize": re.compile(rf"make the {_NAMED} (bigger|smaller)"),
    "background": re.compile(rf"change the background to ({alternatives(BACKGROUNDS)})"),
}


def parse_edit(text: str, scene: Scene) -> Edit:
    """The edit that a canonical instruction names, checked against `scene`.

    ValueError when the text is not one of the contract's instruction forms, or when the edit
    is not valid for the scene (e.g. its target is absent or not unique).
    """
    for kind, pattern in _PATTERNS.items():
        m = pattern.fullmatch(text)
        if m is None:
            continue
        g = m.groups()
        if kind == "recolour":
            edit: Edit = Recolour(g[0], g[1], g[2])
        elif kind == "move":
            edit = Move(g[0], g[1], *CELL_OF_POSITION[g[2]])
        elif kind == "remove":
            edit = Remove(g[0], g[1])
        elif kind == "add":
            row, col = CELL_OF_POSITION[g[3]]
            edit = Add(Obj(shape=g[2], colour=g[1], size=g[0], row=row, col=col))
        elif kind == "resize":
            edit = Resize(g[0], g[1], bigger=g[2] == "bigger")
        else:
            edit = Background(g[0])
        edit.apply(scene)  # raises ValueError if the edit does not fit the scene
        return edit
    raise ValueError(
        f"not an edit instruction: {text!r}; expected e.g. 'make the red circle blue', "
        "'move the red circle at the top', 'remove the red circle', "
        "'add a small red circle in the center', 'make the red circle bigger', "
        "'change the background to black'"
    )
