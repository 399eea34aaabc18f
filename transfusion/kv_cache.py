"""A preallocated KV cache, written by position, and the one call that runs new tokens through it.

Rows of a batch may hold prompts of different lengths: they are left-padded, so that every row
writes its next tokens to the same slots (static shapes), and the padding is masked out of
attention. Each slot also keeps the mask rule's ids (`mask.allowed`): its document id (0 for a
real token, -1 for padding) and its image id, so that new tokens get exactly the mask that the
full-sequence forward gives them.

New tokens always write their keys and values into the slots after `length`; only `commit`
makes them part of the cache. So a denoising step, which computes the same patch slots again
at every step, simply does not commit, and the clean image that follows overwrites them.
"""

from __future__ import annotations

import torch

from .mask import allowed
from .model import Transfusion


class KVCache:
    def __init__(self, layers: int, rows: int, heads: int, max_len: int, head_dim: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
                 images_bidirectional: bool = True):
        shape = (layers, rows, heads, max_len, head_dim)  # (layers, B, H, S, hs)
        self.max_len = max_len
        self.images_bidirectional = images_bidirectional  # False: patches are causal (config.image_attention)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.doc_ids = torch.full((rows, max_len), -1, dtype=torch.long, device=device)
        self.image_ids = torch.full((rows, max_len), -1, dtype=torch.long, device=device)
        self.next_pos = torch.zeros(rows, dtype=torch.long, device=device)  # each row's next RoPE position
        self.length = 0  # committed slots (the same in every row)

    @classmethod
    def for_model(cls, model: Transfusion, rows: int, max_len: int | None = None) -> "KVCache":
        """An empty cache of `rows` rows for `model` (its context length unless `max_len`)."""
        c, p = model.config, next(model.parameters())
        return cls(c.n_layers, rows, c.n_heads, max_len or c.max_seq_len, c.dim // c.n_heads, p.dtype, p.device,
                   c.images_bidirectional)

    def select(self, rows: list[int]) -> "KVCache":
        """A cache of only these rows (e.g. the conditional row once an image is drawn)."""
        layers, _, heads, max_len, head_dim = self.k.shape
        out = KVCache(layers, len(rows), heads, max_len, head_dim, self.k.dtype, self.k.device, self.images_bidirectional)
        idx = torch.tensor(rows, device=self.k.device)
        for name in ("k", "v", "doc_ids", "image_ids", "next_pos"):
            mine = getattr(self, name)
            getattr(out, name).copy_(mine[:, idx] if mine.dim() == 5 else mine[idx])
        out.length = self.length
        return out

    def positions(self, real: torch.Tensor) -> torch.Tensor:
        """RoPE positions (B, T) of T new tokens; `real` (B, T) is False for left padding,
        which repeats a position (it is masked out anyway)."""
        return (self.next_pos[:, None] + real.long().cumsum(1) - 1).clamp(min=0)

    def mask(self, real: torch.Tensor, image_ids: torch.Tensor) -> torch.Tensor:
        """The attention mask (B, 1, T, S + T) of T new tokens against the cache and each other."""
        B, T = real.shape
        start = self.length
        if start + T > self.max_len:
            raise ValueError(f"the sequence would reach {start + T} tokens, over the model's {self.max_len}")
        doc_all = torch.cat([self.doc_ids[:, :start], torch.where(real, 0, -1)], dim=1)  # (B, S + T)
        img_all = torch.cat([self.image_ids[:, :start], image_ids], dim=1)
        if not self.images_bidirectional:
            img_all = torch.full_like(img_all, -1)
        b = torch.arange(B, device=real.device)[:, None, None]
        q = torch.arange(start, start + T, device=real.device)[None, :, None]
        kv = torch.arange(start + T, device=real.device)[None, None, :]
        return allowed(doc_all, img_all, b, q, kv)[:, None]

    def layer(self, i: int):
        """The hook `Attention` calls: new (k, v) of shape (B, H, T, hs) -> all keys and values,
        the new ones written to the slots after the committed ones."""

        def merge(k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            end = self.length + k.shape[2]
            self.k[i, :, :, self.length:end] = k
            self.v[i, :, :, self.length:end] = v
            return self.k[i, :, :, :end], self.v[i, :, :, :end]

        return merge

    def commit(self, real: torch.Tensor, image_ids: torch.Tensor) -> None:
        """Keep the T tokens just run (their keys and values are in place): their mask ids,
        their positions, and the cache's length."""
        T = real.shape[1]
        self.doc_ids[:, self.length:self.length + T] = torch.where(real, 0, -1)
        self.image_ids[:, self.length:self.length + T] = image_ids
        self.next_pos += real.long().sum(1)
        self.length += T


@torch.no_grad()
def run_tokens(
    model: Transfusion,
    cache: KVCache,
    x: torch.Tensor,  # (B, T, D) embedded new tokens
    real: torch.Tensor,  # (B, T) bool: False for left padding
    image_ids: torch.Tensor,  # (B, T) image id of each new patch, -1 elsewhere
    commit: bool = True,
) -> torch.Tensor:
    """Run T new tokens of every row against the cache; returns their hidden states (B, T, D).
    With `commit=False` the cache keeps only what it held (a denoising step: the same patch
    slots are computed again at the next step)."""
    mask = cache.mask(real, image_ids)
    h = model.backbone(x, cache.positions(real), mask, cache)
    if commit:
        cache.commit(real, image_ids)
    return h
