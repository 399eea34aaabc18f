"""Exponential moving average of a model's weights, used for sampling."""

from __future__ import annotations

import torch
from torch import nn


class EMA:
    """shadow <- d * shadow + (1 - d) * weights after every optimizer step, with a warm-up
    d = min(decay, (1 + n) / (10 + n)) so that early averages do not remember the random init."""

    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.decay = decay
        self.steps = 0
        self.shadow = {k: v.detach().clone().float() for k, v in model.state_dict().items() if v.is_floating_point()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.steps += 1
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        for k, v in model.state_dict().items():
            if k in self.shadow:
                self.shadow[k].lerp_(v.float(), 1 - d)

    def copy_to(self, model: nn.Module) -> None:
        """Load the averaged weights into `model` (a copy used for sampling or saving)."""
        state = model.state_dict()
        model.load_state_dict({k: self.shadow[k].to(v.dtype) if k in self.shadow else v for k, v in state.items()})
