"""Does a trained run draw the background its prompt names, and where is it lost if not?

    python -m transfusion.experiments.background_probe ablate-unet ablate-patch4-unet

The 4x4 U-Net ablation drew one background per seed whatever the prompt asked (README, "Patch
size"). This probe asks each of `scenes` one-object prompts once on every background, each time
with the same seed (so the same starting noise), for each of `seeds` seeds, and reports:

- drawn right: the share of pictures whose border is nearest the background asked for;
- seed-bound: the share of (scene, seed) whose pictures all show one background, asked three;
- hidden apart: at the first denoising step (pure noise, where a flow sampler settles the large,
  uniform parts of the picture), how far the transformer's output on the picture's patches lies
  between two prompts that differ only in background, relative to its size (mean over pairs);
- mean apart: how far the per-channel mean of that step's prediction lies between them;
- decoder gain: the largest singular value of d(per-channel mean of the prediction) / d(one shift
  added to every patch's hidden state), at that step: how well the patch decoder can move the
  picture's mean level at all, whatever the transformer says.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import torch

from ..pipeline import TransfusionPipeline
from ..shapesworld.analyse import read_background
from ..shapesworld.captions import canonical_caption
from ..shapesworld.world import BACKGROUNDS, random_scene
from .paths import RUNS
from .run import run_folder


class FirstStep:
    """Records the patch decoder's inputs and output at its first call after `clear()`."""

    def __init__(self, decoder: torch.nn.Module):
        self.seen: dict = {}
        self.handle = decoder.register_forward_hook(self._hook)

    def _hook(self, module, args, out) -> None:
        if not self.seen:
            h, t, skips = args
            self.seen = {"h": h[:1].clone(), "t": t[:1].clone(), "skips": [s[:1].clone() for s in skips],
                         "out": out[:1].clone()}  # row 0: the prompt's own row (the others are guidance's)

    def clear(self) -> None:
        self.seen = {}


def decoder_gain(decoder: torch.nn.Module, seen: dict) -> float:
    """Largest singular value of d(per-channel mean of the prediction) / d(a shift of every token)."""
    def channel_mean(shift: torch.Tensor) -> torch.Tensor:
        return decoder(seen["h"] + shift, seen["t"], seen["skips"]).mean(dim=(2, 3))[0]  # (C,)

    jacobian = torch.autograd.functional.jacobian(channel_mean, torch.zeros(seen["h"].shape[-1]))  # (C, D)
    return float(torch.linalg.svdvals(jacobian)[0])


def probe(pipe: TransfusionPipeline, scenes: int = 5, seeds: int = 2, seed: int = 0, **settings) -> dict:
    """The figures of the module's docstring for one pipeline (`settings`: the sampling overrides)."""
    decoder = pipe.checkpoint.model.patch_out
    rng = random.Random(seed)
    drawn = right = bound = groups = 0
    hidden, means, gains = [], [], []
    first = FirstStep(decoder)
    try:
        for _ in range(scenes):
            scene = random_scene(rng, n_objects=1)
            for s in range(seeds):
                steps, got = [], []
                for background in BACKGROUNDS:
                    first.clear()
                    image = pipe.text_to_image(canonical_caption(replace(scene, background=background)), seed=s, **settings)
                    steps.append(first.seen)
                    got.append(read_background(image))
                    right += got[-1] == background
                    drawn += 1
                groups += 1
                bound += len(set(got)) == 1
                for a, b in combinations(steps, 2):
                    hidden.append(float((a["h"] - b["h"]).norm() / a["h"].norm()))
                    means.append(float((a["out"].mean(dim=(2, 3)) - b["out"].mean(dim=(2, 3))).norm()))
                gains.append(decoder_gain(decoder, steps[0]))
    finally:
        first.handle.remove()
    return {"pictures": drawn, "drawn right": right / drawn, "seed-bound": bound / groups,
            "hidden apart": sum(hidden) / len(hidden), "mean apart": sum(means) / len(means),
            "decoder gain": sum(gains) / len(gains)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m transfusion.experiments.background_probe", description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", help="run names (their model under --runs-dir/<budget>/<run>/model) or model folders")
    p.add_argument("--budget", default="cpu")
    p.add_argument("--runs-dir", type=Path, default=RUNS)
    p.add_argument("--scenes", type=int, default=5)
    p.add_argument("--seeds", type=int, default=2)
    args = p.parse_args(argv)
    print("| run | pictures | drawn right | seed-bound | hidden apart | mean apart | decoder gain |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for run in args.runs:
        folder = Path(run) if Path(run).is_dir() else run_folder(args.runs_dir, args.budget, run) / "model"
        r = probe(TransfusionPipeline.from_pretrained(folder, device="cpu"), args.scenes, args.seeds)
        print(f"| {run} | {r['pictures']} | {r['drawn right']:.0%} | {r['seed-bound']:.0%} | {r['hidden apart']:.3f} "
              f"| {r['mean apart']:.3f} | {r['decoder gain']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
