"""The discrete arm's image tokenizer: the VAE's encoder and decoder around a vector-quantised
bottleneck (diffusers' `VQModel`), so that an image is h * w code indices, not (C, h, w) numbers.

As the paper builds Chameleon's baseline (section 4.1): the same architecture, data and training
as the autoencoder, the KL term replaced by the commitment loss. With the project's 4x
downsampling a 64-pixel picture is 16 x 16 = 256 codes, 4x the 64 patch tokens Transfusion's
2 x 2 patches give it: the paper's ratio.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import VQModel

from ..config import VAEConfig
from ..vae import encoder_decoder


@dataclass
class VQConfig(VAEConfig):
    """The autoencoder's fields (`VAEConfig`: size, blocks, latent channels = the code vectors'
    width) and the number of codes."""

    codebook_size: int = 256

    @classmethod
    def from_json(cls, path: str | Path) -> "VQConfig":
        data = json.loads(Path(path).read_text())
        known = {f.name for f in dataclasses.fields(cls)}
        if set(data) - known:
            raise ValueError(f"{path}: unknown fields {sorted(set(data) - known)}; known: {sorted(known)}")
        if "block_out_channels" in data:
            data["block_out_channels"] = tuple(data["block_out_channels"])
        return cls(**data)


def build_vq(config: VQConfig) -> VQModel:
    """An untrained VQModel with the encoder and decoder `vae.build_vae` gives the same config."""
    return VQModel(**encoder_decoder(config), num_vq_embeddings=config.codebook_size)


@torch.no_grad()
def image_codes(vq: VQModel, images: torch.Tensor) -> torch.Tensor:
    """(N, 3, S, S) in [-1, 1] -> (N, h * w) code indices, row by row."""
    h = vq.encode(images).latents
    _, _, (_, _, indices) = vq.quantize(h)
    return indices.view(h.shape[0], -1)


@torch.no_grad()
def decode_codes(vq: VQModel, codes: torch.Tensor) -> torch.Tensor:
    """(N, h * w) code indices -> (N, 3, S, S) in [-1, 1]."""
    n, length = codes.shape
    side = int(round(length**0.5))
    if side * side != length:
        raise ValueError(f"{length} codes do not make a square grid")
    quant = vq.quantize.get_codebook_entry(codes.reshape(-1), (n, side, side, vq.config.latent_channels))
    return vq.decode(quant, force_not_quantize=True).sample.clamp(-1, 1)


COMMITMENT_BETA = 0.25  # VQ-VAE's weight of the commitment term (van den Oord et al. 2017)


class VQReconstruction(torch.nn.Module):
    """The tokenizer's training forward in one call (so that DDP sees it): image -> (its
    reconstruction through the codes, the VQ-VAE loss, the share of codes the batch used).

    The loss is VQ-VAE's: ||sg[h] - e||^2 moves the codebook, 0.25 ||h - sg[e]||^2 commits the
    encoder. It is computed here because diffusers' quantizer, built with `legacy=True` by
    VQModel, weighs the two the other way round."""

    def __init__(self, vq: VQModel):
        super().__init__()
        self.vq = vq

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return decode_codes(self.vq, image_codes(self.vq, x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.vq.encode(x).latents  # (N, C, h, w)
        quant, _, (_, _, indices) = self.vq.quantize(h)  # the straight-through code vectors
        e = self.vq.quantize.embedding(indices.view(-1)).view(h.shape[0], h.shape[2], h.shape[3], -1).permute(0, 3, 1, 2)
        loss = (e - h.detach()).pow(2).mean() + COMMITMENT_BETA * (e.detach() - h).pow(2).mean()
        recon = self.vq.decoder(self.vq.post_quant_conv(quant))
        used = indices.unique().numel() / self.vq.config.num_vq_embeddings
        return recon, loss, torch.tensor(used)
