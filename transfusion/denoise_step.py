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


class _SpanWriter:
    """The cache hook of one step: each layer's new (k, v) go to slots [start, start + L)."""

    def __init__(self, k: torch.Tensor, v: torch.Tensor, start: int):
        self.k, self.v, self.start = k, v, start

    def layer(self, i: int):
        def merge(k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            end = self.start + k.shape[2]
            self.k[i, :, :, self.start:end] = k
            self.v[i, :, :, self.start:end] = v
            return self.k[i, :, :, :end], self.v[i, :, :, :end]

        return merge


def _step(model: Transfusion, k: torch.Tensor, v: torch.Tensor, start: int, x: torch.Tensor, t: torch.Tensor,
          positions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The image head's prediction (R, C, h, w) for latents x (R, C, h, w) at timesteps t (R,)."""
    patches, skips = model.patch_in(x, t)  # (R, L, D)
    h = model.backbone(patches, positions, mask, _SpanWriter(k, v, start))
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
        c = self.cache
        return self.fn(self.model, c.k, c.v, c.length, x, t, self.positions, self.mask)
