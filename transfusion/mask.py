"""The Transfusion attention mask (paper section 2.2).

Causal over the whole sequence, plus bidirectional inside each image: a query token sees
a key token when both sit in the same document (rows may pack several) and either the key
comes no later than the query, or both are patches of the same image. So a patch sees every
patch of its own image and everything before the image, never a later token.

Each row of a batch is described by two integer tensors of shape (B, T):
  doc_ids   which packed document a token belongs to (padding gets its own id);
  image_ids which image a patch belongs to, -1 for every token that is not a patch
            (text, BOI, EOI and role markers are ordinary causal tokens).

The rule is written once, in `allowed`, and used for the dense boolean mask of
`F.scaled_dot_product_attention` (the CPU path) and for flex attention's `BlockMask` (CUDA).
"""

from __future__ import annotations

import torch

# The image id of an image being drawn or just drawn, whose patches run against a cache of the
# prompt: the prompt's own images are numbered from 0, and no prompt holds this many.
NEW_IMAGE_ID = 10**6


def allowed(doc_ids: torch.Tensor, image_ids: torch.Tensor, b, q, kv) -> torch.Tensor:
    """True where query `q` may attend to key `kv` in row `b` (index tensors broadcast)."""
    same_doc = doc_ids[b, q] == doc_ids[b, kv]
    causal = kv <= q
    same_image = (image_ids[b, q] >= 0) & (image_ids[b, q] == image_ids[b, kv])
    return same_doc & (causal | same_image)


def dense_mask(doc_ids: torch.Tensor, image_ids: torch.Tensor) -> torch.Tensor:
    """(B, T) ids -> (B, 1, T, T) boolean mask, True = attend; the diagonal is always True."""
    B, T = doc_ids.shape
    b = torch.arange(B, device=doc_ids.device)[:, None, None]  # (B, 1, 1)
    q = torch.arange(T, device=doc_ids.device)[None, :, None]  # (1, T, 1)
    kv = torch.arange(T, device=doc_ids.device)[None, None, :]  # (1, 1, T)
    return allowed(doc_ids, image_ids, b, q, kv)[:, None]  # (B, 1, T, T)


def block_mask(doc_ids: torch.Tensor, image_ids: torch.Tensor, block_size: int = 128):
    """The same rule as a flex-attention `BlockMask` (sparse: fully masked blocks are skipped)."""
    from torch.nn.attention.flex_attention import create_block_mask

    def mask_mod(b, h, q, kv):
        return allowed(doc_ids, image_ids, b, q, kv)

    B, T = doc_ids.shape
    return create_block_mask(mask_mod, B, None, T, T, device=doc_ids.device, BLOCK_SIZE=block_size)


def attention_mask(doc_ids: torch.Tensor, image_ids: torch.Tensor, images_bidirectional: bool = True):
    """The mask the model's attention takes: a flex `BlockMask` on CUDA, dense elsewhere
    (flex attention has no backward on the CPU). With `images_bidirectional=False` (the
    ablation's `config.image_attention == "causal"`) patches are causal tokens like text."""
    if not images_bidirectional:
        image_ids = torch.full_like(image_ids, -1)
    if doc_ids.is_cuda:
        return block_mask(doc_ids, image_ids)
    return dense_mask(doc_ids, image_ids)
