"""How well the autoencoder keeps a ShapesWorld scene: `python -m transfusion.evaluation.vae --vae DIR`.

Encodes and decodes random renders (held-out pairs included: they must survive too) and
reports the share whose reconstruction the analyser reads back as exactly the same scene.
Either kind of autoencoder (`autoencoder.py`): the VAE, or the discrete arm's VQ tokenizer,
for which it also reports the share of the codebook the renders' codes use.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import torch

from ..autoencoder import codebook_size, from_model_images, load_autoencoder, to_model_images
from ..shapesworld import Unreadable, analyse, random_scene, render
from ..vae import to_pil, to_tensor


@torch.no_grad()
def read_back(ae, n: int = 1000, seed: int = 1234, batch: int = 50) -> tuple[float, float | None]:
    """(share of reconstructions read back exactly, share of the codebook used: None for a VAE)."""
    rng = random.Random(seed)
    scenes = [random_scene(rng, allow_held_out=True) for _ in range(n)]
    exact, codes, size = 0, set(), codebook_size(ae)
    for i in range(0, n, batch):
        chunk = scenes[i:i + batch]
        z = to_model_images(ae, to_tensor([render(s) for s in chunk], ae.config.sample_size))
        if size:
            codes.update(z.unique().tolist())
        for scene, image in zip(chunk, to_pil(from_model_images(ae, z))):
            try:
                exact += analyse(image) == scene
            except Unreadable:
                pass
    return exact / n, (len(codes) / size if size else None)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m transfusion.evaluation.vae", description=__doc__)
    p.add_argument("--vae", type=Path, required=True, help="autoencoder folder (diffusers format): a VAE or a VQ tokenizer")
    p.add_argument("--n", type=int, default=1000, help="random scenes to reconstruct")
    p.add_argument("--seed", type=int, default=1234, help="seed of the scenes")
    args = p.parse_args(argv)
    exact, used = read_back(load_autoencoder(args.vae), args.n, args.seed)
    print(f"reconstructions read back exactly: {100 * exact:.1f}% of {args.n}")
    if used is not None:
        print(f"codebook used by their codes: {100 * used:.1f}%")


if __name__ == "__main__":
    main()
