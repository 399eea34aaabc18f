"""A checkpoint's own sampling defaults (`generation_config.json`): written, read, checked, and
used by the pipeline, the evaluator and the app's sliders unless a call says otherwise."""

import json

import pytest
import torch

from transfusion.app.settings import CONTROLS, controls_for, to_settings
from transfusion.checkpoint import Checkpoint
from transfusion.evaluation.cli import WithSettings
from transfusion.generation_config import (GENERATION_CONFIG, Settings, load_generation_config,
                                           save_generation_config)
from transfusion.pipeline import TransfusionPipeline


def test_only_changed_fields_are_written_and_read_back(tmp_path):
    save_generation_config(Settings(steps=10, guidance=2.5), tmp_path)
    assert json.loads((tmp_path / GENERATION_CONFIG).read_text()) == {"steps": 10, "guidance": 2.5}
    assert load_generation_config(tmp_path) == Settings(steps=10, guidance=2.5)
    save_generation_config(Settings(), tmp_path)  # nothing differs: no file
    assert not (tmp_path / GENERATION_CONFIG).exists()
    assert load_generation_config(tmp_path) == Settings()


@pytest.mark.parametrize("text, message", [
    ('{"steps": 10, "colour": 1}', "unknown settings \\['colour'\\]"),
    ('{"steps": 0}', "steps must be an integer from 1 to 1000"),
    ('{"guidance": "high"}', "guidance must be a number"),
    ('{"steps": 10', "not valid JSON"),
    ('[10]', "expected a JSON object"),
])
def test_a_bad_file_is_refused_with_its_path(tmp_path, text, message):
    (tmp_path / GENERATION_CONFIG).write_text(text)
    with pytest.raises(ValueError, match=message) as e:
        load_generation_config(tmp_path)
    assert GENERATION_CONFIG in str(e.value)


def test_overrides_are_checked():
    assert Settings(steps=10).with_overrides(guidance=1.0) == Settings(steps=10, guidance=1.0)
    with pytest.raises(ValueError, match="steps must be"):
        Settings().with_overrides(steps=-1)
    with pytest.raises(ValueError, match="code_temperature must be"):
        Settings(code_temperature=0.0)  # codes are never drawn greedily
    with pytest.raises(TypeError, match="unknown settings: colour"):
        Settings().with_overrides(colour="red")


@pytest.fixture
def saved(tiny_checkpoint, tmp_path):
    tiny_checkpoint.defaults = Settings(steps=3, guidance=1.5)
    tiny_checkpoint.save_pretrained(tmp_path / "ckpt")
    return tmp_path / "ckpt"


def test_the_checkpoint_carries_its_defaults(saved, tmp_path):
    assert Checkpoint.from_pretrained(saved).defaults == Settings(steps=3, guidance=1.5)
    Checkpoint.from_pretrained(saved).save_pretrained(tmp_path / "copy", max_shard_mb=0.1)  # as reshard does
    assert Checkpoint.from_pretrained(tmp_path / "copy").defaults == Settings(steps=3, guidance=1.5)


def test_calls_use_the_checkpoints_defaults_unless_told_otherwise(saved):
    pipe = TransfusionPipeline.from_pretrained(saved, device="cpu")
    image = pipe.preview(torch.zeros(pipe.checkpoint.config.vae.latent_channels, 16, 16))
    seen = []
    pipe.edit_with_progress(image, "make it blue", seed=0, on_step=lambda i, total, x: seen.append(total))
    assert seen == [3, 3, 3]
    seen.clear()
    pipe.edit_with_progress(image, "make it blue", seed=0, on_step=lambda i, total, x: seen.append(total), steps=2)
    assert seen == [2, 2]
    assert pipe.settings(guidance=4.0) == Settings(steps=3, guidance=4.0)


def test_the_evaluator_reports_the_settings_it_samples_with(saved):
    model = WithSettings(TransfusionPipeline.from_pretrained(saved, device="cpu"), guidance=2.0)
    assert model.sampling() == {"steps": 3, "guidance": 2.0, "image_guidance": 1.5, "sampler": "default",
                                "temperature": 0.0, "top_p": 1.0}


def test_the_sliders_start_at_the_checkpoints_defaults():
    controls = controls_for(Settings(steps=10, guidance=2.0, max_new_tokens=4000))
    assert controls["steps"].value == 10 and controls["guidance"].value == 2.0
    assert controls["max_new_tokens"].value == CONTROLS["max_new_tokens"].maximum  # kept inside the slider
    assert controls["temperature"] == CONTROLS["temperature"]
    assert "sampler" not in to_settings(sampler="default")  # "default": the checkpoint's own sampler
    assert to_settings(sampler="euler") == {"sampler": "euler"}


def test_a_sampler_that_does_not_fit_the_objective_is_refused_at_load(saved):
    objective = Checkpoint.from_pretrained(saved).config.objective
    wrong = "euler" if objective != "flow" else "ddim"
    (saved / GENERATION_CONFIG).write_text(json.dumps({"sampler": wrong}))
    with pytest.raises(ValueError, match=f"sampler '{wrong}', which does not fit the '{objective}' objective"):
        Checkpoint.from_pretrained(saved)
