"""Pictures from users: read safely, or refused with a message that says what to do.

A public demo is sent anything: files that are not images, truncated or corrupt ones,
decompression bombs (a small PNG that decodes to 20000 x 20000 pixels), unusual modes, and
paths it never gave out. `read_picture` is the one way a user's picture gets in:

- the path must lie inside a folder the server hands files from (`ROOTS`);
- the size is read from the header and refused above `MAX_PIXELS` *before* any decoding;
- the first frame of an animation is used; EXIF rotation is applied;
- any mode becomes RGB: transparency is laid over white, 16-bit and 32-bit grey is scaled to
  8 bits (values above 255 are taken as 16-bit), CMYK, palettes and the rest by PIL.

Every refusal is a `ValueError` whose text can be shown as it is.
"""

from __future__ import annotations

import os
import struct
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .files import folder

MAX_PIXELS = 4096 * 4096  # 16.8 megapixels: far above the model's 64 x 64, far below a bomb
MAX_SIDE = 4096 * 4


def _gradio_cache() -> Path:
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


# where the server hands files from: Gradio's cache (uploads, replies) and the app's own images
ROOTS: list = [_gradio_cache, folder]


def inside_roots(path: str | Path) -> bool:
    """Whether `path`, with links and '..' resolved, lies inside one of `ROOTS`."""
    real = Path(os.path.realpath(path))
    for root in ROOTS:
        root = Path(os.path.realpath(root() if callable(root) else root))
        if real == root or root in real.parents:
            return True
    return False


def read_picture(path: str | Path) -> Image.Image:
    """The picture at `path` as RGB, or ValueError saying why it cannot be used."""
    name = Path(path).name
    if not inside_roots(path):
        raise ValueError(f"{name}: this file was not uploaded to this server, so it cannot be read")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:  # reads the header only
                w, h = im.size
                if w * h > MAX_PIXELS or max(w, h) > MAX_SIDE:
                    raise ValueError(f"{name} is {w} × {h} pixels: pictures may have at most "
                                     f"{MAX_PIXELS / 1e6:.1f} million pixels (the model sees 64 × 64)")
                im.seek(0)  # an animation: its first frame
                im.load()
                return to_rgb(ImageOps.exif_transpose(im))
    except FileNotFoundError:
        raise ValueError(f"{name} is no longer on the server: upload it again (or press Clear)") from None
    except UnidentifiedImageError:
        raise ValueError(f"{name} is not a picture: send a PNG, JPEG, GIF, WebP or BMP file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"{name} is too large to open: pictures may have at most "
                         f"{MAX_PIXELS / 1e6:.1f} million pixels") from None
    except (OSError, SyntaxError, EOFError, IndexError, TypeError, struct.error) as e:
        raise ValueError(f"{name} is damaged or truncated and cannot be read ({type(e).__name__})") from None


def to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode -> RGB, transparency over white, deep grey scaled to 8 bits."""
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if a.size and a.max() > 255:
            a = a / 257.0  # 16-bit range -> 8-bit
        return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8)).convert("RGB")  # uint8: mode L
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    try:
        return im.convert("RGB")
    except ValueError:
        raise ValueError(f"pictures in mode {im.mode} are not supported: send an RGB or greyscale picture") from None
