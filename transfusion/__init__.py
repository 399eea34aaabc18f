"""Transfusion: one transformer that predicts text tokens and denoises image latents."""

import logging

# diffusers imports bitsandbytes, whose CPU backend warns on import that a 4-bit kernel from the
# hub is missing; this project never uses 4-bit weights or downloads anything.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

from .pipeline import TransfusionPipeline  # noqa: E402

__all__ = ["TransfusionPipeline"]
