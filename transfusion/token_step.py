"""The one-token decoding step on static shapes, compiled where that pays.

`kv_cache.run_tokens` is the plain path: it attends over the cache's committed slots, so the
shapes grow by one every token, and it builds the mask anew each time. `TokenStep` runs one new
token per row against the whole preallocated cache instead (as gpt-fast does): the new keys and
values are written into slot `cache.length` by index, the mask is the cache's own record of
which slots hold real tokens, and every call has the same shapes. So `torch.compile` compiles
it once per cache shape, and never again as the text grows. A text token's mask rule is plain
causal within its document (`mask.allowed` with no image), which is "every real slot so far".

The tests hold it equal to `run_tokens`, compiled and not.
"""

from __future__ import annotations

import torch

from .kv_cache import KVCache
from .model import Transfusion


class _SlotWriter:
    """The cache hook of one step: writes each layer's new (k, v) into `slot`, returns all slots."""

    def __init__(self, k: torch.Tensor, v: torch.Tensor, slot: torch.Tensor):
        self.k, self.v, self.slot = k, v, slot

    def layer(self, i: int):
        def merge(k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            self.k[i].index_copy_(2, self.slot, k)  # (B, H, S, hs) <- (B, H, 1, hs)
            self.v[i].index_copy_(2, self.slot, v)
            return self.k[i], self.v[i]

        return merge


def _step(model: Transfusion, k: torch.Tensor, v: torch.Tensor, doc_ids: torch.Tensor, next_pos: torch.Tensor,
          token: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
    """Hidden state (B, D) of one new token per row; `doc_ids` already marks `slot` real."""
    x = model.embed(token)  # (B, 1, D)
    mask = (doc_ids == 0)[:, None, None, :]  # (B, 1, 1, S): every real slot, the new one included
    h = model.backbone(x, next_pos[:, None], mask, _SlotWriter(k, v, slot))
    return h[:, -1]


_COMPILED = torch.compile(_step, dynamic=False, fullgraph=True)  # one for the process: its compiles are kept


class TokenStep:
    """`step(cache, token)`: run one token id per row (B,) through `model` against `cache`,
    commit it, and return its hidden state (B, D); `compiled` runs it through torch.compile."""

    def __init__(self, model: Transfusion, compiled: bool = False):
        self.model = model
        self.fn = _COMPILED if compiled else _step

    @torch.no_grad()
    def __call__(self, cache: KVCache, token: torch.Tensor) -> torch.Tensor:
        if cache.length >= cache.max_len:
            raise ValueError(f"the sequence would reach {cache.length + 1} tokens, over the model's {cache.max_len}")
        slot = cache.length
        cache.doc_ids[:, slot] = 0
        cache.image_ids[:, slot] = -1
        h = self.fn(self.model, cache.k, cache.v, cache.doc_ids, cache.next_pos, token.view(-1, 1),
                    torch.tensor([slot], device=cache.k.device))
        cache.next_pos += 1
        cache.length += 1
        return h
