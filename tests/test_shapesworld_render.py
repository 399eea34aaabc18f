"""The renderer keeps to the contract's geometry, colours and canvas, anti-aliased and deterministic."""

import random

import numpy as np
import pytest
from PIL import Image

from transfusion.shapesworld.render import coverage, render, render_array
from transfusion.shapesworld.world import (
    BACKGROUNDS,
    CELL_CENTRES,
    COLOURS,
    SHAPES,
    SIZES,
    Obj,
    Scene,
    random_scene,
)


def one(shape, colour="red", size="large", row=0, col=0, background="white") -> Scene:
    return Scene(background, (Obj(shape, colour, size, row, col),))


def test_canvas_is_64_by_64_rgb():
    image = render(random_scene(random.Random(0)))
    assert isinstance(image, Image.Image)
    assert image.size == (64, 64) and image.mode == "RGB"


def test_deterministic():
    rng = random.Random(1)
    for scene in (random_scene(rng) for _ in range(50)):
        assert render(scene).tobytes() == render(scene).tobytes()


@pytest.mark.parametrize("background", list(BACKGROUNDS))
def test_background_pixels_exact(background):
    arr = render_array(one("circle", background=background, row=1, col=1))
    assert (arr[0] == BACKGROUNDS[background]).all()
    assert (arr[:, :20] == BACKGROUNDS[background]).all()  # the left third holds nothing


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("row", range(3))
@pytest.mark.parametrize("col", range(3))
def test_square_fills_exactly_its_box(size, row, col):
    """A square of side s centred on cell centre c covers pixels c - s/2 ... c + s/2 - 1, flat."""
    arr = render_array(one("square", "blue", size, row, col))
    s, cx, cy = SIZES[size], CELL_CENTRES[col], CELL_CENTRES[row]
    painted = (arr != 255).any(axis=2)
    ys, xs = np.nonzero(painted)
    assert (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1) == (cy - s // 2, cy + s // 2, cx - s // 2, cx + s // 2)
    assert (arr[painted] == COLOURS["blue"]).all()


@pytest.mark.parametrize("size", list(SIZES))
def test_shape_areas(size):
    side = SIZES[size]
    expect = {"circle": np.pi / 4, "square": 1.0, "triangle": 0.5, "diamond": 0.5}
    for shape in SHAPES:
        fill = coverage(shape, size).sum() / side**2
        assert fill == pytest.approx(expect[shape], abs=0.005), shape


@pytest.mark.parametrize("size", list(SIZES))
def test_shape_geometry(size):
    s = SIZES[size]
    circle, tri, dia = (coverage(k, size) for k in ("circle", "triangle", "diamond"))
    # every shape is symmetric left-right; circle and diamond also top-bottom
    for c in (circle, tri, dia, coverage("square", size)):
        assert np.allclose(c, c[:, ::-1])
    assert np.allclose(circle, circle[::-1]) and np.allclose(dia, dia[::-1])
    # circle: the box's corners are empty, the middles of its edges are covered
    assert circle[0, 0] == 0 and circle[s // 2, 0] > 0.5 and circle[0, s // 2] > 0.5
    # triangle, apex up: the bottom row is (nearly) full, the top row only in the middle
    assert tri[-1, 1:-1].min() == 1.0 and tri[0, 0] == 0 and tri[0, s // 2] > 0
    assert (tri.sum(axis=1)[1:] > tri.sum(axis=1)[:-1]).all()  # wider and wider going down
    # diamond: corners at the middles of the edges, widest across the middle
    assert dia[0, 0] == 0 and dia[-1, -1] == 0 and dia[s // 2, 0] >= 0.5 and dia[0, s // 2] >= 0.5
    widths = dia.sum(axis=1)
    assert widths.argmax() in (s // 2 - 1, s // 2)


def test_edges_are_anti_aliased():
    arr = render_array(one("circle", "red", "large", background="white")).astype(int)
    red = np.array(COLOURS["red"])
    partly = [(y, x) for y in range(64) for x in range(64) if 0 < abs(arr[y, x] - 255).sum() and (arr[y, x] != red).any()]
    assert len(partly) > 20  # mixed pixels along the rim
    for y, x in partly:  # each is a blend of red and white
        t = (255 - arr[y, x, 1]) / (255 - red[1])
        assert np.abs(255 + t * (red - 255) - arr[y, x]).max() <= 1.5


def test_objects_do_not_touch():
    """Large objects in neighbouring cells leave at least a 3-pixel gap (cells are 21-22 px)."""
    scene = Scene("black", tuple(Obj("square", "yellow", "large", r, c) for r, c in [(0, 0), (0, 1), (1, 0)]))
    arr = render_array(scene)
    assert (arr[:, 20:23][:21] == 0).all() and (arr[20:23, :21] == 0).all()
