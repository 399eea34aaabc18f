"""The frozen image autoencoder of a model, of either kind: the one place that tells them apart.

Transfusion's is a VAE (`vae.py`: pictures <-> latents (N, C, h, w)); the discrete (Chameleon)
arm's a VQ tokenizer (`chameleon/vq.py`: pictures <-> codes (N, L)). Training, checkpoints, the
pipeline and the experiments load, encode and decode through these functions.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import AutoencoderKL, VQModel

from .chameleon.vq import decode_codes, image_codes
from .config import VAEConfig
from .vae import decode, encode


def load_autoencoder(folder: str | Path) -> AutoencoderKL | VQModel:
    """A saved autoencoder, in eval mode: a VQ tokenizer where its diffusers config names one."""
    config = Path(folder) / "config.json"
    name = json.loads(config.read_text()).get("_class_name") if config.exists() else None
    kind = VQModel if name == "VQModel" else AutoencoderKL
    return kind.from_pretrained(folder, use_safetensors=True, local_files_only=True).eval()


def save_autoencoder(ae: AutoencoderKL | VQModel, folder: str | Path) -> None:
    """Write an autoencoder folder that says nothing of where it was read from: diffusers keeps
    the load path as `_name_or_path` in the config, so a copy of an unchanged autoencoder would
    differ from its source by a path of the machine that wrote it."""
    ae.save_pretrained(folder, safe_serialization=True)
    config = Path(folder) / "config.json"
    saved = json.loads(config.read_text())
    if saved.pop("_name_or_path", None) is not None:
        config.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")


def autoencoder_config(ae: AutoencoderKL | VQModel) -> VAEConfig:
    """The VAEConfig of a loaded autoencoder (the model's config holds a copy)."""
    c = ae.config
    return VAEConfig(image_size=c.sample_size, latent_channels=c.latent_channels,
                     block_out_channels=tuple(c.block_out_channels), layers_per_block=c.layers_per_block,
                     norm_num_groups=c.norm_num_groups, scaling_factor=c.scaling_factor)


def codebook_size(ae: AutoencoderKL | VQModel) -> int:
    """The image codes a VQ tokenizer gives (`config.image_codes`), 0 for a VAE."""
    return ae.config.num_vq_embeddings if isinstance(ae, VQModel) else 0


def to_model_images(ae: AutoencoderKL | VQModel, images: torch.Tensor) -> torch.Tensor:
    """Pictures (N, 3, S, S) in [-1, 1] -> what the transformer reads: latents or codes."""
    return image_codes(ae, images) if isinstance(ae, VQModel) else encode(ae, images)


def from_model_images(ae: AutoencoderKL | VQModel, z: torch.Tensor) -> torch.Tensor:
    """Latents or codes -> pictures (N, 3, S, S) in [-1, 1]."""
    return decode_codes(ae, z) if isinstance(ae, VQModel) else decode(ae, z)
