"""One denoising step of the images being drawn: the mask built once per image, the whole step
compiled where that pays.

At every step `generation.draw_images` runs the patch encoder on the current latents, the
image's patch slots against the prompt's cache, and the patch decoder. The patch slots' mask
and RoPE positions are the same at every step of an image, so `DenoiseStep` makes them once;
their keys and values go to the same slots after the prompt at every step (never committed),
so all the steps of one image have the same shapes. Compiled, the step is compiled for the
first prompt length it meets and, when a second length comes, once more with the length as a
variable (torch.compile's automatic dynamic shapes); never again after that.

`kv_cache.run_tokens` with `commit=False` is the plain path; the tests hold the two equal.
"""

from __future__ import annotations

import torch

from .kv_cache import KVCache
from .model import Transfusion


def _step(model: Transfusion, cache: KVCache, x: torch.Tensor, t: torch.Tensor, positions: torch.Tensor,
          mask: torch.Tensor) -> torch.Tensor:
    """The image head's prediction (R, C, h, w) for latents x (R, C, h, w) at timesteps t (R,).
    The cache's own hook writes the patch slots after its committed ones, as `run_tokens` does."""
    patches, skips = model.patch_in(x, t)  # (R, L, D)
    h = model.backbone(patches, positions, mask, cache)
    return model.patch_out(h, t, skips)


_COMPILED = torch.compile(_step, fullgraph=True)  # one for the process: its compiles are kept


class DenoiseStep:
    """`step(x, t)`: the prediction for the R rows' image patches against `cache` (not committed).
    `real` and `image_ids` (R, L) describe the patch slots, as for `run_tokens`."""

    def __init__(self, model: Transfusion, cache: KVCache, real: torch.Tensor, image_ids: torch.Tensor,
                 compiled: bool = False):
        self.model, self.cache = model, cache
        self.mask = cache.mask(real, image_ids)  # (R, 1, L, S + L), checks the room too
        self.positions = cache.positions(real)
        self.fn = _COMPILED if compiled else _step

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.fn(self.model, self.cache, x, t, self.positions, self.mask)
