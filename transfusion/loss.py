"""The Transfusion loss (paper section 2.3): L = L_LM + lambda * L_diffusion.

L_LM is the next-token cross-entropy over every position that carries an LM target (in the
discrete arm, image codes too, and `config.z_loss` adds the weighted mean log(Z)^2 of those logits); L_diffusion
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
    denominators: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Returns the total loss and its parts {"lm", "diffusion"} (detached, for logging).

    Each part is a sum divided by a count: the LM targets and the noised images of `batch`,
    unless `denominators` ((2,): lm, images) says otherwise. Data-parallel training passes the counts
    of all processes' batches over the number of processes (`train.shared_denominators`): then the
    averaged gradients are those of the whole batch, however it is split."""
    x0 = batch.latents  # (N, C, h, w)
    noised = batch.image_noised  # (N,)
    noise, t = diffusion.draw(x0, batch.image_limited, batch.image_seeds, generator)
    t = torch.where(noised, t, torch.zeros_like(t))  # context images stay clean
    x_t = torch.where(noised.view(-1, 1, 1, 1), diffusion.add_noise(x0, noise, t), x0)

    config = getattr(model, "module", model).config  # through a DDP / FSDP wrapper
    mask = attention_mask(batch.doc_ids, batch.image_ids, config.images_bidirectional)
    logits, pred = model(batch.tokens, batch.positions, mask, x_t, t, batch.patch_index)

    has_target = batch.targets != IGNORE
    lm_den, image_den = (counts(batch) if denominators is None else denominators).clamp(min=1)
    # sums over empty selections are zeros that still reach every parameter (as DDP needs)
    scored = logits[has_target].float()
    lm = F.cross_entropy(scored, batch.targets[has_target], reduction="sum") / lm_den
    target = diffusion.target(x0, noise, t)
    per_image = x0[0].numel() if len(x0) else 1
    diff = (pred[noised].float() - target[noised].float()).pow(2).sum() / (image_den * per_image)
    loss = lm + config.diffusion_weight * diff
    parts = {"lm": lm.detach(), "diffusion": diff.detach()}
    if config.z_loss:  # keeps the logits' scale in check (Chameleon, section 2.3 of its paper)
        z = torch.logsumexp(scored, dim=-1).pow(2).sum() / lm_den
        loss = loss + config.z_loss * z
        parts["z"] = z.detach()
    return loss, parts


def counts(batch: Batch) -> torch.Tensor:
    """(LM targets, noised images) of a batch, (2,) float on its device: what each loss part is
    averaged over (a tensor, so that no step waits on the device to read it)."""
    return torch.stack([(batch.targets != IGNORE).sum(), batch.image_noised.sum()]).float()
