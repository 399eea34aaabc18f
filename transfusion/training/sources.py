"""Where training examples come from: ShapesWorld, or a user's folder of image-caption pairs.

A source is a pure function of an index (`document(i)`, `image(i)`), so a run can resume at an
exact data position and each of several processes can take its own share of the indices.

A folder source reads `<folder>/captions.jsonl`, one `{"image": "<file>", "caption": "<text>"}`
per line, image paths relative to the folder.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image

from ..shapesworld import DEFAULT_MIXTURE, check_mixture, random_scene, render
from ..shapesworld import document as shapes_document

DESCRIBE = ("describe this image", "what is in this picture?", "caption this image")


class ShapesWorldSource:
    """The endless, seeded ShapesWorld stream (`transfusion.shapesworld`). `mixture` changes the
    weights of some tasks (e.g. {"edit": 0.4}); the others keep `DEFAULT_MIXTURE`'s."""

    def __init__(self, seed: int = 0, mixture: dict[str, float] | None = None):
        if mixture is not None:
            mixture = {**DEFAULT_MIXTURE, **mixture}  # the default order: the same draw for the same weights
            check_mixture(mixture)
        self.seed, self.mixture = seed, mixture

    def document(self, index: int) -> list[dict]:
        return shapes_document(index, seed=self.seed, mixture=self.mixture)

    def image(self, index: int) -> Image.Image:
        return render(random_scene(random.Random(f"vae:{self.seed}:{index}")))


class FolderSource:
    """Image-caption pairs from a folder: caption -> image, and image -> caption, documents."""

    def __init__(self, folder: str | Path, seed: int = 0, caption_to_image: float = 0.7):
        self.folder = Path(folder)
        index_file = self.folder / "captions.jsonl"
        if not index_file.exists():
            raise FileNotFoundError(f"{index_file} not found: a folder source needs captions.jsonl "
                                    '(one {"image": "<file>", "caption": "<text>"} per line)')
        self.pairs = []
        for n, line in enumerate(index_file.read_text().splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not {"image", "caption"} <= row.keys():
                raise ValueError(f"{index_file}:{n}: each line needs 'image' and 'caption'")
            path = (self.folder / row["image"]).resolve()
            if self.folder.resolve() not in path.parents:
                raise ValueError(f"{index_file}:{n}: {row['image']!r} points outside {self.folder}")
            self.pairs.append((path, row["caption"]))
        if not self.pairs:
            raise ValueError(f"{index_file} lists no pairs")
        self.seed, self.caption_to_image = seed, caption_to_image

    def _pair(self, index: int) -> tuple[Image.Image, str, random.Random]:
        epoch, i = divmod(index, len(self.pairs))
        order = list(range(len(self.pairs)))
        random.Random(f"{self.seed}:{epoch}").shuffle(order)  # a fresh order every epoch
        path, caption = self.pairs[order[i]]
        with Image.open(path) as im:
            image = im.convert("RGB")
        return image, caption, random.Random(f"{self.seed}:doc:{index}")

    def document(self, index: int) -> list[dict]:
        image, caption, rng = self._pair(index)
        if rng.random() < self.caption_to_image:
            return [{"role": "user", "content": [caption]}, {"role": "assistant", "content": [image]}]
        return [{"role": "user", "content": [image, rng.choice(DESCRIBE)]}, {"role": "assistant", "content": [caption]}]

    def image(self, index: int) -> Image.Image:
        return self._pair(index)[0]


def make_source(data: str, seed: int, mixture: dict[str, float] | None = None):
    """'shapesworld' (with `mixture`'s task weights, if given) or a folder path."""
    if data == "shapesworld":
        return ShapesWorldSource(seed, mixture)
    if mixture is not None:
        raise ValueError("a task mixture applies to ShapesWorld only, not to a folder of image-caption pairs")
    return FolderSource(data, seed)
