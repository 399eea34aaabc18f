import pytest
import torch

from transfusion.config import preset
from transfusion.patch import build_patch_layers, patchify, unpatchify


def test_patchify_is_raster_order_and_inverts():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float).reshape(2, 3, 4, 4)  # (N, C, h, w)
    p = patchify(x, 2)  # (N, 4, 12)
    assert p.shape == (2, 4, 12)
    # patch 1 is the top-right 2x2 block, channel-major
    assert torch.equal(p[0, 1], x[0, :, 0:2, 2:4].reshape(-1))
    assert torch.equal(unpatchify(p, 2, 3), x)


@pytest.mark.parametrize("encoder", ["linear", "unet"])
@pytest.mark.parametrize("p", [1, 2, 4])
def test_patch_layers_shapes(encoder, p):
    config = preset("tiny", patch_encoder=encoder, patch_size=p)
    enc, dec = build_patch_layers(config)
    x = torch.randn(3, config.vae.latent_channels, 16, 16)
    t = torch.tensor([0.0, 500.0, 999.0])
    tokens, skips = enc(x, t)
    assert tokens.shape == (3, (16 // p) ** 2, config.dim)
    assert dec(tokens, t, skips).shape == x.shape
