"""One config dataclass for the whole model, with named presets.

The config is saved as `config.json` beside the weights, so every field is a plain
JSON value. Sizes are in tokens, latents and pixels as noted.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

OBJECTIVES = ("epsilon", "v_prediction", "flow")
PATCH_ENCODERS = ("linear", "unet")
IMAGE_ATTENTION = ("bidirectional", "causal")


@dataclass
class VAEConfig:
    """The image autoencoder (a diffusers `AutoencoderKL` built from these fields)."""

    image_size: int = 64  # pixels per side of the RGB image
    latent_channels: int = 4  # C
    block_out_channels: tuple[int, ...] = (16, 32, 64)  # 3 blocks: 4x downsampling
    layers_per_block: int = 1
    norm_num_groups: int = 8
    scaling_factor: float = 1.0  # latents are multiplied by this before diffusion

    @property
    def latent_size(self) -> int:
        """h = w of the latent grid: the image side over 2^(blocks - 1)."""
        return self.image_size // 2 ** (len(self.block_out_channels) - 1)


@dataclass
class TransfusionConfig:
    """The transformer, its image patching and its diffusion objective."""

    # text
    vocab_size: int = 512
    max_seq_len: int = 512
    # transformer (paper section 2: RoPE, RMSNorm, SwiGLU)
    dim: int = 256  # D
    n_layers: int = 8
    n_heads: int = 8  # H
    mlp_hidden: int = 0  # 0 means 8/3 * D rounded up to a multiple of 64
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    # images: latents (C, h, w) cut into p x p patches, one token each
    vae: VAEConfig = field(default_factory=VAEConfig)
    patch_size: int = 2  # p
    patch_encoder: str = "linear"  # "linear" or "unet" (paper's ablation, section 4.3)
    unet_channels: int = 64  # width of the U-Net down/up blocks when patch_encoder == "unet"
    # attention among one image's patches: "bidirectional" (the paper's), or "causal" as for
    # text (its ablation, section 4.3: FID 61.3 with causal, 20.3 bidirectional, linear patches)
    image_attention: str = "bidirectional"
    # diffusion (paper section 2.3)
    objective: str = "epsilon"  # "epsilon" (paper), "v_prediction", or "flow" (rectified flow)
    num_train_timesteps: int = 1000
    diffusion_weight: float = 5.0  # lambda in L = L_LM + lambda * L_diffusion
    latent_clip: float = 4.0  # samplers clip predicted clean latents to [-this, this]
    noise_limit: int = 500  # an image that precedes text it conditions is noised to t <= this
    text_dropout: float = 0.1  # probability that a document's text is dropped (for CFG)
    image_dropout: float = 0.05  # probability that text and context images are dropped
    # the discrete (Chameleon) arm of the paper's comparison (`chameleon/`): > 0 makes an image
    # this many more token ids after the text's (a VQ tokenizer's codes, one per latent cell),
    # predicted by the LM loss, with causal attention everywhere; 0 is Transfusion
    image_codes: int = 0
    qk_norm: bool = False  # RMSNorm on each head's queries and keys (Chameleon's stabiliser)
    z_loss: float = 0.0  # weight of log(Z)^2 of the LM logits (Chameleon's other stabiliser)

    def __post_init__(self) -> None:
        if isinstance(self.vae, dict):
            self.vae = VAEConfig(**{**self.vae, "block_out_channels": tuple(self.vae["block_out_channels"])})
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.patch_encoder not in PATCH_ENCODERS:
            raise ValueError(f"patch_encoder must be one of {PATCH_ENCODERS}, got {self.patch_encoder!r}")
        if self.image_attention not in IMAGE_ATTENTION:
            raise ValueError(f"image_attention must be one of {IMAGE_ATTENTION}, got {self.image_attention!r}")
        if self.dim % self.n_heads:
            raise ValueError(f"dim ({self.dim}) must be divisible by n_heads ({self.n_heads})")
        if self.vae.latent_size % self.patch_size:
            raise ValueError(f"latent size {self.vae.latent_size} is not divisible by patch_size {self.patch_size}")
        if self.patch_encoder == "unet" and self.patch_size & (self.patch_size - 1):
            raise ValueError("the U-Net patch encoder halves the grid per block: patch_size must be a power of 2")
        if self.image_codes < 0:
            raise ValueError(f"image_codes must be >= 0, got {self.image_codes}")
        if not 0 <= self.noise_limit < self.num_train_timesteps:
            raise ValueError(f"noise_limit must be in [0, {self.num_train_timesteps}), got {self.noise_limit}")

    @property
    def hidden_dim(self) -> int:
        """SwiGLU hidden width: 8/3 of D (as in LLaMA), a multiple of 64."""
        if self.mlp_hidden:
            return self.mlp_hidden
        return -(-int(8 * self.dim / 3) // 64) * 64

    @property
    def images_bidirectional(self) -> bool:
        """Whether a patch sees every patch of its image (else only those before it)."""
        return self.image_attention == "bidirectional"

    @property
    def discrete(self) -> bool:
        """Whether images are code tokens (the Chameleon arm) rather than diffused latents."""
        return self.image_codes > 0

    @property
    def token_count(self) -> int:
        """Rows of the embedding and the LM head: the text's ids, then the image codes' (if any)."""
        return self.vocab_size + self.image_codes

    @property
    def patches_per_image(self) -> int:
        """Tokens that one image occupies between its BOI and EOI markers: its p x p patches,
        or, in the discrete arm, one code per latent cell."""
        if self.discrete:
            return self.vae.latent_size**2
        return (self.vae.latent_size // self.patch_size) ** 2

    @property
    def image_tokens(self) -> int:
        """Tokens that one image takes in a sequence: BOI, its patches, EOI."""
        return self.patches_per_image + 2

    def room(self, images: int = 0) -> int:
        """Tokens of the model's context left once `images` more images are given theirs."""
        return self.max_seq_len - images * self.image_tokens

    def fits(self, tokens: int, images: int = 0) -> bool:
        """Whether `tokens` tokens and then `images` more images fit in the model's context."""
        return tokens <= self.room(images)

    @property
    def patch_dim(self) -> int:
        """Numbers in one flattened patch: C * p * p."""
        return self.vae.latent_channels * self.patch_size**2

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "TransfusionConfig":
        data = json.loads(Path(path).read_text())
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown config fields {sorted(unknown)}")
        return cls(**data)


PRESETS = {
    # the two-layer, width-64 model of the tests: runs in seconds on a CPU
    "tiny": dict(dim=64, n_layers=2, n_heads=4,
                 vae=VAEConfig(block_out_channels=(8, 16, 16), norm_num_groups=4)),
    # the built-in ShapesWorld model (sized by measurement in the training issue)
    "small": dict(dim=256, n_layers=8, n_heads=8),
}


def preset(name: str, **overrides) -> TransfusionConfig:
    """A named preset, with any field overridden: `preset("tiny", objective="flow")`."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return TransfusionConfig(**{**PRESETS[name], **overrides})
