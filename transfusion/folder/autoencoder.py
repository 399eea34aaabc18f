"""How well an autoencoder keeps a folder's pictures: `python -m transfusion.folder.autoencoder --vae DIR --data FOLDER`.

Encodes and decodes every catalogue picture (held-out ones included: a drawing of one must be
able to come out right too) and reports the share whose reconstruction retrieves its own entry
(`retrieval.py`), training and held-out pictures apart, with the entries that failed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ..evaluation.score import Tally
from ..vae import decode, encode, to_pil, to_tensor
from .format import read_folder
from .retrieval import Catalogue
from .source import load_picture


@torch.no_grad()
def reconstruction_rates(vae, catalogue: Catalogue, held_out: frozenset[Path], batch: int = 64) -> tuple[dict, list[str]]:
    """({"training": tally, "held out": tally}, captions of the entries that failed)."""
    tallies = {"training": Tally(), "held out": Tally()}
    failed = []
    entries = catalogue.entries
    for start in range(0, len(entries), batch):
        chunk = entries[start : start + batch]
        x = to_tensor([load_picture(e.image) for e in chunk], vae.config.sample_size)
        for k, image in enumerate(to_pil(decode(vae, encode(vae, x)))):
            i, entry = start + k, chunk[k]
            ok = catalogue.retrieves(image, i)
            tallies["held out" if entry.image in held_out else "training"].add(ok)
            if not ok:
                failed.append(entry.caption)
    return {k: t.as_dict() for k, t in tallies.items()}, failed


def main(argv=None) -> None:
    from diffusers import AutoencoderKL

    p = argparse.ArgumentParser(prog="python -m transfusion.folder.autoencoder", description=__doc__)
    p.add_argument("--vae", type=Path, required=True, help="VAE folder (diffusers format)")
    p.add_argument("--data", type=Path, required=True, help="the folder whose pictures to reconstruct")
    args = p.parse_args(argv)
    folder = read_folder(args.data)
    vae = AutoencoderKL.from_pretrained(args.vae, use_safetensors=True, local_files_only=True).eval()
    rates, failed = reconstruction_rates(vae, Catalogue(folder.entries), folder.held_out)
    for name, t in rates.items():
        if t["total"]:
            print(f"{name}: reconstructions retrieve their own entry: {100 * t['accuracy']:.1f} % of {t['total']} "
                  f"(95 % interval {100 * t['low']:.1f}–{100 * t['high']:.1f})")
    if failed:
        print(f"failed ({len(failed)}): " + "; ".join(failed[:30]) + (" ..." if len(failed) > 30 else ""))


if __name__ == "__main__":
    main()
