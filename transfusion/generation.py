"""The paper's decoding loop (section 2.4), on a KV cache.

LM mode samples text one token at a time from the cache. When the model emits BOI, diffusion
mode draws an image: the prompt is run once into a cache, with extra rows for classifier-free
guidance, and each denoising step runs only the image's patch slots against that cache. The
clean image then enters the context (t = 0), EOI follows, and LM mode goes on until EOS.

Guidance follows InstructPix2Pix, with three rows per image: c (the full prompt), i (the prompt's
images but none of its text) and n (neither), combined as
    pred = n + s_img * (i - n) + s_txt * (c - i).
With no image in the prompt, i equals n and the row is not computed: pred = n + s_txt * (c - n).
`sampling.py` holds the plain, uncached reference that the tests compare this with. The steps
themselves (`token_step`, `denoise_step`) run eager, or compiled where the checkpoint asks.
"""

from __future__ import annotations

import torch

from .batch import collate
from .checkpoint import Checkpoint
from .diffusion import Diffusion
from .documents import Sequence, encode_document, parts_of, unconditional
from .generation_config import Settings
from .denoise_step import DenoiseStep
from .kv_cache import KVCache, run_tokens
from .mask import NEW_IMAGE_ID
from .token_step import TokenStep

IMAGE_SEED_STRIDE = 1000  # image k of a reply starts from the noise of seed + k * this


def _device(ckpt: Checkpoint) -> torch.device:
    return next(ckpt.model.parameters()).device


@torch.no_grad()
def prefill(ckpt: Checkpoint, seqs: list[Sequence]) -> tuple[KVCache, torch.Tensor]:
    """Run prompts (left-padded to one length) into a fresh cache, their images clean.
    Returns the cache and the last position's hidden state of each row (B, D)."""
    model, device = ckpt.model, _device(ckpt)
    batch = collate(seqs, ckpt.tokenizer.pad_id, left_pad=True).to(device)
    clean = torch.zeros(batch.latents.shape[0], device=device)
    x, _ = model.embed_inputs(batch.tokens, batch.latents, clean, batch.patch_index)
    cache = KVCache.for_model(model, len(seqs))
    h = run_tokens(model, cache, x, batch.doc_ids >= 0, batch.image_ids)
    return cache, h[:, -1]


def _guidance_rows(messages: list[dict]) -> list[list[dict]]:
    """[c, i, n], or [c, n] when the prompt holds no image."""
    has_image = any(not isinstance(p, str) for m in messages for p in parts_of(m))
    rows = [messages, unconditional(messages, keep_images=True), unconditional(messages, keep_images=False)]
    return rows if has_image else [rows[0], rows[2]]


def guidance_sequences(ckpt: Checkpoint, prompts: list[list[dict]]) -> tuple[list[Sequence], list[int], list[int], list[int]]:
    """Every prompt's guidance rows, encoded and opened with BOI: (rows, the prompt of each row,
    each prompt's first row, each prompt's number of rows). ValueError when a row leaves no
    room for the image."""
    config = ckpt.config
    rows, owner, first_row, n_rows = [], [], [], []
    for k, prompt in enumerate(prompts):
        first_row.append(len(rows))
        guidance_rows = _guidance_rows(prompt)
        n_rows.append(len(guidance_rows))
        for r in guidance_rows:
            seq = encode_document(r, ckpt.tokenizer, config, close=False)
            if not config.fits(len(seq), images=1):
                raise ValueError(f"the conversation is too long for the model's context of {config.max_seq_len} tokens")
            seq.add([ckpt.tokenizer.boi_id], False)  # the image to be drawn opens
            rows.append(seq)
            owner.append(k)
    return rows, owner, first_row, n_rows


@torch.no_grad()
def draw_images(
    ckpt: Checkpoint,
    prompts: list[list[dict]],
    settings: Settings,
    seeds: list[int],
    on_step=None,
) -> tuple[torch.Tensor, KVCache, list[int]]:
    """Draw one image for each prompt (a chat whose last message is the open assistant turn),
    all in one batch. Image k starts from the noise of `seeds[k]`. Returns the clean latents
    (K, C, h, w), the cache, and the row of each prompt's conditional pass in that cache.
    `on_step(i, total, latents)` is called after each denoising step (for previews).
    In the discrete arm the image is codes (K, L), sampled token by token (`chameleon.sampling`)."""
    if ckpt.config.discrete:
        from .chameleon.sampling import draw_codes

        return draw_codes(ckpt, prompts, settings, seeds)
    config, device = ckpt.config, _device(ckpt)
    rows, owner, first_row, n_rows = guidance_sequences(ckpt, prompts)
    cache, _ = prefill(ckpt, rows)
    owner_t = torch.tensor(owner, device=device)
    scheduler = Diffusion(config).sampler(settings.sampler)
    scheduler.set_timesteps(settings.steps)
    c, s = config.vae.latent_channels, config.vae.latent_size
    x = torch.stack([torch.randn(c, s, s, generator=torch.Generator().manual_seed(seed)) for seed in seeds]).to(device)
    x = x * getattr(scheduler, "init_noise_sigma", 1.0)
    L, R = config.patches_per_image, len(rows)
    real = torch.ones((R, L), dtype=torch.bool, device=device)
    image_ids = torch.full((R, L), NEW_IMAGE_ID, dtype=torch.long, device=device)
    step_noise = torch.Generator().manual_seed(seeds[0])  # stochastic samplers (ddpm) draw from it: seeded too
    denoise = DenoiseStep(ckpt.model, cache, real, image_ids, compiled=ckpt.compiled)
    for i, step_t in enumerate(scheduler.timesteps):
        t = torch.full((R,), float(step_t), device=device)
        pred = denoise(x[owner_t], t)  # (R, C, h, w)
        guided = torch.stack([_combine(pred[f:f + n], settings) for f, n in zip(first_row, n_rows)])  # (K, C, h, w)
        x = scheduler.step(guided, step_t, x, generator=step_noise).prev_sample
        if on_step:
            on_step(i + 1, len(scheduler.timesteps), x)
    return x, cache, first_row


def _combine(pred: torch.Tensor, settings: Settings) -> torch.Tensor:
    """One prompt's guidance rows of predictions (or, in the discrete arm, of logits) -> guided."""
    if pred.shape[0] == 2:  # [c, n]
        c, n = pred
        return n + settings.guidance * (c - n)
    c, i, n = pred
    return n + settings.image_guidance * (i - n) + settings.guidance * (c - i)


def _sample_token(logits: torch.Tensor, settings: Settings, generator: torch.Generator) -> int:
    if settings.temperature == 0:
        return int(logits.argmax())
    probs = torch.softmax(logits.float() / settings.temperature, dim=-1)
    if settings.top_p < 1:
        sorted_p, order = probs.sort(descending=True)
        keep = sorted_p.cumsum(0) - sorted_p < settings.top_p  # the smallest set reaching top_p
        probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_p[keep])
    return int(torch.multinomial(probs.cpu(), 1, generator=generator))


@torch.no_grad()
def generate(
    ckpt: Checkpoint,
    messages: list[dict],
    settings: Settings,
    seed: int = 0,
    allow_images: bool = True,
    on_token=None,
    on_step=None,
) -> list:
    """Continue the chat with the assistant's turn: its parts in order, strings and latents
    (C, h, w). The last message of `messages` must be the user's. `on_token(id)` is called
    with every sampled token as it comes (for streaming), BOI and EOS included; `on_step` is
    passed to `draw_images` for every image."""
    tk, model, device = ckpt.tokenizer, ckpt.model, _device(ckpt)
    generator = torch.Generator().manual_seed(seed)
    parts: list = []
    ids: list[int] = []
    budget = settings.max_new_tokens
    seq = encode_document([*messages, {"role": "assistant", "content": []}], tk, ckpt.config, close=False)
    cache, h = prefill(ckpt, [seq])
    step = TokenStep(model, compiled=ckpt.compiled)
    n_images = 0
    while budget > 0 and cache.length < cache.max_len:
        logits = model.lm_head(h[0])[:ckpt.config.vocab_size]  # (V,): text ids (the discrete arm's codes come after)
        if not allow_images:
            logits[tk.boi_id] = float("-inf")
        token = _sample_token(logits, settings, generator)
        budget -= 1
        if on_token:
            on_token(token)
        if token == tk.eos_id:
            break
        if token == tk.boi_id:
            if ids:
                parts.append(tk.decode(ids))
                ids = []
            prompt = [*messages, {"role": "assistant", "content": list(parts)}]
            if not ckpt.config.fits(len(encode_document(prompt, tk, ckpt.config, close=False)), images=1):
                break  # no room left for an image
            x, draw_cache, first_row = draw_images(ckpt, [prompt], settings, [seed + IMAGE_SEED_STRIDE * n_images],
                                                   on_step)
            n_images += 1
            parts.append(x[0])
            cache = draw_cache.select([first_row[0]])  # the conditional row: prompt + BOI
            if not ckpt.config.discrete:  # (the discrete arm's codes are in the cache already)
                L = ckpt.config.patches_per_image
                patches, _ = model.patch_in(x, torch.zeros(1, device=device))  # the clean image enters the context
                run_tokens(model, cache, patches, torch.ones((1, L), dtype=torch.bool, device=device),
                           torch.full((1, L), NEW_IMAGE_ID, dtype=torch.long, device=device))
            token = tk.eoi_id
        else:
            ids.append(token)
        h = step(cache, torch.tensor([token], device=device))
    if ids:
        parts.append(tk.decode(ids))
    return parts
