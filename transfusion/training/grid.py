"""A sheet of sample images, written as one PNG."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def save_grid(images: list[Image.Image], columns: int, path: str | Path, scale: int = 2) -> None:
    w, h = images[0].size
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (columns * w, rows * h), (255, 255, 255))
    for i, im in enumerate(images):
        sheet.paste(im.convert("RGB").resize((w, h)), ((i % columns) * w, (i // columns) * h))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sheet.resize((sheet.width * scale, sheet.height * scale), Image.Resampling.NEAREST).save(path)
