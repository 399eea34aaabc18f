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
from .documents import Sequence, encode_document, unconditional
from .mask import attention_mask


def _forward(ckpt: Checkpoint, batch: Batch, latents: torch.Tensor, t: torch.Tensor):
    mask = attention_mask(batch.doc_ids, batch.image_ids)
    return ckpt.model(batch.tokens, batch.positions, mask, latents, t, batch.patch_index)


def _with_open_image(seq: Sequence, ckpt: Checkpoint) -> Sequence:
    """`seq` followed by BOI and the patch slots of one image still to be drawn."""
    c = ckpt.config
    seq.add([ckpt.tokenizer.boi_id], False)
    seq.image_starts.append(len(seq))
    seq.latents.append(torch.zeros(c.vae.latent_channels, c.vae.latent_size, c.vae.latent_size))
    seq.image_noised.append(True)
    seq.image_limited.append(False)
    seq.add([ckpt.tokenizer.pad_id] * c.patches_per_image, False)
    return seq


@torch.no_grad()
def sample_image_naive(
    ckpt: Checkpoint,
    messages: list[dict],
    steps: int = 25,
    guidance: float = 3.0,
    sampler: str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw the next image of `messages` (latents (C, h, w)) with classifier-free guidance:
    the conditional and unconditional passes run as one batch of two rows."""
    config = ckpt.config
    device = next(ckpt.model.parameters()).device
    rows = [messages, unconditional(messages)]
    seqs = [_with_open_image(encode_document(m, ckpt.tokenizer, config, close=False), ckpt) for m in rows]
    batch = collate(seqs, ckpt.tokenizer.pad_id).to(device)
    # the image being drawn is the last of each row
    new = torch.tensor([len(seqs[0].latents) - 1, len(seqs[0].latents) + len(seqs[1].latents) - 1], device=device)
    scheduler = Diffusion(config).sampler(sampler)
    scheduler.set_timesteps(steps)
    shape = (1, config.vae.latent_channels, config.vae.latent_size, config.vae.latent_size)
    x = torch.randn(shape, generator=generator).to(device) * getattr(scheduler, "init_noise_sigma", 1.0)
    for step_t in scheduler.timesteps:
        latents = batch.latents.clone()
        latents[new] = x.expand(2, -1, -1, -1).to(latents)  # (none of our samplers rescale x_t)
        t = torch.zeros(latents.shape[0], device=device)
        t[new] = float(step_t)
        _, pred = _forward(ckpt, batch, latents, t)
        cond, uncond = pred[new[0]], pred[new[1]]
        guided = uncond + guidance * (cond - uncond)  # classifier-free guidance
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
        next_id = int(logits[0, -1].argmax())
        new.append(next_id)
        seq.add([next_id], False)
        if next_id in stop:
            break
    return new
