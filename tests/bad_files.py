"""Files a public demo gets sent: not images, truncated, corrupt, bombs, unusual modes.

Each maker writes one file into a folder and returns its path.
"""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

RED = (220, 30, 30)


def scene() -> Image.Image:
    """A 64 x 64 red disc on white, as ShapesWorld draws one."""
    y, x = np.mgrid[:64, :64]
    a = np.full((64, 64, 3), 255, np.uint8)
    a[(x - 32) ** 2 + (y - 32) ** 2 < 15**2] = RED
    return Image.fromarray(a)


def png_bytes(image: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", **kw)
    return buf.getvalue()


def write(folder: Path, name: str, data: bytes) -> Path:
    path = Path(folder) / name
    path.write_bytes(data)
    return path


def not_an_image(folder) -> Path:
    return write(folder, "notes.png", b"these are notes, not a picture\n" * 10)


def truncated(folder) -> Path:
    data = png_bytes(scene())
    return write(folder, "truncated.png", data[: len(data) // 2])


def corrupt(folder) -> Path:
    data = bytearray(png_bytes(scene()))
    for i in range(60, len(data) - 20, 7):  # scramble the compressed pixels, keep the header
        data[i] ^= 0x5A
    return write(folder, "corrupt.png", bytes(data))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def bomb(folder, side: int = 20000) -> Path:
    """A valid greyscale PNG of side x side pixels (400 megapixels at 20000) that weighs ~400 kB,
    written row by row without ever holding the pixels."""
    z = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + one byte per pixel
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit grey
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    return write(folder, f"bomb-{side}.png", data)


def in_mode(folder, mode: str) -> Path:
    """The scene saved in `mode`: RGBA, LA, P, L, I;16, CMYK (as JPEG) or GIF (animated)."""
    im = scene()
    if mode == "RGBA":
        a = np.asarray(im.convert("RGBA")).copy()
        a[:, :32, 3] = 0  # left half transparent: must come out white
        return write(folder, "rgba.png", png_bytes(Image.fromarray(a, "RGBA")))
    if mode == "LA":
        return write(folder, "la.png", png_bytes(im.convert("LA")))
    if mode == "P":
        return write(folder, "p.png", png_bytes(im.convert("P", palette=Image.Palette.ADAPTIVE)))
    if mode == "L":
        return write(folder, "l.png", png_bytes(im.convert("L")))
    if mode == "I;16":
        a = (np.asarray(im.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
        im16 = Image.fromarray(a)  # a uint16 array: mode I;16
        assert im16.mode == "I;16", im16.mode
        return write(folder, "i16.png", png_bytes(im16))
    if mode == "CMYK":
        buf = io.BytesIO()
        im.convert("CMYK").save(buf, format="JPEG", quality=95)
        return write(folder, "cmyk.jpg", buf.getvalue())
    if mode == "GIF":
        frames = [im, Image.new("RGB", (64, 64), (0, 0, 255))]
        buf = io.BytesIO()
        frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
        return write(folder, "animated.gif", buf.getvalue())
    raise ValueError(mode)


MODES = ("RGBA", "LA", "P", "L", "I;16", "CMYK", "GIF")
