"""How well the autoencoder keeps a ShapesWorld scene: `python -m transfusion.evaluation.vae --vae DIR`.

Encodes and decodes random renders (held-out pairs included: they must survive too) and
reports the share whose reconstruction the analyser reads back as exactly the same scene.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import torch
from diffusers import AutoencoderKL

from ..shapesworld import Unreadable, analyse, random_scene, render
from ..vae import decode, encode, to_pil, to_tensor


@torch.no_grad()
def exact_rate(vae, n: int = 1000, seed: int = 1234, batch: int = 50) -> float:
    rng = random.Random(seed)
    scenes = [random_scene(rng, allow_held_out=True) for _ in range(n)]
    exact = 0
    for i in range(0, n, batch):
        chunk = scenes[i:i + batch]
        x = to_tensor([render(s) for s in chunk], vae.config.sample_size)
        for scene, image in zip(chunk, to_pil(decode(vae, encode(vae, x)))):
            try:
                exact += analyse(image) == scene
            except Unreadable:
                pass
    return exact / n


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m transfusion.evaluation.vae", description=__doc__)
    p.add_argument("--vae", type=Path, required=True, help="VAE folder (diffusers format)")
    p.add_argument("--n", type=int, default=1000, help="random scenes to reconstruct")
    p.add_argument("--seed", type=int, default=1234, help="seed of the scenes")
    args = p.parse_args(argv)
    vae = AutoencoderKL.from_pretrained(args.vae, use_safetensors=True, local_files_only=True).eval()
    print(f"reconstructions read back exactly: {100 * exact_rate(vae, args.n, args.seed):.1f}% of {args.n}")


if __name__ == "__main__":
    main()
