"""Scoring rules: how a model's image or text is judged against the expected answer.

- An image is read with the analyser; an image it cannot read (or anything that is not an
  image) counts as wrong on every measure. It never stops the run.
- Exact scene: the analysed scene equals the expected one (background and every object's
  shape, colour, size and cell; no missing or extra object).
- Attributes: objects are matched by cell. For each expected object, `position` is right when
  the image has an object in that cell, and `shape`, `colour`, `size` are right when that object
  has the expected value (an empty cell makes all four wrong). `background` and `count` are
  judged once per image. Each attribute's accuracy pools all expected objects (or images).
- Text: compared after `normalise` (lower case, single spaces, no final full stop).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..shapesworld.analyse import Unreadable, analyse
from ..shapesworld.render import render
from ..shapesworld.world import Scene

ATTRIBUTES: tuple[str, ...] = ("background", "count", "shape", "colour", "size", "position")


@dataclass
class Tally:
    """Correct answers out of a total."""

    correct: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.correct += int(ok)
        self.total += 1

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """The Wilson score interval of the accuracy (95 % by default): honest at 0 % and 100 %
        and with few cases, where the normal approximation is not."""
        if not self.total:
            return (0.0, 1.0)
        n, p = self.total, self.accuracy
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return (max(0.0, centre - half), min(1.0, centre + half))

    def as_dict(self) -> dict:
        low, high = self.interval()
        return {"correct": self.correct, "total": self.total, "accuracy": self.accuracy, "low": low, "high": high}


def read(image: object) -> Scene | None:
    """The scene an image shows, or None when it is no readable ShapesWorld image."""
    if not isinstance(image, Image.Image):
        return None
    try:
        return analyse(image)
    except Unreadable:
        return None


def pixel_error(image: object, scene: Scene) -> float:
    """Mean squared difference, per pixel and channel in [0, 1], between `image` and the render
    of the scene it was asked for: a graded image score (lower is better) that also counts
    drawings the analyser cannot read, in the role FID plays in the paper. Not an image: 1.0,
    the largest it can be."""
    if not isinstance(image, Image.Image):
        return 1.0
    want = render(scene)
    got = image.convert("RGB").resize(want.size, Image.BILINEAR)  # (a copy when the size is the render's)
    a, b = (np.asarray(x, dtype=np.float64) / 255.0 for x in (got, want))
    return float(((a - b) ** 2).mean())


def normalise(text: object) -> str:
    """Lower case, single spaces, no final full stop; '' for anything that is not a string."""
    if not isinstance(text, str):
        return ""
    return " ".join(text.lower().split()).removesuffix(".").rstrip()


def text_matches(got: object, expected: str) -> bool:
    return normalise(got) == normalise(expected)


def scene_matches(image: object, expected: Scene) -> bool:
    """Whether the image shows exactly the expected scene."""
    return read(image) == expected


def score_attributes(got: Scene | None, expected: Scene, tallies: dict[str, Tally]) -> None:
    """Add one image's per-attribute results to `tallies` (keys: ATTRIBUTES)."""
    tallies["background"].add(got is not None and got.background == expected.background)
    tallies["count"].add(got is not None and len(got.objects) == len(expected.objects))
    for want in expected.objects:
        have = got.at(*want.cell) if got is not None else None
        tallies["position"].add(have is not None)
        tallies["shape"].add(have is not None and have.shape == want.shape)
        tallies["colour"].add(have is not None and have.colour == want.colour)
        tallies["size"].add(have is not None and have.size == want.size)


def last_image(parts: object) -> Image.Image | None:
    """The last image among a chat reply's parts, or None if it holds none."""
    if isinstance(parts, Image.Image):
        return parts
    if not isinstance(parts, (list, tuple)):
        return None
    found = [p for p in parts if isinstance(p, Image.Image)]
    return found[-1] if found else None
