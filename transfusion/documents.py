"""Interleaved documents <-> token ids, image latents and image spans.

A document is a chat: a list of messages `{"role": "user" | "assistant", "content": parts}`
where parts is a string or a list of strings and images (PIL images, or latents (C, h, w)
once encoded by the VAE). The chat template, in tokens:

    <bos> <|user|> text <boi> patch*L <eoi> text <|assistant|> text <boi> patch*L <eoi> <eos> <|user|> ...

Losses follow the roles, as in chat fine-tuning: the assistant's words, its BOI, EOI and EOS
are predicted by the LM loss (that is how the model decides when to draw and when to stop);
the assistant's images are noised and carry the diffusion loss; the user's words and images are
clean context with no loss. An assistant image followed by more loss-bearing content is noise
limited (paper section 4.3), so what is learnt from it sees a mostly clear picture.

In the discrete (Chameleon) arm (`config.image_codes`), an image is a 1-D tensor of code
indices instead, and its slots hold the ids `vocab_size + code`: the assistant's codes carry the
LM loss (also where the text's loss is dropped, as latents keep the diffusion loss), and no
image span is recorded (attention stays causal).

Classifier-free guidance drops the condition: `unconditional()` removes the text (and, for
the image-free pass, the context images) of a document, used alike in training and sampling.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch
from PIL import Image

from .config import TransfusionConfig
from .tokenizer import Tokenizer

ROLES = ("user", "assistant")


def parts_of(message: dict) -> list:
    """The content of a message as a list of parts (a bare string becomes one part)."""
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        raise ValueError(f"a message is {{'role': 'user' | 'assistant', 'content': ...}}, got {message!r:.200}")
    content = message.get("content", [])
    return [content] if isinstance(content, (str, Image.Image, torch.Tensor)) else list(content)


@dataclass
class Sequence:
    """One encoded document: ids, which ids the LM must predict, and its images."""

    patches_per_image: int  # L: the patch slots between each BOI and EOI
    tokens: list[int] = field(default_factory=list)
    lm_loss: list[bool] = field(default_factory=list)  # predict tokens[i] from position i - 1
    latents: list[torch.Tensor] = field(default_factory=list)  # (C, h, w) each
    image_starts: list[int] = field(default_factory=list)  # index of each image's first patch
    image_noised: list[bool] = field(default_factory=list)  # assistant image: noised, diffusion loss
    image_limited: list[bool] = field(default_factory=list)  # noise limited (t <= noise_limit)
    # the seed of this document's diffusion noise (None: the batch's generator draws it); with a
    # seed, a document draws the same noise whichever batch, row or process it lands in
    seed: int | None = None

    def __len__(self) -> int:
        return len(self.tokens)

    def add(self, ids: list[int], loss: bool) -> None:
        self.tokens += ids
        self.lm_loss += [loss] * len(ids)


def encode_document(
    messages: list[dict],
    tokenizer: Tokenizer,
    config: TransfusionConfig,
    lm_loss: bool = True,
    close: bool = True,
    seed: int | None = None,
) -> Sequence:
    """Encode a chat whose images are latents (C, h, w). With `close=False` the last message
    is left open (no EOS), ready for generation to continue it. `lm_loss=False` drops all LM
    loss (a document whose text was dropped for classifier-free guidance). `seed` fixes the
    noise its images get in training (`Sequence.seed`)."""
    L = config.patches_per_image
    seq = Sequence(L, seed=seed)
    seq.add([tokenizer.bos_id], False)
    text_with_loss = []  # where each loss-bearing text part starts
    for i, message in enumerate(messages):
        is_assistant = message["role"] == "assistant"
        loss = is_assistant and lm_loss
        seq.add([tokenizer.assistant_id if is_assistant else tokenizer.user_id], False)
        for part in parts_of(message):
            if isinstance(part, str):
                if loss:
                    text_with_loss.append(len(seq))
                seq.add(tokenizer.encode(part), loss)
            elif isinstance(part, torch.Tensor) and config.discrete:
                if part.dtype != torch.long or part.shape != (L,):
                    raise ValueError(f"an image of the discrete arm is {L} code indices, got {part.dtype} {tuple(part.shape)}")
                seq.add([tokenizer.boi_id], loss)
                # an assistant's codes always carry their loss, as its latents carry the diffusion
                # loss: the condition dropped (`cfg_dropout`), they teach the unconditional image
                seq.add((part + config.vocab_size).tolist(), is_assistant)
                seq.add([tokenizer.eoi_id], loss)
            elif isinstance(part, torch.Tensor):
                seq.add([tokenizer.boi_id], loss)
                seq.image_starts.append(len(seq))
                seq.latents.append(part)
                seq.image_noised.append(is_assistant)
                seq.add([tokenizer.pad_id] * L, False)  # patch slots: filled by the patch encoder
                seq.add([tokenizer.eoi_id], loss)  # predicted from the last patch
            elif isinstance(part, Image.Image):
                raise TypeError("encode images to latents first (latents_for_documents)")
            else:
                raise TypeError(f"a message part is a string or an image, got {type(part).__name__}")
        if is_assistant and (close or i < len(messages) - 1):
            seq.add([tokenizer.eos_id], loss)
    # an assistant image followed by words or images that carry a loss is noise limited
    for k, start in enumerate(seq.image_starts):
        later_text = any(j > start for j in text_with_loss)
        later_image = any(seq.image_noised[k + 1:])
        seq.image_limited.append(seq.image_noised[k] and (later_text or later_image))
    if len(seq) > config.max_seq_len:
        raise ValueError(f"document is {len(seq)} tokens, over max_seq_len = {config.max_seq_len}")
    return seq


def unconditional(messages: list[dict], keep_images: bool = True) -> list[dict]:
    """The same chat with every text part removed (and, unless `keep_images`, every image
    except those of the last message): the condition that classifier-free guidance drops."""
    last = len(messages) - 1
    out = []
    for i, message in enumerate(messages):
        parts = [p for p in parts_of(message) if not isinstance(p, str)]
        if not keep_images and i != last:
            parts = []
        out.append({"role": message["role"], "content": parts})
    return out


def cfg_dropout(messages: list[dict], rng: random.Random, config: TransfusionConfig) -> tuple[list[dict], bool]:
    """Training-time condition dropout: returns (messages, lm_loss). With probability
    `image_dropout` the text and the context images go, with `text_dropout` the text only."""
    u = rng.random()
    if u < config.image_dropout:
        return unconditional(messages, keep_images=False), False
    if u < config.image_dropout + config.text_dropout:
        return unconditional(messages, keep_images=True), False
    return messages, True


@torch.no_grad()
def latents_for_documents(documents: list[list[dict]], image_to_latents) -> list[list[dict]]:
    """Replace every PIL image of `documents` by its latents, in one batched call of
    `image_to_latents(list[PIL]) -> (N, C, h, w)`."""
    images = [p for doc in documents for m in doc for p in parts_of(m) if isinstance(p, Image.Image)]
    latents = iter(image_to_latents(images)) if images else iter(())
    return [
        [{"role": m["role"], "content": [next(latents) if isinstance(p, Image.Image) else p for p in parts_of(m)]} for m in doc]
        for doc in documents
    ]
