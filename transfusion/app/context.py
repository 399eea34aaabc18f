"""Fitting a conversation into the model's context.

The built-in model reads 512 tokens; a picture takes `config.image_tokens` of them (its 64
patches, BOI and EOI). A chat
outgrows that after a handful of pictures. Decision: the conversation on screen is kept whole,
but the model is handed only its most recent messages that fit with room for a reply (a
picture and a sentence), and the user is told how many earlier messages it no longer sees.
A single message that cannot fit even alone is refused, with its length and the limit.
"""

from __future__ import annotations

import dataclasses

import torch
from PIL import Image

from ..documents import encode_document

REPLY_WORDS = 24  # tokens of text kept free for the reply, besides one picture


def prompt_tokens(messages: list[dict], tokenizer, config) -> int:
    """The length in tokens of `messages` followed by the open assistant turn."""
    placeholder = torch.zeros(0)  # stands for a picture: encode_document only counts its patch slots
    doc = [{"role": m["role"], "content": [placeholder if isinstance(p, Image.Image) else p for p in m["content"]]}
           for m in messages]
    unbounded = dataclasses.replace(config, max_seq_len=2**62)  # measure it even when it is too long
    return len(encode_document([*doc, {"role": "assistant", "content": []}], tokenizer, unbounded, close=False))


def prompt_room(config) -> int:
    """The longest prompt that leaves room for a reply: a picture and a sentence."""
    return config.room(images=1) - REPLY_WORDS


def fit_context(messages: list[dict], tokenizer, config) -> tuple[list[dict], int]:
    """(the most recent messages that fit, how many earlier ones were left out). The kept
    messages start with a user's. ValueError when the last message alone does not fit."""
    starts = [i for i, m in enumerate(messages) if m["role"] == "user"]
    best = None
    for i in reversed(starts):  # newest first: only suffixes up to one past the context are encoded
        if prompt_tokens(messages[i:], tokenizer, config) > prompt_room(config):
            break
        best = i
    if best is not None:
        return messages[best:], best
    n = prompt_tokens(messages[starts[-1]:] if starts else messages, tokenizer, config)
    raise ValueError(f"Your message takes {n} tokens (a picture takes {config.image_tokens}); "
                     f"the model reads at most {prompt_room(config)} with room for its reply. Shorten it.")
