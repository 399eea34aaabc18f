import torch
from PIL import Image

from transfusion.config import VAEConfig, preset
from transfusion.evaluation.vae import read_back
from transfusion.vae import build_vae, decode, encode, to_pil, to_tensor


def test_vae_maps_64px_images_to_the_configured_latent_grid():
    config = preset("tiny").vae
    vae = build_vae(config)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    z = encode(vae, x)
    assert z.shape == (2, config.latent_channels, config.latent_size, config.latent_size)
    assert decode(vae, z).shape == x.shape
    assert vae.config.scaling_factor == config.scaling_factor
    assert VAEConfig(block_out_channels=(32, 64)).latent_size == 32  # two blocks: 2x


def test_images_of_any_size_or_mode_become_rgb_tensors():
    images = [Image.new("RGBA", (100, 30), (255, 0, 0, 128)), Image.new("L", (64, 64), 128), Image.new("P", (8, 8))]
    x = to_tensor(images, 64)
    assert x.shape == (3, 3, 64, 64) and x.min() >= -1 and x.max() <= 1
    rgb = Image.new("RGB", (64, 64), (220, 40, 40))
    assert to_pil(to_tensor([rgb], 64))[0].getpixel((5, 5)) == (220, 40, 40)


def test_the_read_back_is_a_share_of_the_scenes():
    """The autoencoder's grade (`python -m transfusion.evaluation.vae`) runs end to end on a tiny VAE."""
    rate, used = read_back(build_vae(preset("tiny").vae).eval(), n=2, batch=2)
    assert used is None  # a VAE has no codebook
    assert 0.0 <= rate <= 1.0
