"""Training compute as the paper counts it (section 4.1): C = 6 * N * D.

N is the number of parameters a token passes through: the transformer blocks, the final norm,
the LM head and (Transfusion's) patch layers; the token embedding is a table look-up and is
left out, as in the scaling-law literature the paper follows. D is the number of tokens trained
on: every token of every document, text and image slots alike (`training.loop` logs it as
`tokens_seen`). Attention's own FLOPs (the T^2 term) are left out on purpose, as in the paper:
they would favour Transfusion, whose images are 4x shorter than Chameleon's.
"""

from __future__ import annotations

from torch import nn

FLOPS_PER_PARAMETER_TOKEN = 6  # 2 for the forward pass, 4 for the backward


def compute_params(model: nn.Module) -> int:
    """N: every parameter but the token embedding's."""
    embedding = sum(p.numel() for p in model.embed.parameters())
    return sum(p.numel() for p in model.parameters()) - embedding


def training_flops(params: int, tokens: int) -> float:
    """C = 6 * N * D."""
    return float(FLOPS_PER_PARAMETER_TOKEN) * params * tokens
