"""Drawing an image in the discrete (Chameleon) arm: its codes one token at a time, on the KV cache.

At BOI the prompt runs into a cache with the same guidance rows as Transfusion's diffusion
(`generation._guidance_rows`: c, i and n, or c and n), and each of the image's L codes is then
sampled from the guided logits, restricted to the code ids:
    logits = n + s_img * (i - n) + s_txt * (c - i)        (or n + s_txt * (c - n))
the guidance of the diffusion arm applied to logits, as Chameleon and Parti do. The sampled code
goes into every row of its prompt, so all rows condition on the same image so far. Codes are
sampled at the temperature `settings.code_temperature` (never greedy: greedy decoding of an
image repeats itself), with the seed of the image; a checkpoint's `generation_config.json` keeps
the temperature its model draws best with (the experiments choose it by a sweep,
`experiments/tune.py`). `draw_codes_naive` is the plain reference (every code recomputes the
whole sequence, no cache) that the tests hold this to.
"""

from __future__ import annotations

import torch

from ..batch import collate
from ..checkpoint import Checkpoint
from ..documents import encode_document
from ..generation_config import Settings
from ..token_step import TokenStep


@torch.no_grad()
def draw_codes(ckpt: Checkpoint, prompts: list[list[dict]], settings: Settings, seeds: list[int]):
    """The discrete arm's `generation.draw_images`: (codes (K, L), the cache with each prompt's
    rows followed by its image's codes, the row of each prompt's conditional pass). It has no
    denoising steps to show, so no progress calls."""
    from ..generation import _combine, _device, guidance_sequences, prefill

    config, device = ckpt.config, _device(ckpt)
    rows, owner, first_row, n_rows = guidance_sequences(ckpt, prompts)
    cache, h = prefill(ckpt, rows)
    owner_t = torch.tensor(owner, device=device)
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    step = TokenStep(ckpt.model, compiled=ckpt.compiled)
    first, n_codes, L = config.vocab_size, config.image_codes, config.patches_per_image
    codes = torch.zeros((len(prompts), L), dtype=torch.long)
    for j in range(L):
        logits = ckpt.model.lm_head(h)[:, first:first + n_codes].float()  # (R, codes)
        for k, (f, n) in enumerate(zip(first_row, n_rows)):
            probs = torch.softmax(_combine(logits[f:f + n], settings) / settings.code_temperature, dim=-1)
            codes[k, j] = int(torch.multinomial(probs.cpu(), 1, generator=generators[k]))
        h = step(cache, codes[:, j].to(device)[owner_t] + first)
    return codes.to(device), cache, first_row


@torch.no_grad()
def draw_codes_naive(ckpt: Checkpoint, prompt: list[dict], settings: Settings, seed: int) -> torch.Tensor:
    """One prompt's codes (L,), each from a full forward of its guidance rows so far: no cache."""
    from ..generation import _combine, _device, _guidance_rows
    from ..sampling import _forward

    config, device, tk = ckpt.config, _device(ckpt), ckpt.tokenizer
    rows = [encode_document(r, tk, config, close=False) for r in _guidance_rows(prompt)]
    for seq in rows:
        seq.add([tk.boi_id], False)
    generator = torch.Generator().manual_seed(seed)
    first, codes = config.vocab_size, []
    for _ in range(config.patches_per_image):
        batch = collate(rows, tk.pad_id, left_pad=True).to(device)
        logits, _ = _forward(ckpt, batch, batch.latents, torch.zeros(0, device=device))
        guided = _combine(logits[:, -1, first:first + config.image_codes].float(), settings)
        code = int(torch.multinomial(torch.softmax(guided / settings.code_temperature, dim=-1).cpu(), 1, generator=generator))
        codes.append(code)
        for seq in rows:
            seq.add([first + code], False)
    return torch.tensor(codes, dtype=torch.long)
