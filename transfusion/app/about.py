"""The About panel: what the loaded model knows, its size, where it runs, and its scores.

The scores are the evaluator's table from the checkpoint's `MODEL_CARD.md` (the section whose
heading mentions evaluation, or else its first table), shown as written; a checkpoint without
a card says so.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..quantize import kernel_for
from ..shapesworld.world import BACKGROUNDS, COLOURS, HELD_OUT_PAIRS, POSITIONS, SHAPES, SIZES

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


def about_markdown(pipe, checkpoint_dir: str | Path) -> str:
    """The About text for `pipe`, loaded from `checkpoint_dir`."""
    config = pipe.checkpoint.config
    params = pipe.checkpoint.model.num_parameters()
    vae_params = sum(p.numel() for p in pipe.checkpoint.vae.parameters())
    card_path = Path(checkpoint_dir) / CARD
    scores = evaluation_section(card_path.read_text()) if card_path.exists() else None
    kernel = {"bitsandbytes": "bitsandbytes", "torch": "PyTorch's int8 matmul"}[kernel_for(pipe.device)]
    quant = {"int8": f"int8 weights ({kernel}) in the transformer blocks"}.get(pipe.quantization, "none (full precision)")
    held_out = ", ".join(f"{c} {s}" for c, s in sorted(HELD_OUT_PAIRS))
    return f"""
## What the model knows: ShapesWorld

The built-in model was trained from scratch, by this project, on **ShapesWorld**: {config.vae.image_size} × {config.vae.image_size}
pictures of one to three flat shapes on a plain background, each shape in its own cell of a 3 × 3 grid.
It knows nothing else: ask it for a cat and it says, in words, what it can draw instead.

| | words it knows |
| --- | --- |
| shapes | {", ".join(SHAPES)} |
| colours | {", ".join(COLOURS)} |
| sizes | {", ".join(SIZES)} |
| backgrounds | {", ".join(BACKGROUNDS)} |
| places | {"; ".join(POSITIONS.values())} |

- **Draw:** name what you care about and it fills in the rest (“draw a red circle”, “two blue squares on black”), or give a whole caption such as “a large red circle in the center on a white background” or “a small blue square in the top left corner and a large yellow triangle at the bottom on a black background” (objects in reading order: top row first, left to right).
- **Describe or ask** about an uploaded or drawn picture: “describe this image”, “how many shapes are there?”, “what color is the circle?”, “what shape is in the center?”, “where is the red circle?”, “what color is the background?”.
- **Edit** (in the chat, the last picture; in the editor, the input): “make the red circle blue”, “move the red circle at the top”, “add a small green diamond in the bottom right corner”, “remove the blue square”, “make the red circle bigger” / “smaller”, “change the background to black”.
- **Never seen in training:** {held_out}. Ask for them to see whether it composes colours and shapes it learned apart.

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

{scores or f"No `{CARD}` beside this checkpoint: it has not been graded. Grade it with `python -m transfusion.evaluation --model {checkpoint_dir}`."}

One transformer writes the words and draws the pictures (Transfusion, Zhou et al. 2024): it predicts the next token for text and denoises image patches with diffusion, in one sequence.
""".strip()
