"""Encoded documents -> one batch of tensors, by padding or by packing.

Padding puts one document per row and pads to the longest (after it, or before it for prompts
that generation continues in step); packing fills rows of `max_len` with several documents,
first fit, each keeping its own positions (RoPE restarts at 0) and its own attention block
(`doc_ids`). Padding carries no loss.

A compiled kernel is built per tensor shape, so a training step whose row count or length
changes from step to step recompiles until Dynamo gives up and runs unfused. `ShapeBuckets`
rounds both up (whole rows of padding, padding at the end of each row) so that a run sees a
handful of shapes; the padding changes no loss (`tests/test_documents.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from .documents import Sequence

IGNORE = -100  # target of a position with no LM loss
NO_SEED = -1  # image_seeds of an image whose document has no seed


@dataclass(frozen=True)
class ShapeBuckets:
    """Round a batch's row count and row length up to these multiples."""
    rows: int = 8
    length: int = 128  # flex attention's block size

    def __call__(self, n_rows: int, length: int) -> tuple[int, int]:
        return -(-n_rows // self.rows) * self.rows, -(-length // self.length) * self.length


def image_seed(document_seed: int, k: int) -> int:
    """The noise seed of a document's k-th image."""
    return hash((document_seed, k)) & 0x7FFF_FFFF_FFFF_FFFF


@dataclass
class Batch:
    tokens: torch.Tensor  # (B, T) ids; patch slots hold PAD
    targets: torch.Tensor  # (B, T) next id to predict, IGNORE where there is no LM loss
    positions: torch.Tensor  # (B, T) RoPE position within its document
    doc_ids: torch.Tensor  # (B, T) packed-document id; padding gets -1
    image_ids: torch.Tensor  # (B, T) image id of each patch, -1 elsewhere
    latents: torch.Tensor  # (N, C, h, w) clean latents of every image
    patch_index: torch.Tensor  # (N, L) flat index (row * T + column) of each image's patches
    image_noised: torch.Tensor  # (N,) bool: noised, with diffusion loss
    image_limited: torch.Tensor  # (N,) bool: noise limited
    image_seeds: torch.Tensor  # (N,) long: the seed of each image's noise, NO_SEED: the batch generator's

    def to(self, device) -> "Batch":
        return Batch(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


def pack(sequences: list[Sequence], max_len: int) -> list[list[Sequence]]:
    """Group sequences into rows of at most `max_len` tokens, first fit, order kept within a row."""
    rows: list[list[Sequence]] = []
    room: list[int] = []
    for seq in sequences:
        if len(seq) > max_len:
            raise ValueError(f"a document of {len(seq)} tokens does not fit rows of {max_len}")
        for r, free in enumerate(room):
            if len(seq) <= free:
                rows[r].append(seq)
                room[r] -= len(seq)
                break
        else:
            rows.append([seq])
            room.append(max_len - len(seq))
    return rows


def collate(sequences: list[Sequence], pad_id: int, max_len: int | None = None, left_pad: bool = False,
            buckets: ShapeBuckets | None = None) -> Batch:
    """One row per sequence padded to the longest, or, with `max_len`, rows packed to that length.
    `left_pad` puts the padding before each sequence (prompts that decoding continues in step);
    `buckets` adds rows of padding and padding at the end of each row, up to its multiples."""
    if left_pad and (max_len or buckets):
        raise ValueError("left-padded rows are neither packed nor bucketed: pass left_pad alone")
    rows = pack(sequences, max_len) if max_len else [[s] for s in sequences]
    B = len(rows)
    T = max_len or max(len(s) for s in sequences)
    if buckets:
        B, T = buckets(B, T)
    tokens = torch.full((B, T), pad_id, dtype=torch.long)
    targets = torch.full((B, T), IGNORE, dtype=torch.long)
    positions = torch.zeros((B, T), dtype=torch.long)
    doc_ids = torch.full((B, T), -1, dtype=torch.long)
    image_ids = torch.full((B, T), -1, dtype=torch.long)
    latents, patch_index, noised, limited, seeds = [], [], [], [], []
    for b, row in enumerate(rows):
        start = T - len(row[0]) if left_pad else 0
        for d, seq in enumerate(row):
            n = len(seq)
            span = slice(start, start + n)
            ids = torch.tensor(seq.tokens)
            tokens[b, span] = ids
            loss = torch.tensor(seq.lm_loss)
            # position i predicts token i + 1 when that token carries the loss
            targets[b, start:start + n - 1] = torch.where(loss[1:], ids[1:], IGNORE)
            positions[b, span] = torch.arange(n)
            doc_ids[b, span] = d
            for k, first in enumerate(seq.image_starts):
                image_ids[b, start + first:start + first + seq.patches_per_image] = len(latents)
                patch_index.append(b * T + start + first + torch.arange(seq.patches_per_image))
                latents.append(seq.latents[k])
                noised.append(seq.image_noised[k])
                limited.append(seq.image_limited[k])
                seeds.append(NO_SEED if seq.seed is None else image_seed(seq.seed, k))
            start += n
    if latents:
        latents_t = torch.stack(latents)
        patch_t = torch.stack(patch_index)
    else:
        latents_t = torch.zeros((0, 1, 1, 1))
        patch_t = torch.zeros((0, 1), dtype=torch.long)
    return Batch(
        tokens, targets, positions, doc_ids, image_ids, latents_t, patch_t,
        torch.tensor(noised, dtype=torch.bool), torch.tensor(limited, dtype=torch.bool),
        torch.tensor(seeds, dtype=torch.long),
    )
