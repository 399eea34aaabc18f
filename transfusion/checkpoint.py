"""Checkpoints: the transformer, its tokenizer and its VAE, side by side in one folder.

    config.json          the TransfusionConfig
    model.safetensors    the transformer's weights (or shards and an index: see shards.py)
    tokenizer.model      the SentencePiece model
    vae/                 the AutoencoderKL, in diffusers' own format (config.json + safetensors);
                         in the discrete (Chameleon) arm, the VQModel (`chameleon/vq.py`)
    generation_config.json   optional: the model's own sampling defaults (see generation_config.py)

Only safetensors are read or written: nothing is ever unpickled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from diffusers import AutoencoderKL, VQModel

from .autoencoder import codebook_size, load_autoencoder, save_autoencoder
from .config import TransfusionConfig
from .diffusion import SAMPLERS
from .generation_config import Settings, load_generation_config, save_generation_config
from .model import Transfusion
from .shards import has_weights, load_weights, save_weights
from .tokenizer import Tokenizer

FILES = ("config.json", "tokenizer.model", "vae")  # and the weights


@dataclass
class Checkpoint:
    """Everything a Transfusion model needs to read and write text and images."""

    model: Transfusion
    tokenizer: Tokenizer
    vae: AutoencoderKL | VQModel
    defaults: Settings = field(default_factory=Settings)  # what a call samples with unless told otherwise
    compiled: bool = False  # decoding and denoising steps run through torch.compile (token_step, denoise_step)

    @property
    def config(self) -> TransfusionConfig:
        return self.model.config

    def save_pretrained(self, path: str | Path, max_shard_mb: float | None = None) -> None:
        """Write the checkpoint folder; with `max_shard_mb`, the weights in shards of at most
        that size (files small enough for a Space without Git LFS)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.config.save(path / "config.json")
        save_weights(self.model, path, max_shard_mb)
        self.tokenizer.save(path / "tokenizer.model")
        save_autoencoder(self.vae, path / "vae")
        save_generation_config(self.defaults, path)

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | torch.device = "cpu") -> "Checkpoint":
        path = Path(path)
        missing = [f for f in FILES if not (path / f).exists()] + ([] if has_weights(path) else ["model.safetensors"])
        if missing:
            raise FileNotFoundError(f"{path} is not a Transfusion checkpoint: missing {', '.join(missing)}")
        config = TransfusionConfig.load(path / "config.json")
        defaults = load_generation_config(path)
        if defaults.sampler is not None and defaults.sampler not in SAMPLERS[config.objective]:
            raise ValueError(f"{path}: generation_config.json asks for sampler {defaults.sampler!r}, which does not fit "
                             f"the {config.objective!r} objective; choose from {SAMPLERS[config.objective]}")
        model = Transfusion(config)
        load_weights(model, path)
        tokenizer = Tokenizer.load(path / "tokenizer.model")
        if tokenizer.vocab_size != config.vocab_size:
            raise ValueError(f"{path}: tokenizer has {tokenizer.vocab_size} tokens, config says {config.vocab_size}")
        vae = load_autoencoder(path / "vae")
        if codebook_size(vae) != config.image_codes:
            raise ValueError(f"{path}: the autoencoder gives {codebook_size(vae)} image codes, config says {config.image_codes}")
        if vae.config.latent_channels != config.vae.latent_channels:
            raise ValueError(f"{path}: VAE latent channels {vae.config.latent_channels} != config {config.vae.latent_channels}")
        return cls(model.to(device).eval(), tokenizer, vae.to(device).eval(), defaults)

