"""Grading a drawing by retrieval: a picture *is* the catalogue entry nearest to it.

Model-free, so any folder gets an evaluator: each picture is low-passed (a Gaussian of
`SMOOTH` pixels), shrunk to `SIZE` x `SIZE` RGB (box filter) and compared by squared L2
distance. The low pass comes first because without it a blurred "person golfing: dark skin
tone" sat nearer the medium-dark one than its own sharp original (4 of 3,786 emoji failed the
self-check at 16 px, 6 at 24 and 32 px; none with it). Pictures that are pixel-identical in the folder (the emoji
set has a few: the flags of France, St. Martin and Clipperton) cannot be told apart by anyone,
so retrieving any of them counts as retrieving each (`same`). `self_check` is the validation:
every catalogue picture must retrieve itself, clean and blurred.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image, ImageFilter

from .format import Entry
from .source import load_picture

SIZE = 16  # pixels a side that pictures are compared at
SMOOTH = 1.0  # the Gaussian low pass before shrinking, in pixels of the original
BLUR_RADIUS = 1.0  # the blur of the self-check (Gaussian, in pixels of the original)


def vector(image: Image.Image) -> torch.Tensor:
    """(3 * SIZE * SIZE,) floats in [0, 1]: the picture as retrieval sees it."""
    smooth = image.convert("RGB").filter(ImageFilter.GaussianBlur(SMOOTH))
    small = smooth.resize((SIZE, SIZE), Image.Resampling.BOX)
    return torch.frombuffer(bytearray(small.tobytes()), dtype=torch.uint8).float() / 255


class Catalogue:
    """The entries of a folder, ready to be searched."""

    def __init__(self, entries: Sequence[Entry]):
        if not entries:
            raise ValueError("a catalogue needs at least one entry")
        self.entries = tuple(entries)
        pictures = [load_picture(e.image) for e in self.entries]
        self.vectors = torch.stack([vector(p) for p in pictures])  # (N, 3 * SIZE * SIZE)
        keys = [p.tobytes() + repr(p.size).encode() for p in pictures]
        groups: dict[bytes, list[int]] = {}
        for i, key in enumerate(keys):
            groups.setdefault(key, []).append(i)
        self.same = [frozenset(groups[key]) for key in keys]
        self.index = {e.image: i for i, e in enumerate(self.entries)}

    def nearest(self, image: Image.Image) -> int:
        """The index of the entry nearest to `image`."""
        d = ((self.vectors - vector(image)) ** 2).sum(dim=1)  # (N,)
        return int(d.argmin())

    def nearest_reference(self, image: Image.Image) -> int:
        """The same search written plainly, one entry at a time (the reference `nearest` is tested against)."""
        v = vector(image)
        best, best_d = 0, float("inf")
        for i, row in enumerate(self.vectors):
            d = float(((row - v) ** 2).sum())
            if d < best_d:
                best, best_d = i, d
        return best

    def retrieves(self, image: object, expected: int) -> bool:
        """Whether `image` is a picture that retrieves the expected entry (or one identical to it)."""
        return isinstance(image, Image.Image) and self.nearest(image) in self.same[expected]

    def self_check(self) -> list[str]:
        """The entries that do not retrieve themselves, clean or blurred (empty when retrieval is sound)."""
        failures = []
        for i, e in enumerate(self.entries):
            picture = load_picture(e.image)
            if not self.retrieves(picture, i):
                failures.append(f"{e.caption!r} (clean)")
            if not self.retrieves(picture.filter(ImageFilter.GaussianBlur(BLUR_RADIUS)), i):
                failures.append(f"{e.caption!r} (blurred)")
        return failures
