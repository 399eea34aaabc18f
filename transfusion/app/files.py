"""Pictures handed to Gradio as PNG files, each written once.

Gradio saves a PIL value to its cache by rewriting the file on every update, even when the
content (and so the path) is the same; a streamed chat re-sends every earlier picture with
each token, and a browser reading a file while it is rewritten gets a truncated image
(`ERR_CONTENT_LENGTH_MISMATCH`). A file path is copied into Gradio's cache once and then
reused, so the app hands over paths: `image_file` writes each distinct picture once,
atomically, named by the hash of its PNG bytes. A server that runs for weeks would fill its
disk with them, so every `SWEEP_EVERY` writes the files older than `MAX_AGE` are deleted (by
then Gradio holds its own copies; its cache is cleaned by `delete_cache` in demo.py).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
from pathlib import Path

from PIL import Image

_folder: Path | None = None
_writes = 0
SWEEP_EVERY = 256
MAX_AGE = 24 * 3600.0  # seconds


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
        _count_write()
    return str(path)


def _count_write() -> None:
    global _writes
    _writes += 1
    if _writes % SWEEP_EVERY == 0:
        sweep()


def sweep(max_age: float = MAX_AGE) -> int:
    """Delete this folder's pictures older than `max_age` seconds; returns how many went."""
    cutoff, gone = time.time() - max_age, 0
    for f in folder().glob("*.png"):
        try:
            if f.stat().st_mtime < cutoff:
                f.unlink()
                gone += 1
        except FileNotFoundError:  # another thread swept it first
            pass
    return gone
