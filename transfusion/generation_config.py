"""Sampling settings, and a checkpoint's own defaults for them in `generation_config.json`.

`Settings` holds what a user may set for one call (denoising steps, guidance, sampler, text
sampling). Its field defaults are the library's. A checkpoint folder may carry a
`generation_config.json` beside `config.json` with the fields its model samples best with; those
become the defaults of every call on that checkpoint (pipeline, evaluator, app sliders), and a
keyword setting still overrides them. As in Hugging Face's own `generation_config.json`, only
the fields that differ from the library's defaults are written.

    {"steps": 10}      # this model draws as well in 10 Euler steps as in 25
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

GENERATION_CONFIG = "generation_config.json"


@dataclass(frozen=True)
class Settings:
    """What a user may set for one call; a checkpoint's defaults are the ones the evaluator measures."""

    steps: int = 25  # denoising steps
    guidance: float = 3.0  # text guidance scale (s_txt)
    image_guidance: float = 1.5  # image guidance scale for edits (s_img)
    sampler: str | None = None  # None: the objective's default (see diffusion.SAMPLERS)
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    max_new_tokens: int = 128
    code_temperature: float = 1.0  # the discrete (Chameleon) arm's image codes: their sampling temperature

    def __post_init__(self) -> None:
        checks = [
            (isinstance(self.steps, int) and 1 <= self.steps <= 1000, "steps must be an integer from 1 to 1000"),
            (_finite(self.guidance) and 0 <= self.guidance <= 50, "guidance must be a number from 0 to 50"),
            (_finite(self.image_guidance) and 0 <= self.image_guidance <= 50, "image_guidance must be a number from 0 to 50"),
            (self.sampler is None or isinstance(self.sampler, str), "sampler must be a sampler's name or None"),
            (_finite(self.temperature) and 0 <= self.temperature <= 5, "temperature must be a number from 0 to 5"),
            (_finite(self.top_p) and 0 < self.top_p <= 1, "top_p must be in (0, 1]"),
            (isinstance(self.max_new_tokens, int) and 1 <= self.max_new_tokens <= 4096, "max_new_tokens must be an integer from 1 to 4096"),
            (_finite(self.code_temperature) and 0 < self.code_temperature <= 5, "code_temperature must be a number in (0, 5]"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def with_overrides(self, **overrides) -> "Settings":
        """These settings with some fields replaced (checked like any others)."""
        unknown = set(overrides) - FIELDS
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}; known: {', '.join(sorted(FIELDS))}")
        return dataclasses.replace(self, **overrides)


FIELDS = frozenset(f.name for f in dataclasses.fields(Settings))


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x and abs(x) != float("inf")


def load_generation_config(folder: str | Path) -> Settings:
    """The checkpoint's defaults: the library's, with those of its `generation_config.json` if it has one."""
    path = Path(folder) / GENERATION_CONFIG
    if not path.exists():
        return Settings()
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of settings, got {type(data).__name__}")
    unknown = set(data) - FIELDS
    if unknown:
        raise ValueError(f"{path}: unknown settings {sorted(unknown)}; known: {sorted(FIELDS)}")
    try:
        return Settings(**data)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def save_generation_config(settings: Settings, folder: str | Path) -> None:
    """Write the fields that differ from the library's defaults; with none, remove the file."""
    path = Path(folder) / GENERATION_CONFIG
    changed = {k: v for k, v in dataclasses.asdict(settings).items() if v != getattr(Settings(), k)}
    if changed:
        path.write_text(json.dumps(changed, indent=2) + "\n")
    elif path.exists():
        path.unlink()
