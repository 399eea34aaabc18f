"""Shared fixtures: a tokenizer and the tiny (two-layer, width-64) model of the tests."""

import random

import pytest
import torch

from transfusion.checkpoint import Checkpoint
from transfusion.config import preset
from transfusion.model import Transfusion
from transfusion.tokenizer import train_tokenizer
from transfusion.vae import build_vae

WORDS = "a small large red blue green yellow circle square triangle diamond in the top left corner at the bottom on a white black gray background describe this image make it".split()


@pytest.fixture(scope="session")
def tokenizer():
    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(10)) for _ in range(2000)]
    return train_tokenizer(texts, vocab_size=320)


@pytest.fixture
def tiny_config(tokenizer):
    return preset("tiny", vocab_size=tokenizer.vocab_size)


@pytest.fixture
def tiny_checkpoint(tokenizer, tiny_config):
    torch.manual_seed(0)
    return Checkpoint(Transfusion(tiny_config).eval(), tokenizer, build_vae(tiny_config.vae).eval())


def latent(config, seed: int) -> torch.Tensor:
    """A smooth, reproducible latent grid (C, h, w): upsampled low-resolution noise."""
    g = torch.Generator().manual_seed(seed)
    c, s = config.vae.latent_channels, config.vae.latent_size
    low = torch.randn(1, c, 4, 4, generator=g)
    return torch.nn.functional.interpolate(low, size=s, mode="bilinear", align_corners=False)[0]
