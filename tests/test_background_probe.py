"""The background probe of the patch-size ablation: its reading of a background, its decoder gain,
and a whole probe on the tiny model."""

import torch
from PIL import Image

from transfusion.experiments.background_probe import decoder_gain, probe
from transfusion.pipeline import TransfusionPipeline
from transfusion.shapesworld.analyse import analyse, read_background
from transfusion.shapesworld.render import render
from transfusion.shapesworld.world import BACKGROUNDS, Obj, Scene


def test_a_rendered_background_reads_back_as_analyse_reads_it():
    for background in BACKGROUNDS:
        picture = render(Scene(background=background, objects=(Obj("circle", "red", "large", 0, 0),)))
        assert read_background(picture) == background == analyse(picture).background
    assert read_background(Image.new("RGB", (64, 64), (255, 0, 255))) is None  # magenta is none of the three


class MeanDecoder(torch.nn.Module):
    """A decoder whose prediction is the tokens' mean times W, the same at every position."""

    def __init__(self, W: torch.Tensor):
        super().__init__()
        self.W = W  # (D, C)

    def forward(self, h, t, skips):
        return (h.mean(dim=1) @ self.W)[:, :, None, None].expand(-1, -1, 4, 4)


def test_decoder_gain_is_the_largest_singular_value_of_the_mean_map():
    torch.manual_seed(0)
    W = torch.randn(16, 3)
    seen = {"h": torch.randn(1, 9, 16), "t": torch.zeros(1), "skips": []}
    assert abs(decoder_gain(MeanDecoder(W), seen) - float(torch.linalg.svdvals(W)[0])) < 1e-5


def test_the_probe_draws_each_background_with_one_seed_and_reports_in_range(tiny_checkpoint):
    torch.nn.init.normal_(tiny_checkpoint.model.patch_out.proj.weight, std=0.1)  # a zero decoder has no gain
    r = probe(TransfusionPipeline(tiny_checkpoint), scenes=1, seeds=1, steps=2)
    assert r["pictures"] == len(BACKGROUNDS)
    assert 0 <= r["drawn right"] <= 1 and r["seed-bound"] in (0.0, 1.0)
    assert r["hidden apart"] > 0  # the prompts differ, so the transformer's output on the picture does
    assert r["mean apart"] >= 0 and r["decoder gain"] > 0
