"""The image autoencoder: a diffusers `AutoencoderKL` built from the config (no download).

Images are RGB in [-1, 1], shape (B, 3, S, S); latents are (B, C, h, w) already multiplied
by the scaling factor, so the diffusion process sees roughly unit-variance numbers.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import AutoencoderKL
from PIL import Image

from .config import VAEConfig


def encoder_decoder(config: VAEConfig) -> dict:
    """The encoder's and decoder's layout as diffusers' autoencoders take it (the VAE's here, and
    the discrete arm's VQ tokenizer's, `chameleon/vq.py`): `len(block_out_channels) - 1` halvings."""
    n = len(config.block_out_channels)
    return dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * n,
                up_block_types=("UpDecoderBlock2D",) * n, block_out_channels=tuple(config.block_out_channels),
                layers_per_block=config.layers_per_block, latent_channels=config.latent_channels,
                norm_num_groups=config.norm_num_groups, sample_size=config.image_size)


def build_vae(config: VAEConfig) -> AutoencoderKL:
    """An untrained AutoencoderKL of the config's layout."""
    return AutoencoderKL(**encoder_decoder(config), scaling_factor=config.scaling_factor)


@torch.no_grad()
def encode(vae: AutoencoderKL, images: torch.Tensor, sample: bool = False) -> torch.Tensor:
    """(B, 3, S, S) in [-1, 1] -> scaled latents (B, C, h, w); the posterior mean unless `sample`."""
    dist = vae.encode(images).latent_dist
    z = dist.sample() if sample else dist.mean
    return z * vae.config.scaling_factor


@torch.no_grad()
def decode(vae: AutoencoderKL, latents: torch.Tensor) -> torch.Tensor:
    """Scaled latents (B, C, h, w) -> images (B, 3, S, S) clamped to [-1, 1]."""
    return vae.decode(latents / vae.config.scaling_factor).sample.clamp(-1, 1)


def to_tensor(images: list[Image.Image], size: int) -> torch.Tensor:
    """PIL images of any size or mode -> (B, 3, size, size) in [-1, 1]."""
    arrays = []
    for im in images:
        im = im.convert("RGB")
        if im.size != (size, size):
            im = im.resize((size, size), Image.Resampling.BICUBIC)
        arrays.append(np.asarray(im, dtype=np.float32))
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)  # (B, 3, S, S)
    return x / 127.5 - 1.0


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    """(B, 3, S, S) in [-1, 1] -> PIL RGB images."""
    x = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return [Image.fromarray(a.permute(1, 2, 0).cpu().numpy()) for a in x]
