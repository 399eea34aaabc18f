"""The Transfusion loss (paper section 2.3): L = L_LM + lambda * L_diffusion.

L_LM is the next-token cross-entropy over every position that carries an LM target; L_diffusion
is the mean squared error between the image head's prediction and the objective's target
(the noise for the paper's epsilon objective), averaged over the noised images. Context images
(t = 0) pass through unnoised and add nothing to L_diffusion.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .batch import IGNORE, Batch
from .diffusion import Diffusion
from .mask import attention_mask
from .model import Transfusion


def transfusion_loss(
    model: Transfusion,
    batch: Batch,
    diffusion: Diffusion,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Returns the total loss and its parts {"lm", "diffusion"} (detached, for logging)."""
    x0 = batch.latents  # (N, C, h, w)
    noised = batch.image_noised  # (N,)
    noise = torch.randn(x0.shape, generator=generator).to(x0)
    t = diffusion.sample_timesteps(batch.image_limited.cpu(), generator).to(x0.device)
    t = torch.where(noised, t, torch.zeros_like(t))  # context images stay clean
    x_t = torch.where(noised.view(-1, 1, 1, 1), diffusion.add_noise(x0, noise, t), x0)

    mask = attention_mask(batch.doc_ids, batch.image_ids)
    logits, pred = model(batch.tokens, batch.positions, mask, x_t, t, batch.patch_index)

    zero = logits.new_zeros(())
    has_target = batch.targets != IGNORE
    lm = F.cross_entropy(logits[has_target].float(), batch.targets[has_target]) if has_target.any() else zero
    if noised.any():
        target = diffusion.target(x0, noise, t)
        diff = (pred[noised].float() - target[noised].float()).pow(2).mean()
    else:
        diff = zero
    config = getattr(model, "module", model).config  # through a DDP / FSDP wrapper
    loss = lm + config.diffusion_weight * diff
    return loss, {"lm": lm.detach(), "diffusion": diff.detach()}
