"""The app's settings: slider ranges and hints, and UI values -> `generation_config.Settings` kwargs.

Browsers send numbers as floats and empty fields as None; this module turns them into the
pipeline's keyword settings, or raises `ValueError` with a message fit to show the user.
The ranges of the sliders sit inside the ranges that `Settings` accepts; their starting values
are the loaded checkpoint's defaults (`controls_for(pipe.defaults)`).
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from ..diffusion import SAMPLERS
from ..generation_config import FIELDS, Settings

DEFAULTS = Settings()
MAX_SEED = 2**32 - 1  # seeds travel through JavaScript numbers: keep them well inside 2**53
DEFAULT_SAMPLER = "default"


@dataclass(frozen=True)
class Control:
    """A slider: its label, range, step, default value and a one-line hint."""

    label: str
    minimum: float
    maximum: float
    step: float
    value: float
    info: str


CONTROLS: dict[str, Control] = {
    "steps": Control("Denoising steps", 1, 100, 1, DEFAULTS.steps,
                     "More steps: a cleaner image, drawn more slowly."),
    "guidance": Control("Text guidance", 0, 10, 0.1, DEFAULTS.guidance,
                        "How strongly the picture follows the words (classifier-free guidance)."),
    "image_guidance": Control("Image guidance", 0, 5, 0.1, DEFAULTS.image_guidance,
                              "For edits: how closely the result keeps to the input image."),
    "temperature": Control("Temperature", 0, 2, 0.05, DEFAULTS.temperature,
                           "0 always takes the likeliest word; higher gives more varied words."),
    "top_p": Control("Top-p", 0.05, 1, 0.05, DEFAULTS.top_p,
                     "Sample only among the likeliest words that together hold this probability."),
    "max_new_tokens": Control("Longest reply (tokens)", 8, 512, 1, DEFAULTS.max_new_tokens,
                              "An image counts as one token."),
}
INTEGERS = ("steps", "max_new_tokens")


def controls_for(defaults: Settings) -> dict[str, Control]:
    """The sliders, each starting at the checkpoint's default (kept inside the slider's range)."""
    return {name: dataclasses.replace(c, value=min(max(getattr(defaults, name), c.minimum), c.maximum))
            for name, c in CONTROLS.items()}


def samplers_for(objective: str) -> list[str]:
    """The sampler names a model trained with `objective` accepts, "default" first."""
    return [DEFAULT_SAMPLER, *SAMPLERS[objective]]


def to_settings(**values) -> dict:
    """UI values (any of the `Settings` fields) -> keyword settings for the pipeline.
    The sampler "default" is left out, so that the checkpoint's own default applies.
    Raises ValueError naming the setting and its valid range."""
    unknown = set(values) - FIELDS
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    out = {}
    for name, value in values.items():
        label = CONTROLS[name].label if name in CONTROLS else name
        if name == "sampler":
            if value not in (None, "", DEFAULT_SAMPLER):
                out[name] = value
            continue
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{label}: enter a number")
        if name in INTEGERS:
            if value != int(value):
                raise ValueError(f"{label}: must be a whole number, got {value}")
            value = int(value)
        else:
            value = float(value)
        out[name] = value
    try:
        Settings(**out)
    except ValueError as e:
        raise ValueError(f"Invalid setting: {e}") from None
    return out


def resolve_seed(seed, randomize: bool, rng: random.Random | None = None) -> int:
    """The seed to use: a fresh one when `randomize`, else `seed` checked (0 to MAX_SEED)."""
    if randomize:
        return (rng or random).randint(0, MAX_SEED)
    if seed is None or isinstance(seed, bool) or not isinstance(seed, (int, float)):
        raise ValueError("Seed: enter a whole number, or tick “randomize”")
    if seed != int(seed) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"Seed: must be a whole number from 0 to {MAX_SEED}, got {seed}")
    return int(seed)
