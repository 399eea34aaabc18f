"""The analyser: read a 64 x 64 image back into a `Scene`, or say why it cannot.

Method (numpy only, about a millisecond an image):
1. Background: the median colour of the one-pixel border (no object ever reaches it), snapped
   to the nearest of the three backgrounds.
2. Foreground: pixels that differ from the background after a 3 x 3 box blur (which averages
   Gaussian noise down by 3x), plus any single pixel that differs strongly (so one stray pixel
   is caught too). Connected components (8-neighbour) of that mask are the candidate objects.
3. Per component: colour = median of its most saturated pixels, snapped to the palette;
   coverage alpha per pixel = projection of (pixel - background) on (colour - background),
   which undoes anti-aliasing; size from the bounding box of alpha > 0.5; cell from the box
   centre; shape from the fill ratio (area / side^2: square 1, circle pi/4, triangle and
   diamond 1/2) and, for the last two, the skewness of the mass along y (a triangle, apex up,
   has its mass low; a diamond is symmetric).
Anything that fits no object of the contract (a blob too small or of the wrong size, off the
grid, of a colour not in the palette or of mixed colours, two objects in one cell) raises
`Unreadable` with the reason: the evaluator counts such an image as wrong.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .world import BACKGROUNDS, CANVAS, CELL_CENTRES, COLOURS, SIZES, Obj, Scene


class Unreadable(ValueError):
    """The image is not a ShapesWorld scene; the message says why."""


_BG_NAMES = tuple(BACKGROUNDS)
_BG_RGB = np.array([BACKGROUNDS[n] for n in _BG_NAMES], dtype=np.float32)  # (3, 3)
_COLOUR_NAMES = tuple(COLOURS)
_COLOUR_RGB = np.array([COLOURS[n] for n in _COLOUR_NAMES], dtype=np.float32)  # (8, 3)

BACKGROUND_TOLERANCE = 40.0  # max RGB distance of the border median from a background colour
COLOUR_TOLERANCE = 45.0  # max RGB distance of an object's colour from its palette colour
BLURRED_THRESHOLD = 30.0  # the closest colour-background pair is 93 apart; blurred noise ~ 5
STRONG_THRESHOLD = 80.0  # a lone pixel this far from the background is never sigma-10 noise
MIN_PIXELS = 40  # smaller components are stray blobs (the smallest object gives 60)
SIZE_TOLERANCE = 3  # px between the measured box side and 10 or 18
GRID_TOLERANCE = 3.0  # px between the measured box centre and a cell centre
SAME_COLOUR_FRACTION = 0.9  # share of an object's pixels that must be of its colour
OFF_LINE_TOLERANCE = 40.0  # RGB distance of a pixel from the background-to-colour line
# shape decision on fill = area / side^2 and the y-skewness of the mass
SQUARE_FILL, CIRCLE_FILL, MIN_FILL, MAX_FILL = 0.9, 0.65, 0.35, 1.2
TRIANGLE_SKEW = -0.28  # a triangle's is -0.57, a diamond's 0


def _box_blur(a: np.ndarray) -> np.ndarray:
    """3 x 3 mean of a (64, 64, C) array; at the edges, the mean of the neighbours that exist."""
    p = np.zeros((CANVAS + 2, CANVAS + 2, a.shape[2]), dtype=a.dtype)
    p[1:-1, 1:-1] = a
    rows = p[:-2] + p[1:-1] + p[2:]  # (H, W + 2, C)
    total = rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]  # (H, W, C)
    return total / _NEIGHBOURS[:, :, None]


_NEIGHBOURS = np.full((CANVAS, CANVAS), 9.0, dtype=np.float32)  # pixels in each 3 x 3 window
_NEIGHBOURS[[0, -1], :] = 6.0
_NEIGHBOURS[:, [0, -1]] = 6.0
_NEIGHBOURS[[0, 0, -1, -1], [0, -1, 0, -1]] = 4.0


def _components(mask: np.ndarray) -> list[list[tuple[int, int, int]]]:
    """8-connected components of a boolean (H, W) mask, each a list of runs (row, start, stop)."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    step = np.diff(padded, axis=1)  # (H, W + 1): +1 where a run starts, -1 one past its end
    rows, starts = np.nonzero(step == 1)
    _, stops = np.nonzero(step == -1)  # row-major order, so starts and stops pair up
    runs = list(zip(rows.tolist(), starts.tolist(), stops.tolist()))
    parent = list(range(len(runs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    prev: list[int] = []  # runs of the row above
    cur: list[int] = []
    for i, (r, s, e) in enumerate(runs):
        if i and r != runs[i - 1][0]:
            prev, cur = (cur if runs[i - 1][0] == r - 1 else []), []
        for j in prev:
            _, s2, e2 = runs[j]
            if s <= e2 and s2 <= e:  # overlapping or touching diagonally
                parent[root(i)] = root(j)
        cur.append(i)
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for i, run in enumerate(runs):
        groups.setdefault(root(i), []).append(run)
    return list(groups.values())


def _nearest(rgb: np.ndarray, table: np.ndarray) -> tuple[int, float]:
    """Index of the table row nearest to `rgb`, and its distance."""
    d2 = ((table - rgb) ** 2).sum(axis=1)
    i = int(np.argmin(d2))
    return i, float(np.sqrt(d2[i]))


def _cell(centre: float, where: str) -> int:
    """The grid row (or column) whose centre is nearest; Unreadable if none is near enough."""
    i = min(range(len(CELL_CENTRES)), key=lambda k: abs(centre - CELL_CENTRES[k]))
    if abs(centre - CELL_CENTRES[i]) > GRID_TOLERANCE:
        raise Unreadable(f"an object is off the grid ({where} centre at {centre:.1f} px)")
    return i


def _window(runs) -> tuple[slice, slice, np.ndarray, np.ndarray]:
    """A component's window (one pixel wider than it, so faint edges count too), its pixels
    in that window, and those pixels grown by one (the support where coverage is summed)."""
    r0, r1 = min(r for r, _, _ in runs), max(r for r, _, _ in runs) + 1
    c0, c1 = min(s for _, s, _ in runs), max(e for _, _, e in runs)
    y0, y1, x0, x1 = max(r0 - 1, 0), min(r1 + 1, CANVAS), max(c0 - 1, 0), min(c1 + 1, CANVAS)
    core = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for r, s, e in runs:
        core[r - y0, s - x0 : e - x0] = True
    support = core.copy()  # dilated by one pixel, 8-neighbour
    support[1:] |= core[:-1]
    support[:-1] |= core[1:]
    support[:, 1:] |= support[:, :-1].copy()
    support[:, :-1] |= support[:, 1:].copy()
    return slice(y0, y1), slice(x0, x1), core, support


def _colour(pixels: np.ndarray, d2: np.ndarray, where: str) -> int:
    """Palette index of a component: the median of its most saturated pixels (n, 3)."""
    k = (9 * len(d2)) // 10
    high = np.partition(d2, k)[k]  # 90th percentile of the squared distance from the background
    strong = pixels[d2 >= 0.75**2 * high]  # the (nearly) fully covered pixels
    median = np.partition(strong, len(strong) // 2, axis=0)[len(strong) // 2]  # (3,) per channel
    ci, distance = _nearest(median, _COLOUR_RGB)
    if distance > COLOUR_TOLERANCE:
        raise Unreadable(f"an object {where} has a colour outside the palette")
    return ci


def _shape(alpha: np.ndarray, side: int, where: str) -> str:
    """Shape from the coverage (h, w) of one object of box side `side`."""
    mass = alpha.sum()
    fill = mass / side**2  # square 1, circle pi/4, triangle and diamond 1/2
    if not MIN_FILL <= fill <= MAX_FILL:
        raise Unreadable(f"a blob {where} fills {fill:.2f} of its box, like no shape")
    if fill > SQUARE_FILL:
        return "square"
    if fill > CIRCLE_FILL:
        return "circle"
    profile = alpha.sum(axis=1)  # (h,) mass per row
    y = np.arange(len(profile)) + 0.5
    mean = (profile * y).sum() / mass
    var = (profile * (y - mean) ** 2).sum() / mass
    if var <= 0:  # negative coverage (pixels beyond the background) outweighs the rows it covers
        raise Unreadable(f"a blob {where} has no vertical spread, like no shape")
    skew = (profile * (y - mean) ** 3).sum() / mass / var**1.5
    return "triangle" if skew < TRIANGLE_SKEW else "diamond"  # apex up: the mass sits low


def _read_object(img: np.ndarray, bg: np.ndarray, dist2: np.ndarray, runs) -> Obj:
    """The object that one connected component (a list of runs) shows."""
    rows, cols, core, support = _window(runs)
    where = f"near x={(cols.start + cols.stop) // 2}, y={(rows.start + rows.stop) // 2}"
    if core.sum() < MIN_PIXELS:
        raise Unreadable(f"stray blob of {core.sum()} pixels {where}")
    win = img[rows, cols]  # (h, w, 3)
    ci = _colour(win[core], dist2[rows, cols][core], where)

    v = _COLOUR_RGB[ci] - bg  # (3,)
    offset = win - bg  # (h, w, 3)
    alpha = np.where(support, (offset @ v) / float(v @ v), 0.0)  # (h, w) coverage; undoes anti-aliasing
    covered = alpha > 0.5
    # an anti-aliased pixel lies on the line from the background to the colour; a pixel of
    # another colour lies off it
    off_line2 = ((offset[covered] - alpha[covered][:, None] * v) ** 2).sum(axis=1)
    if (off_line2 < OFF_LINE_TOLERANCE**2).sum() < SAME_COLOUR_FRACTION * len(off_line2):
        raise Unreadable(f"an object {where} has mixed colours")

    ys, xs = np.flatnonzero(covered.any(axis=1)), np.flatnonzero(covered.any(axis=0))
    if len(ys) == 0:
        raise Unreadable(f"a faint blob {where}")
    top, bottom, left, right = int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1
    height, width = bottom - top, right - left
    size = min(SIZES, key=lambda k: abs(SIZES[k] - max(height, width)))
    side = SIZES[size]
    if abs(height - side) > SIZE_TOLERANCE or abs(width - side) > SIZE_TOLERANCE:
        raise Unreadable(f"a blob of {height} x {width} px {where} is neither small nor large")
    row = _cell(rows.start + (top + bottom) / 2, where + ", vertical")
    col = _cell(cols.start + (left + right) / 2, where + ", horizontal")
    return Obj(shape=_shape(alpha, side, where), colour=_COLOUR_NAMES[ci], size=size, row=row, col=col)


def _background_index(img: np.ndarray) -> int | None:
    """Which of the backgrounds (an index of _BG_NAMES) the median of the canvas's outermost
    pixels is nearest, or None when it is near none of them."""
    border = np.concatenate([img[0], img[-1], img[1:-1, 0], img[1:-1, -1]])  # (252, 3)
    median = np.partition(border, len(border) // 2, axis=0)[len(border) // 2]  # (3,)
    bi, bdist = _nearest(median, _BG_RGB)
    return bi if bdist <= BACKGROUND_TOLERANCE else None


def read_background(image: Image.Image) -> str | None:
    """The background a 64 x 64 picture shows, read as `analyse` reads it, even when its objects
    cannot be read; None when the border is near none of the three."""
    bi = _background_index(np.asarray(image.convert("RGB"), dtype=np.float32))
    return None if bi is None else _BG_NAMES[bi]


def analyse(image: Image.Image | np.ndarray) -> Scene:
    """The scene a 64 x 64 RGB image shows; `Unreadable` (a ValueError) if it shows none."""
    if isinstance(image, Image.Image):
        image = image.convert("RGB")
    img = np.asarray(image, dtype=np.float32)
    if img.shape != (CANVAS, CANVAS, 3):
        raise Unreadable(f"expected a {CANVAS} x {CANVAS} RGB image, got an array of shape {img.shape}")

    bi = _background_index(img)
    if bi is None:
        raise Unreadable("the background is not white, black or gray")
    bg = _BG_RGB[bi]

    offset = img - bg  # (H, W, 3)
    dist2 = (offset**2).sum(axis=2)  # (H, W) squared distances, cheaper than norms
    blurred2 = (_box_blur(offset) ** 2).sum(axis=2)  # (H, W)
    mask = (blurred2 > BLURRED_THRESHOLD**2) | (dist2 > STRONG_THRESHOLD**2)

    objects = [_read_object(img, bg, dist2, runs) for runs in _components(mask)]
    cells = [o.cell for o in objects]
    if len(set(cells)) != len(cells):
        raise Unreadable("two blobs share one cell")
    return Scene(background=_BG_NAMES[bi], objects=tuple(objects))
