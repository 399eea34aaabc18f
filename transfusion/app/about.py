"""The About panel: what the loaded model knows (its world's words), its size, where it runs, and its scores.

The scores are the evaluator's table from the checkpoint's `MODEL_CARD.md` (the section whose
heading mentions evaluation, or else its first table), shown as written; a checkpoint without
a card says so.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..quantize import kernel_for

CARD = "MODEL_CARD.md"


def evaluation_section(card: str) -> str | None:
    """The evaluator's part of a model card: the section under a heading that mentions
    evaluation (up to the next heading of the same or a higher level), else the first table
    with the line before it; None when the card has neither."""
    lines = card.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(#+)\s+(.*)", line)
        if m and re.search(r"evaluat|score", m.group(2), re.I):
            level, body = len(m.group(1)), []
            for nxt in lines[i + 1:]:
                n = re.match(r"^(#+)\s", nxt)
                if n and len(n.group(1)) <= level:
                    break
                body.append(nxt)
            text = "\n".join(body).strip()
            if text:
                return text
    for i, line in enumerate(lines):
        if line.lstrip().startswith("|"):
            end = i
            while end < len(lines) and lines[end].lstrip().startswith("|"):
                end += 1
            start = i - 1 if i and lines[i - 1].strip() else i
            return "\n".join(lines[start:end]).strip()
    return None


def _count(n: int) -> str:
    return f"{n:,} ({n / 1e6:.1f} M)" if n >= 1e6 else f"{n:,}"


def about_markdown(pipe, checkpoint_dir: str | Path, knows: str, grade_command: str) -> str:
    """The About text for `pipe`, loaded from `checkpoint_dir`: `knows` (the world's part), the
    model's table, its scores (or `grade_command`, the way to grade it)."""
    config = pipe.checkpoint.config
    params = pipe.checkpoint.model.num_parameters()
    vae_params = sum(p.numel() for p in pipe.checkpoint.vae.parameters())
    card_path = Path(checkpoint_dir) / CARD
    scores = evaluation_section(card_path.read_text()) if card_path.exists() else None
    kernel = {"bitsandbytes": "bitsandbytes", "torch": "PyTorch's int8 matmul"}[kernel_for(pipe.device)]
    quant = {"int8": f"int8 weights ({kernel}) in the transformer blocks"}.get(pipe.quantization, "none (full precision)")
    return f"""
{knows}

## This model

| part | details |
| --- | --- |
| checkpoint | `{checkpoint_dir}` |
| transformer | {_count(params)} parameters: {config.n_layers} layers, width {config.dim}, {config.n_heads} heads, context {config.max_seq_len} tokens |
| autoencoder | {_count(vae_params)} parameters; an image is {config.patches_per_image} patch tokens |
| objective | {config.objective} |
| device | {pipe.device} |
| quantization | {quant} |

## Evaluator scores

{scores or f"No `{CARD}` beside this checkpoint: it has not been graded. Grade it with `{grade_command}`."}

One transformer writes the words and draws the pictures (Transfusion, Zhou et al. 2024): it predicts the next token for text and denoises image patches with diffusion, in one sequence.
""".strip()
