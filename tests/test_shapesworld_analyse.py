"""The analyser reads renders back exactly, with or without noise, and rejects what is no scene."""

import itertools
import random

import numpy as np
import pytest

from transfusion.shapesworld.analyse import Unreadable, _shape, analyse
from transfusion.shapesworld.render import coverage, render, render_array
from transfusion.shapesworld.world import (
    BACKGROUNDS,
    CELLS,
    COLOURS,
    SHAPES,
    SIZES,
    Obj,
    Scene,
    random_scene,
)

N_RENDERS = 1000


@pytest.fixture(scope="module")
def renders():
    rng = random.Random(1234)
    scenes = [random_scene(rng, allow_held_out=True) for _ in range(N_RENDERS)]
    return scenes, [render_array(s) for s in scenes]


def add_noise(arr: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(np.rint(arr + rng.normal(0.0, sigma, arr.shape)), 0, 255).astype(np.uint8)


def exact_share(scenes, arrays) -> float:
    ok = 0
    for scene, arr in zip(scenes, arrays):
        try:
            ok += analyse(arr) == scene
        except Unreadable:
            pass
    return ok / len(scenes)


def test_reads_1000_clean_renders(renders):
    assert exact_share(*renders) >= 0.995


def test_reads_1000_renders_with_noise_sigma_10(renders):
    scenes, arrays = renders
    rng = np.random.default_rng(99)
    noisy = [add_noise(a, 10.0, rng) for a in arrays]
    assert exact_share(scenes, noisy) >= 0.995


def test_reads_every_single_object_in_every_cell_on_every_background():
    for bg, shape, colour, size, (row, col) in itertools.product(BACKGROUNDS, SHAPES, COLOURS, SIZES, CELLS):
        scene = Scene(bg, (Obj(shape, colour, size, row, col),))
        assert analyse(render(scene)) == scene


def test_empty_canvas_is_a_scene_without_objects():
    assert analyse(np.full((64, 64, 3), 128, np.uint8)) == Scene("gray", ())


def test_accepts_pil_and_numpy_alike():
    scene = random_scene(random.Random(5))
    assert analyse(render(scene)) == analyse(render_array(scene)) == scene


# ---------------------------------------------------------------- strictness


def paint(arr, shape, size, colour, cx, cy):
    """Blend a shape whose box centre is at (cx, cy), anywhere (even off the grid)."""
    a = coverage(shape, size)[:, :, None]
    h = SIZES[size] // 2
    box = arr[cy - h : cy + h, cx - h : cx + h].astype(np.float32)
    arr[cy - h : cy + h, cx - h : cx + h] = np.rint(box * (1 - a) + a * np.array(COLOURS[colour])).astype(np.uint8)
    return arr


def base() -> np.ndarray:
    """A white canvas with one valid object, a small blue circle in the top left corner."""
    return render_array(Scene("white", (Obj("circle", "blue", "small", 0, 0),)))


def test_base_is_readable():
    assert len(analyse(base()).objects) == 1


@pytest.mark.parametrize(
    "spoil, reason",
    [
        (lambda a: a.__setitem__((slice(30, 33), slice(30, 33)), (220, 40, 40)), "stray blob"),
        (lambda a: a.__setitem__((45, 50), (40, 170, 60)), "stray blob"),  # one stray pixel
        (lambda a: a.__setitem__((33, 33), (140, 60, 190)), "stray blob"),  # weakest contrast
        (lambda a: paint(a, "square", "small", "red", 53, 46), "off the grid"),
        (lambda a: paint(a, "square", "large", "red", 26, 32), "off the grid"),
        (lambda a: a.__setitem__((slice(28, 32), slice(28, 32)), (240, 210, 40)), "stray blob"),
        (lambda a: a.__setitem__((slice(26, 38), slice(26, 38)), (128, 255, 0)), "colour outside the palette"),
        (lambda a: a.__setitem__((slice(25, 39), slice(25, 39)), (220, 40, 40)), "neither small nor large"),
        (lambda a: a.__setitem__((slice(31, 33), slice(20, 45)), (220, 40, 40)), "neither small nor large"),
        (lambda a: paint(paint(a, "square", "small", "red", 32, 32), "square", "small", "red", 40, 40), "off the grid"),
        (lambda a: a.__setitem__((slice(0, 64), slice(0, 2)), (0, 0, 0)), "colour outside the palette"),
        (lambda a: a.__setitem__(slice(None), (200, 30, 30)), "background"),
    ],
)
def test_rejects(spoil, reason):
    arr = base()
    spoil(arr)
    with pytest.raises(Unreadable, match=reason):
        analyse(arr)


def test_rejects_mixed_colours():
    arr = render_array(Scene("white", (Obj("square", "red", "large", 1, 1),)))
    arr[32:41, 23:41] = COLOURS["blue"]  # the lower half of the square is blue
    with pytest.raises(Unreadable, match="colour"):
        analyse(arr)


def test_rejects_a_speckled_object():
    arr = render_array(Scene("white", (Obj("square", "red", "large", 1, 1),)))
    arr[24:40:2, 24:40:2] = COLOURS["blue"]  # a fifth of its pixels are blue
    with pytest.raises(Unreadable, match="mixed colours"):
        analyse(arr)


def test_rejects_two_objects_in_one_cell():
    arr = np.full((64, 64, 3), 255, np.uint8)
    arr[24:30, 24:30] = COLOURS["red"]
    arr[34:40, 34:40] = COLOURS["blue"]
    with pytest.raises(Unreadable):
        analyse(arr)


def test_rejects_wrong_canvas():
    with pytest.raises(Unreadable, match="64 x 64"):
        analyse(np.zeros((32, 32, 3), np.uint8))


def test_unreadable_is_a_value_error():
    assert issubclass(Unreadable, ValueError)


def test_a_blob_without_vertical_spread_is_no_shape():
    # rows beyond the background (negative coverage) above and below one covered row: the
    # profile's variance is negative, where a skew would be nan and read as a diamond
    alpha = np.array([[-1.0, -1.0], [3.0, 3.0], [-1.0, -1.0]])
    with pytest.raises(Unreadable, match="no vertical spread"):
        _shape(alpha, 2, "here")
