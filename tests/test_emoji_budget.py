"""The emoji budget benchmark's arms, read before a long run rather than during it: every command
it would run is parsed by the training scripts' own parsers, every arm is a model that can be
built, and the helpers that read its logs are checked on a log of known times."""

import json
from pathlib import Path

import pytest

from benchmarks import emoji_budget as budget
from transfusion import train, train_vae
from transfusion.config import VAEConfig, preset

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", list(budget.AUTOENCODERS))
def test_every_autoencoder_arm_is_a_config_train_vae_takes(name, tmp_path):
    base = json.loads(budget.VAE_BASE.read_text())
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**base, **budget.AUTOENCODERS[name]}))
    args = train_vae.parse_args([*budget.autoencoder_args(config), "--out", str(tmp_path), "--steps", "10"])
    vae = VAEConfig(**json.loads(args.config.read_text()))
    assert vae.image_size == budget.AUTOENCODERS[name]["image_size"]
    assert vae.latent_size == vae.image_size // 4  # the shipped blocks: 4x down, as the table's "latent" says
    assert args.ema_decay == budget.SHORT_EMA and args.sample_every == 0


@pytest.mark.parametrize("name", list(budget.TRANSFORMERS))
def test_every_transformer_arm_is_a_command_train_takes_and_a_model_that_builds(name, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    asked = []  # the prepared folder is not here: what the parser would build the source from, instead
    monkeypatch.setattr(train, "make_source", lambda *a: asked.append(a))
    args = train.parse_args([*budget.transformer_args(name), "--out", str(tmp_path), "--steps", "10"])
    assert asked == [(str(budget.DATA), args.seed, None, "emoji")]
    config = preset(args.preset, **args.model)
    sizes, vae_name = budget.TRANSFORMERS[name]
    assert (config.dim, config.n_layers, config.n_heads) == (sizes["dim"], sizes["n_layers"], sizes["n_heads"])
    assert config.patch_size == budget.PATCH and config.dim % config.n_heads == 0
    assert (args.vae == budget.SHIPPED_VAE) == (vae_name is None) and args.vae == budget.arm_vae(name)
    assert args.pack == 512 and args.eval_cases == 0


def test_the_accuracy_arms_are_transformer_arms():
    assert set(budget.ACCURACY_ARMS) <= set(budget.TRANSFORMERS)


def test_the_log_readers_on_a_log_of_known_times(tmp_path):
    # steps 10, 20, ..., 100, one every 5 s: 0.5 s a step, 50 s in all (the first line's 10 steps counted)
    lines = [{"step": 10 * k, "time": 1000.0 + 5 * k, "lm": float(k)} for k in range(1, 11)]
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert budget.log_lines(tmp_path) == lines
    assert budget.seconds_a_step(tmp_path) == pytest.approx(0.5)
    assert budget.minutes_run(lines) == pytest.approx(50 / 60)
    assert budget.last_tenth(lines, "lm") == 10.0  # the last tenth of ten lines is the last line
    assert budget.last_tenth(lines[:3], "lm") == 3.0  # at least one line
