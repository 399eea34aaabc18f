"""The editor tab: an editing session, the versions of one picture and how they came about.

Every edit adds a version (its image, instruction, seed and the version it was made from),
so the history strip can return to any of them. The session finds the version that the
input image shows by its pixels (images reach the browser and come back as lossless PNGs),
so whatever put the picture in the input box (an upload, an example, "keep editing", a click
on the history strip) the session knows where it stands; a picture it has never seen starts
a new session. A session keeps at most `MAX_VERSIONS` versions (each is held in the server's
memory until the browser goes away).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

MAX_VERSIONS = 100


@dataclass
class Version:
    image: Image.Image
    instruction: str | None = None  # None: the original
    seed: int | None = None
    parent: int | None = None  # the version this one was edited from

    @property
    def caption(self) -> str:
        return "original" if self.instruction is None else f"{self.instruction} (seed {self.seed})"


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and np.array_equal(np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB")))


@dataclass
class EditSession:
    versions: list[Version] = field(default_factory=list)

    def locate(self, image: Image.Image) -> int:
        """The index of the version that `image` shows (the newest, if several do); an image
        that no version shows becomes the original of a new session."""
        if not isinstance(image, Image.Image):
            raise ValueError("upload an image to edit, or pick an example")
        for k in range(len(self.versions) - 1, -1, -1):
            if same_pixels(self.versions[k].image, image):
                return k
        self.versions = [Version(image.convert("RGB"))]
        return 0

    def room_for(self, image: Image.Image) -> bool:
        """Whether an edit of `image` can be recorded (a picture new to the session starts afresh)."""
        return len(self.versions) < MAX_VERSIONS or not any(same_pixels(v.image, image) for v in self.versions)

    def add(self, image: Image.Image, instruction: str, seed: int, parent: int) -> int:
        """Record an edit of version `parent`; returns the new version's index."""
        self.versions.append(Version(image, instruction, seed, parent))
        return len(self.versions) - 1

    def back(self, image: Image.Image) -> Image.Image:
        """The version that the input was edited from (the original stays where it is)."""
        k = self.locate(image)
        parent = self.versions[k].parent
        return self.versions[k if parent is None else parent].image

    def gallery(self) -> list[tuple[Image.Image, str]]:
        """The history strip: every version with its caption, oldest first."""
        return [(v.image, f"{k}: {v.caption}") for k, v in enumerate(self.versions)]
