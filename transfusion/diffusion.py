"""The diffusion objective (paper section 2.3), on diffusers' schedulers.

Three objectives, chosen by `config.objective`:
  "epsilon"       the paper's: DDPM, cosine schedule, 1000 steps; x_t = sqrt(a_t) x_0 + sqrt(1 - a_t) eps,
                  the model predicts eps.
  "v_prediction"  the same noising, the model predicts v = sqrt(a_t) eps - sqrt(1 - a_t) x_0.
  "flow"          rectified flow (as in SD3): x_t = (1 - s) x_0 + s eps with s = t / 1000 drawn
                  logit-normal, the model predicts the velocity eps - x_0.
Timesteps are floats in [0, 1000); t = 0 marks a clean image (a context image, not noised).
Noise limiting (paper section 4.3): an image that precedes text it conditions draws t <= noise_limit.
"""

from __future__ import annotations

import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    FlowMatchEulerDiscreteScheduler,
)

from .config import TransfusionConfig

SAMPLERS = {
    "epsilon": ("ddim", "ddpm", "dpm++"),
    "v_prediction": ("ddim", "ddpm", "dpm++"),
    "flow": ("euler",),
}


class Diffusion:
    """Noising, targets and timestep sampling for training; fresh schedulers for sampling."""

    def __init__(self, config: TransfusionConfig):
        self.objective = config.objective
        self.T = config.num_train_timesteps
        self.noise_limit = config.noise_limit
        if self.objective == "flow":
            self.scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=self.T)
        else:
            self.scheduler = DDPMScheduler(
                num_train_timesteps=self.T,
                beta_schedule="squaredcos_cap_v2",  # the cosine schedule
                prediction_type=self.objective,
                # at t = 999 the cosine schedule leaves almost no signal, and x_0 recovered from a
                # predicted eps is divided by ~0: samplers clip it to the latents' range
                clip_sample=True,
                clip_sample_range=config.latent_clip,
            )

    def sample_timesteps(self, limited: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One t per image, shape (N,); images flagged in `limited` (N,) bool get t <= noise_limit."""
        N = limited.shape[0]
        if self.objective == "flow":
            # logit-normal: most samples at middling noise, where the velocity is hardest to learn
            s = torch.sigmoid(torch.randn(N, generator=generator))
            s = torch.where(limited, s * self.noise_limit / self.T, s)
            return s * self.T
        high = torch.where(limited, self.noise_limit + 1, self.T)
        return (torch.rand(N, generator=generator) * high).floor()  # uniform integers in [0, high)

    def draw(self, x0: torch.Tensor, limited: torch.Tensor, seeds: torch.Tensor,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Training noise like `x0` (N, C, h, w) and one t per image, drawn image by image: an
        image with a seed (`seeds` (N,), see `batch.image_seed`) from its own generator, one with
        `batch.NO_SEED` from `generator`. So a seeded image gets the same draw in any batch."""
        noise, t = [], []
        for i, seed in enumerate(seeds.tolist()):
            g = generator if seed < 0 else torch.Generator().manual_seed(seed)
            noise.append(torch.randn(x0.shape[1:], generator=g))
            t.append(self.sample_timesteps(limited[i:i + 1].cpu(), g))
        if not t:
            return torch.zeros_like(x0), torch.zeros(0, device=x0.device)
        return torch.stack(noise).to(x0), torch.cat(t).to(x0.device)

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_t from clean latents x0 (N, C, h, w), noise of the same shape and t (N,)."""
        if self.objective == "flow":
            s = (t / self.T).view(-1, 1, 1, 1).to(x0.dtype)
            return (1 - s) * x0 + s * noise
        return self.scheduler.add_noise(x0, noise, t.long().cpu()).to(x0.dtype)

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """What the image head must predict for these (x0, noise, t)."""
        if self.objective == "epsilon":
            return noise
        if self.objective == "v_prediction":
            return self.scheduler.get_velocity(x0, noise, t.long().cpu()).to(x0.dtype)
        return noise - x0

    def sampler(self, name: str | None = None):
        """A fresh diffusers scheduler for sampling; `None` picks the objective's default."""
        names = SAMPLERS[self.objective]
        name = name or names[0]
        if name not in names:
            raise ValueError(f"sampler {name!r} does not fit the {self.objective!r} objective; choose from {names}")
        config = self.scheduler.config
        if name == "ddim":
            return DDIMScheduler.from_config(config, timestep_spacing="trailing")
        if name == "dpm++":
            return DPMSolverMultistepScheduler.from_config(
                config, algorithm_type="dpmsolver++", timestep_spacing="trailing",
                thresholding=True, dynamic_thresholding_ratio=1.0, sample_max_value=config.clip_sample_range,
            )
        if name == "ddpm":
            return DDPMScheduler.from_config(config)
        return FlowMatchEulerDiscreteScheduler.from_config(config)
