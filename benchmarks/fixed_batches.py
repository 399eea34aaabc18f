"""ShapesWorld training batches of a fixed shape, built the way `transfusion.train` builds them.

`train.py`'s `loss_fn` turns stream indices into a batch: ShapesWorld document i, its condition
dropout drawn from the document's own seed (`document_seed`), its images' latents from a
`LatentCache` on the frozen VAE, `encode_document` with that seed, then `collate` (packed
with `--pack`). `DocumentStream` makes the same encoded documents in the same order.

What differs is the cut into batches: `train.py` takes a fixed number of documents, so a packed
batch's number of rows (and a padded one's length) changes from step to step, and a kernel
compiled for static shapes meets a new shape now and then. `DocumentStream.batch` instead packs
documents into exactly `rows` rows of `length` tokens (first fit, as `batch.pack` does), holding
back the documents that do not fit for a later batch: a speed measurement then sees one shape,
and a recompile check can give two different batches the same shape.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import replace

from transfusion.batch import Batch, collate, pack
from transfusion.config import TransfusionConfig
from transfusion.documents import Sequence, cfg_dropout, encode_document, latents_for_documents
from transfusion.tokenizer import Tokenizer
from transfusion.training.latents import LatentCache
from transfusion.training.loop import document_seed
from transfusion.training.sources import ShapesWorldSource

MAX_MISSES = 8  # documents in a row that did not fit the full rows: the batch is as full as it gets
CHUNK = 16  # documents encoded per VAE call
MAX_HELD = 1000  # documents held back in one call: the rows are too short for the stream's documents


class DocumentStream:
    """Encoded ShapesWorld training documents in stream order, from index `start`."""

    def __init__(self, tokenizer: Tokenizer, config: TransfusionConfig, vae, seed: int = 0, start: int = 0):
        self.tokenizer, self.config, self.seed = tokenizer, config, seed
        self.unlimited = replace(config, max_seq_len=10**9)  # encodes a too-long document instead of raising
        self.source = ShapesWorldSource(seed)
        self.cache = LatentCache(vae, config.vae.image_size)
        self.next_index = start
        self.pending: deque[Sequence] = deque()
        self.too_long = 0  # documents left out: longer than the model's context (a tokenizer that splits words into bytes)

    def _encode_more(self) -> None:
        indices = range(self.next_index, self.next_index + CHUNK)
        self.next_index += CHUNK
        seeds = [document_seed(self.seed, i) for i in indices]
        dropped = [cfg_dropout(self.source.document(i), random.Random(s), self.config) for i, s in zip(indices, seeds)]
        with_latents = latents_for_documents([d for d, _ in dropped], self.cache)
        for d, (_, lm), s in zip(with_latents, dropped, seeds):
            seq = encode_document(d, self.tokenizer, self.unlimited, lm_loss=lm, seed=s)
            if len(seq) <= self.config.max_seq_len:
                self.pending.append(seq)
            else:  # train.py would stop on it; a check counts it (`too_long`) and goes on
                self.too_long += 1

    def batch(self, rows: int, length: int) -> tuple[Batch, list[Sequence]]:
        """Documents packed into exactly `rows` rows of `length` tokens (on the CPU), and the documents."""
        if length > self.config.max_seq_len:
            raise ValueError(f"rows of {length} tokens are longer than the model's context of {self.config.max_seq_len}")
        chosen: list[Sequence] = []
        held: list[Sequence] = []
        misses = 0
        while misses < MAX_MISSES or len(pack(chosen, length)) < rows:
            if not self.pending:
                self._encode_more()
            seq = self.pending.popleft()
            if len(seq) <= length and len(pack([*chosen, seq], length)) <= rows:
                chosen.append(seq)
                misses = 0
            else:  # too long for these rows, or no room left: it waits for a later batch
                held.append(seq)
                misses += len(pack(chosen, length)) == rows
                if len(held) > MAX_HELD:
                    raise ValueError(f"{len(held)} documents in a row did not fit rows of {length} tokens: use longer rows")
        self.pending.extendleft(reversed(held))
        return collate(chosen, self.tokenizer.pad_id, max_len=length), chosen
