"""`PictureInput`: a `gr.Image` whose uploads are read by `pictures.read_picture`.

`gr.Image` decodes an upload with PIL itself, before the event's function runs: a file that
is not an image, a truncated one or a decompression bomb fails there, and the user sees a
bare "Error". This template of `gr.Image` (same look in the browser, same API) reads the
upload the app's way instead (size checked before decoding, any mode to RGB) and turns every
refusal into a `gr.Error` with its reason.
"""

from __future__ import annotations

import gradio as gr
from PIL import Image

from .pictures import read_picture


class PictureInput(gr.Image):
    """Use as `gr.Image` (no `__init__` of its own: Gradio reads the constructor's signature
    to describe the component to the browser); the function gets an RGB PIL image or None."""

    is_template = True  # Gradio: drawn by the frontend of its base class, gr.Image

    def preprocess(self, payload) -> Image.Image | None:
        if payload is None:
            return None
        if payload.path is None:  # e.g. a data: URL: the app's pages always upload files
            raise gr.Error("The picture did not arrive as a file: upload it again.")
        try:
            return read_picture(payload.path)
        except ValueError as e:
            raise gr.Error(str(e)) from None
