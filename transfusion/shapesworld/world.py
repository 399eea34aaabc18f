"""ShapesWorld: the constants of the data contract and the scene it describes.

Everything here follows the contract in `docs/shapesworld.md` exactly: a 64 x 64 canvas,
three backgrounds, four shapes in two sizes and eight colours, placed one per cell of a
3 x 3 grid.
A `Scene` is the ground truth that the renderer draws, the captions describe and the
analyser reads back; two scenes are equal exactly when they would render the same image.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

CANVAS = 64  # pixels, square

BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "gray": (128, 128, 128),
}

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (240, 210, 40),
    "green": (40, 170, 60),
    "cyan": (40, 200, 210),
    "blue": (40, 90, 220),
    "purple": (140, 60, 190),
    "pink": (240, 120, 180),
}

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond")

SIZES: dict[str, int] = {"small": 10, "large": 18}  # side of the bounding box in pixels

# Cell centres on both axes, in continuous pixel coordinates: an object of side s centred on c
# covers [c - s/2, c + s/2), so with integer centres and even sides every box is pixel-aligned.
CELL_CENTRES: tuple[int, ...] = (11, 32, 53)

POSITIONS: dict[tuple[int, int], str] = {  # (row, column) -> phrase
    (0, 0): "in the top left corner",
    (0, 1): "at the top",
    (0, 2): "in the top right corner",
    (1, 0): "on the left",
    (1, 1): "in the center",
    (1, 2): "on the right",
    (2, 0): "in the bottom left corner",
    (2, 1): "at the bottom",
    (2, 2): "in the bottom right corner",
}
CELLS: tuple[tuple[int, int], ...] = tuple(POSITIONS)  # reading order
CELL_OF_POSITION: dict[str, tuple[int, int]] = {phrase: cell for cell, phrase in POSITIONS.items()}  # the reverse

# Colour-shape pairs that never appear in training data (they measure composition).
HELD_OUT_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {("purple", "triangle"), ("orange", "circle"), ("cyan", "square"), ("pink", "diamond")}
)
# Every other pair: what training scenes are drawn from.
TRAINING_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (c, s) for c in COLOURS for s in SHAPES if (c, s) not in HELD_OUT_PAIRS
)

MAX_OBJECTS = 3


@dataclass(frozen=True)
class Obj:
    """One object: a shape of one colour and size, centred in the cell (row, col)."""

    shape: str
    colour: str
    size: str
    row: int
    col: int

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}; expected one of {SHAPES}")
        if self.colour not in COLOURS:
            raise ValueError(f"unknown colour {self.colour!r}; expected one of {tuple(COLOURS)}")
        if self.size not in SIZES:
            raise ValueError(f"unknown size {self.size!r}; expected one of {tuple(SIZES)}")
        if self.row not in (0, 1, 2) or self.col not in (0, 1, 2):
            raise ValueError(f"cell ({self.row}, {self.col}) is off the 3 x 3 grid")

    @property
    def cell(self) -> tuple[int, int]:
        return (self.row, self.col)

    @property
    def position(self) -> str:
        """The contract's position phrase, e.g. 'in the top left corner'."""
        return POSITIONS[self.cell]

    @property
    def pair(self) -> tuple[str, str]:
        """(colour, shape): how captions and instructions name the object."""
        return (self.colour, self.shape)

    @property
    def side(self) -> int:
        return SIZES[self.size]

    @property
    def centre(self) -> tuple[int, int]:
        """(x, y) of the centre in pixels."""
        return (CELL_CENTRES[self.col], CELL_CENTRES[self.row])


@dataclass(frozen=True)
class Scene:
    """A background and objects in distinct cells, always stored in reading order.

    The objects are sorted on construction (their order carries no meaning), so equal scenes
    compare equal. Zero objects are allowed here because the analyser may read an empty canvas;
    the sampler, captions and edits keep to the contract's 1 to 3.
    """

    background: str
    objects: tuple[Obj, ...]

    def __post_init__(self) -> None:
        if self.background not in BACKGROUNDS:
            raise ValueError(
                f"unknown background {self.background!r}; expected one of {tuple(BACKGROUNDS)}"
            )
        if not all(isinstance(o, Obj) for o in self.objects):
            raise TypeError("Scene.objects must hold Obj instances")
        objects = tuple(sorted(self.objects, key=lambda o: o.cell))
        cells = [o.cell for o in objects]
        if len(set(cells)) != len(cells):
            raise ValueError(f"two objects share a cell: {cells}")
        object.__setattr__(self, "objects", objects)

    def at(self, row: int, col: int) -> Obj | None:
        """The object in cell (row, col), or None when the cell is empty."""
        for o in self.objects:
            if o.cell == (row, col):
                return o
        return None

    def empty_cells(self) -> list[tuple[int, int]]:
        taken = {o.cell for o in self.objects}
        return [c for c in CELLS if c not in taken]

    def find(self, colour: str, shape: str) -> list[Obj]:
        """All objects of this colour and shape."""
        return [o for o in self.objects if o.pair == (colour, shape)]

    def unique_objects(self) -> list[Obj]:
        """Objects that their colour and shape alone name unambiguously."""
        return [o for o in self.objects if len(self.find(o.colour, o.shape)) == 1]

    @property
    def has_held_out(self) -> bool:
        return any(o.pair in HELD_OUT_PAIRS for o in self.objects)


def random_object(rng: random.Random, row: int, col: int, allow_held_out: bool = False) -> Obj:
    """A uniformly drawn object in cell (row, col)."""
    if allow_held_out:
        colour, shape = rng.choice(list(COLOURS)), rng.choice(SHAPES)
    else:
        colour, shape = rng.choice(TRAINING_PAIRS)
    return Obj(shape=shape, colour=colour, size=rng.choice(tuple(SIZES)), row=row, col=col)


def random_scene(
    rng: random.Random, n_objects: int | None = None, allow_held_out: bool = False
) -> Scene:
    """A scene drawn uniformly: background, 1-3 objects (or `n_objects`) in distinct cells.

    With `allow_held_out=False` (training data) no object is a held-out colour-shape pair.
    """
    if n_objects is None:
        n_objects = rng.randint(1, MAX_OBJECTS)
    if not 1 <= n_objects <= MAX_OBJECTS:
        raise ValueError(f"n_objects must be 1 to {MAX_OBJECTS}, got {n_objects}")
    cells = rng.sample(CELLS, n_objects)
    objects = tuple(random_object(rng, r, c, allow_held_out) for r, c in cells)
    return Scene(background=rng.choice(tuple(BACKGROUNDS)), objects=objects)
