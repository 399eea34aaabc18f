"""The ShapesWorld renderer: a `Scene` to a 64 x 64 RGB image, anti-aliased and deterministic.

Each shape's coverage mask is computed once by supersampling its bounding box (SUPERSAMPLE^2
samples per pixel, averaged: a box filter) and cached. Because cell centres are integers and
sides are even, every box is pixel-aligned and the same mask serves every cell, so drawing a
scene is only a few alpha blends.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

from .world import BACKGROUNDS, CANVAS, COLOURS, SIZES, Obj, Scene

SUPERSAMPLE = 8  # samples per pixel along each axis


def _excess(shape: str, x: np.ndarray, y: np.ndarray, side: float) -> np.ndarray:
    """How far each sample point (x, y), relative to the box centre, lies outside the shape.

    Negative inside, zero on the edge, positive outside; in pixels, up to a per-shape scale.
    """
    half = side / 2
    if shape == "circle":
        return x * x + y * y - half * half
    if shape == "square":
        return np.maximum(np.abs(x), np.abs(y)) - half
    if shape == "triangle":  # apex at (0, -half), base along y = +half
        return np.maximum(y - half, np.abs(x) - (y + half) / 2)
    if shape == "diamond":  # corners at the middles of the box's edges
        return np.abs(x) + np.abs(y) - half
    raise ValueError(f"unknown shape {shape!r}")


@lru_cache(maxsize=None)
def coverage(shape: str, size: str) -> np.ndarray:
    """Fraction of each pixel of the (side, side) bounding box that the shape covers, float32."""
    side = SIZES[size]
    n = side * SUPERSAMPLE
    # sample points at the centres of the sub-pixels, relative to the box centre
    t = (np.arange(n) + 0.5) / SUPERSAMPLE - side / 2  # (n,)
    e = _excess(shape, t[None, :], t[:, None], side)  # (n, n), rows are y
    # samples exactly on an edge (the diamond's and triangle's edges pass through some) count half
    inside = np.where(e < 0, 1.0, np.where(e == 0, 0.5, 0.0))
    cov = inside.reshape(side, SUPERSAMPLE, side, SUPERSAMPLE).mean(axis=(1, 3))
    cov = cov.astype(np.float32)
    cov.flags.writeable = False
    return cov


def draw(canvas: np.ndarray, obj: Obj) -> None:
    """Blend one object into a float (64, 64, 3) canvas in place."""
    alpha = coverage(obj.shape, obj.size)[:, :, None]  # (s, s, 1)
    x, y = obj.centre
    half = obj.side // 2
    box = canvas[y - half : y + half, x - half : x + half]  # (s, s, 3) view
    box *= 1.0 - alpha
    box += alpha * np.asarray(COLOURS[obj.colour], dtype=np.float32)


def render_array(scene: Scene) -> np.ndarray:
    """The scene as a (64, 64, 3) uint8 array."""
    canvas = np.empty((CANVAS, CANVAS, 3), dtype=np.float32)
    canvas[:] = BACKGROUNDS[scene.background]
    for obj in scene.objects:
        draw(canvas, obj)
    return np.rint(canvas).astype(np.uint8)


def render(scene: Scene) -> Image.Image:
    """The scene as a 64 x 64 RGB PIL image."""
    return Image.fromarray(render_array(scene))  # uint8 (H, W, 3) is RGB
