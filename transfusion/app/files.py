"""Pictures handed to Gradio as PNG files, each written once.

Gradio saves a PIL value to its cache by rewriting the file on every update, even when the
content (and so the path) is the same; a streamed chat re-sends every earlier picture with
each token, and a browser reading a file while it is rewritten gets a truncated image
(`ERR_CONTENT_LENGTH_MISMATCH`). A file path is copied into Gradio's cache once and then
reused, so the app hands over paths: `image_file` writes each distinct picture once,
atomically, named by the hash of its PNG bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

from PIL import Image

_folder: Path | None = None


def folder() -> Path:
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="transfusion-app-"))
    return _folder


def image_file(image: Image.Image) -> str:
    """The path of a PNG file holding `image` (written now if no such file exists yet)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = buffer.getvalue()
    path = folder() / f"{hashlib.sha256(data).hexdigest()[:32]}.png"
    if not path.exists():
        fd, staging = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(staging, path)  # readers see the whole file or none
    return str(path)
