"""Plain reference sampling: every step recomputes the whole sequence, no cache.

Slow and simple on purpose: the fast decoding loop (KV cache, prefix computed once) is
tested against these functions. Chats are lists of messages whose images are latents
(C, h, w); the last message is the assistant turn being written (it may be empty).
"""

from __future__ import annotations

import torch

from .batch import Batch, collate
from .checkpoint import Checkpoint
from .diffusion import Diffusion
from .documents import encode_document, parts_of, unconditional
from .mask import attention_mask


def _forward(ckpt: Checkpoint, batch: Batch, latents: torch.Tensor, t: torch.Tensor):
    mask = attention_mask(batch.doc_ids, batch.image_ids, ckpt.config.images_bidirectional)
    return ckpt.model(batch.tokens, batch.positions, mask, latents, t, batch.patch_index)


@torch.no_grad()
def sample_image_naive(
    ckpt: Checkpoint,
    messages: list[dict],
    steps: int = 25,
    guidance: float = 3.0,
    image_guidance: float = 1.5,
    sampler: str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw the next image of `messages` (latents (C, h, w)) with InstructPix2Pix guidance, always
    three rows run as one batch: c (the chat), i (its images, no text), n (neither), combined as
    n + image_guidance * (i - n) + guidance * (c - i). With no image in the prompt, i is n."""
    config = ckpt.config
    device = next(ckpt.model.parameters()).device
    c, s = config.vae.latent_channels, config.vae.latent_size
    # the image being drawn is the last part of the open last message: its patch slots follow BOI
    # (the EOI that encoding puts after them is later than every patch, so no patch sees it)
    drawing = [*messages[:-1], {"role": messages[-1]["role"], "content": [*parts_of(messages[-1]), torch.zeros(c, s, s)]}]
    rows = [drawing, unconditional(drawing, keep_images=True), unconditional(drawing, keep_images=False)]
    seqs = [encode_document(m, ckpt.tokenizer, config, close=False) for m in rows]
    batch = collate(seqs, ckpt.tokenizer.pad_id).to(device)
    new = torch.tensor([sum(len(q.latents) for q in seqs[:r + 1]) - 1 for r in range(3)], device=device)  # in each row
    scheduler = Diffusion(config).sampler(sampler)
    scheduler.set_timesteps(steps)
    x = torch.randn((1, c, s, s), generator=generator).to(device) * getattr(scheduler, "init_noise_sigma", 1.0)
    for step_t in scheduler.timesteps:
        latents = batch.latents.clone()
        latents[new] = x.expand(3, -1, -1, -1).to(latents)  # (none of our samplers rescale x_t)
        t = torch.zeros(latents.shape[0], device=device)
        t[new] = float(step_t)
        _, pred = _forward(ckpt, batch, latents, t)
        cond, images_only, neither = pred[new]
        guided = neither + image_guidance * (images_only - neither) + guidance * (cond - images_only)
        x = scheduler.step(guided[None], step_t, x, generator=generator).prev_sample
    return x[0]


@torch.no_grad()
def generate_text_naive(ckpt: Checkpoint, messages: list[dict], max_new_tokens: int = 64) -> list[int]:
    """Greedy continuation of the open last message, stopping at EOS or BOI (where an image
    would begin). Returns the new ids, the stopping token included."""
    device = next(ckpt.model.parameters()).device
    seq = encode_document(messages, ckpt.tokenizer, ckpt.config, close=False)
    new: list[int] = []
    stop = (ckpt.tokenizer.eos_id, ckpt.tokenizer.boi_id)
    for _ in range(max_new_tokens):
        if len(seq) >= ckpt.config.max_seq_len:
            break
        batch = collate([seq], ckpt.tokenizer.pad_id).to(device)
        t = torch.zeros(batch.latents.shape[0], device=device)
        logits, _ = _forward(ckpt, batch, batch.latents, t)
        next_id = int(logits[0, -1, :ckpt.config.vocab_size].argmax())  # text ids (the discrete arm's codes follow)
        new.append(next_id)
        seq.add([next_id], False)
        if next_id in stop:
            break
    return new
