"""Latents <-> patch tokens (paper section 2.1 and the ablation of section 4.3).

A latent grid (C, h, w) is cut into (h/p) * (w/p) patches of p x p, read in raster
order (left to right, top to bottom); each patch becomes one transformer token of width D.
Two ways to make that vector, chosen by `config.patch_encoder`:
  - "linear": flatten the patch (C*p*p numbers) and apply one linear layer;
  - "unet":   U-Net down blocks shrink the grid p times to (D, h/p, w/p), and U-Net up
              blocks grow it back on the way out, with skip connections between the two.
Both add the diffusion timestep embedding: the linear encoder to every patch vector,
the U-Net inside each residual block (as a U-Net does).
"""

from __future__ import annotations

import math

import torch
from diffusers.models.resnet import Downsample2D, ResnetBlock2D, Upsample2D
from torch import nn

from .config import TransfusionConfig


def patchify(latents: torch.Tensor, p: int) -> torch.Tensor:
    """(N, C, h, w) -> (N, h/p * w/p, C*p*p), patches in raster order."""
    N, C, h, w = latents.shape
    x = latents.reshape(N, C, h // p, p, w // p, p)  # (N, C, h/p, p, w/p, p)
    x = x.permute(0, 2, 4, 1, 3, 5)  # (N, h/p, w/p, C, p, p)
    return x.reshape(N, (h // p) * (w // p), C * p * p)


def unpatchify(patches: torch.Tensor, p: int, C: int) -> torch.Tensor:
    """(N, L, C*p*p) -> (N, C, h, w); the inverse of `patchify` for a square grid."""
    N, L, _ = patches.shape
    g = math.isqrt(L)  # patches per side
    x = patches.reshape(N, g, g, C, p, p).permute(0, 3, 1, 4, 2, 5)  # (N, C, g, p, g, p)
    return x.reshape(N, C, g * p, g * p)


class TimestepEmbedding(nn.Module):
    """Diffusion timestep t (a float in [0, 1000)) -> a vector of width `dim` (sinusoids + MLP)."""

    def __init__(self, dim: int, freq_dim: int = 256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.freq_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
        angles = t.float()[:, None] * freqs[None]  # (N, half)
        return self.mlp(torch.cat([angles.cos(), angles.sin()], dim=-1))


class LinearPatchEncoder(nn.Module):
    """Patch -> token by one linear layer, plus the timestep embedding."""

    def __init__(self, config: TransfusionConfig):
        super().__init__()
        self.p = config.patch_size
        self.proj = nn.Linear(config.patch_dim, config.dim)
        self.time = TimestepEmbedding(config.dim)

    def forward(self, latents: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, list]:
        x = self.proj(patchify(latents, self.p))  # (N, L, D)
        return x + self.time(t)[:, None, :], []  # no skips


class LinearPatchDecoder(nn.Module):
    """Token -> patch prediction by one linear layer (zero-initialised: predictions start at 0)."""

    def __init__(self, config: TransfusionConfig):
        super().__init__()
        self.p, self.C = config.patch_size, config.vae.latent_channels
        self.norm = nn.LayerNorm(config.dim, elementwise_affine=False, eps=1e-6)
        self.proj = nn.Linear(config.dim, config.patch_dim)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, skips: list) -> torch.Tensor:
        return unpatchify(self.proj(self.norm(x)), self.p, self.C)  # (N, C, h, w)


class UNetPatchEncoder(nn.Module):
    """Latent grid -> tokens by U-Net down blocks: log2(p) halvings, then a 1x1 conv to D."""

    def __init__(self, config: TransfusionConfig):
        super().__init__()
        c, temb = config.unet_channels, config.dim
        groups = min(32, c // 4)
        self.time = TimestepEmbedding(temb)
        self.conv_in = nn.Conv2d(config.vae.latent_channels, c, 3, padding=1)
        n_down = int(math.log2(config.patch_size))
        self.blocks = nn.ModuleList(
            ResnetBlock2D(in_channels=c, out_channels=c, temb_channels=temb, groups=groups) for _ in range(n_down + 1)
        )
        self.downs = nn.ModuleList(Downsample2D(c, use_conv=True, out_channels=c) for _ in range(n_down))
        self.to_tokens = nn.Conv2d(c, config.dim, 1)

    def forward(self, latents: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, list]:
        temb = self.time(t)  # (N, D)
        x = self.conv_in(latents)  # (N, c, h, w)
        skips = []
        for i, block in enumerate(self.blocks):
            x = block(x, temb)
            skips.append(x)
            if i < len(self.downs):
                x = self.downs[i](x)  # halve h and w
        tokens = self.to_tokens(x).flatten(2).transpose(1, 2)  # (N, h/p * w/p, D), raster order
        return tokens, skips


class UNetPatchDecoder(nn.Module):
    """Tokens -> latent grid by U-Net up blocks, each joined with the encoder's skip."""

    def __init__(self, config: TransfusionConfig):
        super().__init__()
        c, temb = config.unet_channels, config.dim
        groups = min(32, c // 4)
        self.time = TimestepEmbedding(temb)
        self.from_tokens = nn.Conv2d(config.dim, c, 1)
        n_up = int(math.log2(config.patch_size))
        self.blocks = nn.ModuleList(
            ResnetBlock2D(in_channels=2 * c, out_channels=c, temb_channels=temb, groups=groups) for _ in range(n_up + 1)
        )
        self.ups = nn.ModuleList(Upsample2D(c, use_conv=True, out_channels=c) for _ in range(n_up))
        self.norm_out = nn.GroupNorm(groups, c)
        self.conv_out = nn.Conv2d(c, config.vae.latent_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, skips: list) -> torch.Tensor:
        N, L, D = x.shape
        g = math.isqrt(L)
        temb = self.time(t)  # (N, D)
        x = self.from_tokens(x.transpose(1, 2).reshape(N, D, g, g))  # (N, c, h/p, w/p)
        for i, block in enumerate(self.blocks):
            x = block(torch.cat([x, skips[-1 - i]], dim=1), temb)
            if i < len(self.ups):
                x = self.ups[i](x)  # double h and w
        return self.conv_out(nn.functional.silu(self.norm_out(x)))  # (N, C, h, w)


def build_patch_layers(config: TransfusionConfig) -> tuple[nn.Module, nn.Module]:
    """The (encoder, decoder) pair that `config.patch_encoder` names."""
    if config.patch_encoder == "unet":
        return UNetPatchEncoder(config), UNetPatchDecoder(config)
    return LinearPatchEncoder(config), LinearPatchDecoder(config)
