"""Input components that say why they refuse a value: templates of Gradio's own (the same
look in the browser, the same API) with their own `preprocess`.

`PictureInput` is a `gr.Image` whose uploads are read by `pictures.read_picture`:
`gr.Image` decodes an upload with PIL itself, before the event's function runs: a file that
is not an image, a truncated one or a decompression bomb fails there, and the user sees a
bare "Error". This template of `gr.Image` (same look in the browser, same API) reads the
upload the app's way instead (size checked before decoding, any mode to RGB) and turns every
refusal into a `gr.Error` with its reason.

`SettingSlider` and `SeedNumber` are `gr.Slider` and `gr.Number` whose out-of-range errors
name the setting ("Denoising steps: Value 0 is less than minimum value 1."), and which refuse
a missing or non-numeric value (possible through the API) instead of failing inside Gradio.
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


def _named(component, payload, parent_preprocess):
    label = component.label or "value"
    if payload is None or isinstance(payload, bool) or not isinstance(payload, (int, float)):
        raise gr.Error(f"{label}: enter a number, got {payload!r:.40}")
    try:
        return parent_preprocess(payload)
    except gr.Error as e:
        raise gr.Error(f"{label}: {e.message}") from None


class SettingSlider(gr.Slider):
    is_template = True

    def preprocess(self, payload):
        return _named(self, payload, super().preprocess)


class SeedNumber(gr.Number):
    is_template = True

    def preprocess(self, payload):
        return _named(self, payload, super().preprocess)
