"""A preallocated KV cache, written by position, and the one call that runs new tokens through it.

Rows of a batch may hold prompts of different lengths: they are left-padded, so that every row
writes its next tokens to the same slots (static shapes), and the padding is masked out of
attention. Each slot also keeps the mask rule's ids (`mask.allowed`): its document id (0 for a
real token, -1 for padding) and its image id, so that new tokens get exactly the mask that the
full-sequence forward gives them. `next_pos` is each row's next RoPE position.
"""

from __future__ import annotations

import torch

from .mask import allowed
from .model import Transfusion


class KVCache:
    def __init__(self, model: Transfusion, rows: int, max_len: int | None = None):
        c = model.config
        self.max_len = max_len or c.max_seq_len
        p = next(model.parameters())
        shape = (c.n_layers, rows, c.n_heads, self.max_len, c.dim // c.n_heads)  # (layers, B, H, S, hs)
        self.k = torch.zeros(shape, dtype=p.dtype, device=p.device)
        self.v = torch.zeros(shape, dtype=p.dtype, device=p.device)
        self.doc_ids = torch.full((rows, self.max_len), -1, dtype=torch.long, device=p.device)
        self.image_ids = torch.full((rows, self.max_len), -1, dtype=torch.long, device=p.device)
        self.next_pos = torch.zeros(rows, dtype=torch.long, device=p.device)
        self.length = 0  # slots in use (the same in every row)
        self._write = True
        self._new = 0

    @property
    def rows(self) -> int:
        return self.k.shape[1]

    def select(self, rows: list[int]) -> "KVCache":
        """A cache of only these rows (e.g. the conditional row once an image is drawn)."""
        out = object.__new__(KVCache)
        idx = torch.tensor(rows, device=self.k.device)
        out.max_len, out.length, out._write, out._new = self.max_len, self.length, True, 0
        out.k, out.v = self.k[:, idx].clone(), self.v[:, idx].clone()
        out.doc_ids, out.image_ids = self.doc_ids[idx].clone(), self.image_ids[idx].clone()
        out.next_pos = self.next_pos[idx].clone()
        return out

    def layer(self, i: int):
        """The hook `Attention` calls: new (k, v) of shape (B, H, T, hs) -> all keys and values."""

        def merge(k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            start, T = self.length, k.shape[2]
            if self._write:
                self.k[i, :, :, start:start + T] = k
                self.v[i, :, :, start:start + T] = v
                return self.k[i, :, :, :start + T], self.v[i, :, :, :start + T]
            return torch.cat([self.k[i, :, :, :start], k], dim=2), torch.cat([self.v[i, :, :, :start], v], dim=2)

        return merge


@torch.no_grad()
def run_tokens(
    model: Transfusion,
    cache: KVCache,
    x: torch.Tensor,  # (B, T, D) embedded new tokens
    real: torch.Tensor,  # (B, T) bool: False for left padding
    image_ids: torch.Tensor,  # (B, T) image id of each new patch, -1 elsewhere
    write: bool = True,
) -> torch.Tensor:
    """Run T new tokens of every row against the cache; returns their hidden states (B, T, D).
    With `write=False` the cache is left as it was (a denoising step: the same patch slots are
    computed again at the next step)."""
    B, T, _ = x.shape
    start = cache.length
    if start + T > cache.max_len:
        raise ValueError(f"the sequence would reach {start + T} tokens, over the model's {cache.max_len}")
    doc_new = torch.where(real, 0, -1)
    positions = cache.next_pos[:, None] + real.long().cumsum(1) - 1  # (B, T) padding repeats a position
    positions = positions.clamp(min=0)
    doc_all = torch.cat([cache.doc_ids[:, :start], doc_new], dim=1)  # (B, S + T)
    img_all = torch.cat([cache.image_ids[:, :start], image_ids], dim=1)
    b = torch.arange(B, device=x.device)[:, None, None]
    q = torch.arange(start, start + T, device=x.device)[None, :, None]
    kv = torch.arange(start + T, device=x.device)[None, None, :]
    mask = allowed(doc_all, img_all, b, q, kv)[:, None]  # (B, 1, T, S + T)
    cache._write = write
    h = model.backbone(x, positions, mask, cache)
    cache._write = True
    if write:
        cache.doc_ids[:, start:start + T] = doc_new
        cache.image_ids[:, start:start + T] = image_ids
        cache.next_pos += real.long().sum(1)
        cache.length += T
    return h
