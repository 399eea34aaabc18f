"""SentencePiece (BPE) tokenizer with the special tokens of an interleaved chat.

The special tokens are SentencePiece *control* symbols: they have ids but are never
produced by encoding text, so a user who types "<boi>" gets the characters, not a marker.
Byte fallback means any text, emoji and control characters included, encodes and
decodes without an unknown token.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterable

import sentencepiece as spm

SPECIAL_TOKENS = ("<boi>", "<eoi>", "<|user|>", "<|assistant|>")


class Tokenizer:
    """Text <-> ids, plus the ids of BOS, EOS, PAD, BOI, EOI and the two role markers."""

    def __init__(self, model_proto: bytes):
        self.model_proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        self.pad_id = self.sp.pad_id()
        self.bos_id = self.sp.bos_id()
        self.eos_id = self.sp.eos_id()
        self.boi_id, self.eoi_id, self.user_id, self.assistant_id = (self._special(t) for t in SPECIAL_TOKENS)

    def _special(self, piece: str) -> int:
        i = self.sp.piece_to_id(piece)
        if i == self.sp.unk_id():
            raise ValueError(f"tokenizer has no special token {piece!r}: train it with train_tokenizer()")
        return i

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def decode(self, ids: Iterable[int]) -> str:
        """Text of `ids`; special tokens decode to nothing."""
        return self.sp.decode([int(i) for i in ids])

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.model_proto)

    @classmethod
    def load(cls, path: str | Path) -> "Tokenizer":
        return cls(Path(path).read_bytes())


def train_tokenizer(texts: Iterable[str], vocab_size: int = 512) -> Tokenizer:
    """Train a BPE tokenizer on `texts`, in memory, in a fraction of a second."""
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=buffer,
        model_type="bpe",
        vocab_size=vocab_size,
        pad_id=0, unk_id=1, bos_id=2, eos_id=3,
        control_symbols=list(SPECIAL_TOKENS),
        byte_fallback=True,
        character_coverage=1.0,
        normalization_rule_name="identity",  # keep text as typed: it must round-trip exactly
        remove_extra_whitespaces=False,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    return Tokenizer(buffer.getvalue())
