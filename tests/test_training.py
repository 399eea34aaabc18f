"""The two training commands on tiny configs: checkpoints that load and sample, exact resume."""

import json
import re

import pytest
import torch
from safetensors.torch import load_file

from training_helpers import train_args, train_tiny_vae
from transfusion import TransfusionPipeline, train

@pytest.fixture(scope="module")
def vae_dir(tmp_path_factory):
    """A VAE trained for a few steps by the real command."""
    vae = train_tiny_vae(tmp_path_factory.mktemp("vae"))
    assert (vae.parent / "samples" / "step000002.png").exists()
    return vae


def test_few_steps_write_a_checkpoint_that_loads_and_samples(vae_dir, tmp_path):
    train.main(train_args(vae_dir, tmp_path / "run", 3, "--sample-every", "3", "--sample-steps", "2", "--eval-cases", "1"))
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [1, 2, 3]
    assert {"lm", "diffusion", "tokens_per_s", "lr"} <= log[0].keys()
    assert (tmp_path / "run" / "samples" / "step000003.png").exists()
    table = (tmp_path / "run" / "eval.md").read_text()  # the evaluator's table at the end
    assert "| text → image | exact scene, 1 object |" in table and "| image → text | exact canonical caption |" in table
    assert "\nsampling: steps 25, guidance 3.0" in table
    pipe = TransfusionPipeline.from_pretrained(tmp_path / "run" / "model", device="cpu")
    image = pipe.text_to_image("a small red circle in the center on a white background", steps=2)
    assert image.size == (64, 64)
    assert isinstance(pipe.caption(image, max_new_tokens=5), str)


def test_resume_continues_exactly(vae_dir, tmp_path):
    train.main(train_args(vae_dir, tmp_path / "straight", 4))
    train.main(train_args(vae_dir, tmp_path / "broken", 2))
    first_call = json.loads((tmp_path / "broken" / "state" / "state.json").read_text())["seconds"]
    train.main(train_args(vae_dir, tmp_path / "broken", 4, "--resume"))
    for name in ("model.safetensors", "ema.safetensors", "optimizer.safetensors"):
        a = load_file(tmp_path / "straight" / "state" / name)
        b = load_file(tmp_path / "broken" / "state" / name)
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), (name, k)
    sa = json.loads((tmp_path / "straight" / "state" / "state.json").read_text())
    sb = json.loads((tmp_path / "broken" / "state" / "state.json").read_text())
    assert sa["step"] == sb["step"] == 4
    assert sa["scheduler"] == sb["scheduler"] and sa["ema_steps"] == sb["ema_steps"]
    assert sa["seen"] == sb["seen"] > 0  # the tokens trained on (D of 6 N D) go on counting across a resume
    assert sb["seconds"] > first_call > 0  # and so does the training's wall time
    rows = [json.loads(line) for line in (tmp_path / "broken" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4] and rows[-1]["tokens_seen"] == sa["seen"]
    assert all(a["tokens_seen"] < b["tokens_seen"] for a, b in zip(rows, rows[1:]))


def test_two_micro_batches_of_two_end_where_one_batch_of_four_does(vae_dir, tmp_path):
    # the documents differ in length, so averaging two micro-batch means would weigh the
    # tokens of the shorter micro-batch more: the step's loss is averaged over all its tokens
    train.main(train_args(vae_dir, tmp_path / "accumulated", 3, "--grad-accum", "2", batch_size=2))
    train.main(train_args(vae_dir, tmp_path / "whole", 3, batch_size=4))
    for name in ("model.safetensors", "ema.safetensors"):
        a, b = (load_file(tmp_path / run / "state" / name) for run in ("accumulated", "whole"))
        for k in a:
            assert torch.allclose(a[k], b[k], rtol=0.0, atol=1e-5), (name, k, float((a[k] - b[k]).abs().max()))


def test_a_warm_start_keeps_weights_tokenizer_and_sampling_defaults(vae_dir, tmp_path):
    from transfusion.checkpoint import Checkpoint
    from transfusion.generation_config import Settings, save_generation_config

    train.main(train_args(vae_dir, tmp_path / "first", 2))
    save_generation_config(Settings(steps=7), tmp_path / "first" / "model")
    warm_args = train_args(vae_dir, tmp_path / "warm", 1, "--init-from", str(tmp_path / "first" / "model"), "--lr", "0")
    k = warm_args.index("--model")
    del warm_args[k:k + 2]  # no --model: the checkpoint's own config, not the preset's (whose objective is epsilon)
    train.main(warm_args)
    first, warm = (Checkpoint.from_pretrained(tmp_path / run / "model") for run in ("first", "warm"))
    assert first.config.objective == "flow" and warm.config == first.config
    assert warm.defaults == Settings(steps=7)
    assert (tmp_path / "warm" / "tokenizer.model").read_bytes() == (tmp_path / "first" / "model" / "tokenizer.model").read_bytes()
    a, b = first.model.state_dict(), warm.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # learning rate 0: the weights it started from


def test_a_warm_start_grows_into_a_larger_model_that_starts_where_the_checkpoint_was(vae_dir, tmp_path):
    from transfusion.checkpoint import Checkpoint
    from transfusion.grow import grow

    train.main(train_args(vae_dir, tmp_path / "first", 2))
    first = Checkpoint.from_pretrained(tmp_path / "first" / "model")
    head = first.config.dim // first.config.n_heads
    larger = {"dim": first.config.dim + head, "n_heads": first.config.n_heads + 1, "n_layers": first.config.n_layers + 1}
    grow_args = train_args(vae_dir, tmp_path / "grown", 1, "--init-from", str(tmp_path / "first" / "model"), "--lr", "0")
    grow_args[grow_args.index("--model") + 1] = json.dumps(larger)
    train.main(grow_args)
    grown = Checkpoint.from_pretrained(tmp_path / "grown" / "model")
    assert {k: getattr(grown.config, k) for k in larger} == larger
    # learning rate 0: the weights `grow` made from the checkpoint's
    expected = grow(first.model, grown.config).state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in grown.model.state_dict().items())
    bad = train_args(vae_dir, tmp_path / "bad", 1, "--init-from", str(tmp_path / "first" / "model"))
    bad[bad.index("--model") + 1] = json.dumps({"dim": 2 * first.config.dim})
    with pytest.raises(SystemExit, match="head size"):
        train.main(bad)


def test_a_folder_of_image_caption_pairs_trains(vae_dir, tmp_path):
    from PIL import Image

    data = tmp_path / "data"
    data.mkdir()
    rows = []
    for i, (colour, name) in enumerate([((220, 40, 40), "red"), ((40, 90, 220), "blue")]):
        Image.new("RGB", (80, 80), colour).save(data / f"{i}.png")
        rows.append(json.dumps({"image": f"{i}.png", "caption": f"a {name} picture"}))
    (data / "captions.jsonl").write_text("\n".join(rows))
    train.main(train_args(vae_dir, tmp_path / "run", 2, "--data", str(data)))
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()


def test_a_folder_with_edits_and_questions_trains_and_is_evaluated_at_the_end(vae_dir, tmp_path):
    from folder_helpers import write_fixture

    data = write_fixture(tmp_path / "world")
    train.main(train_args(vae_dir, tmp_path / "run", 2, "--data", str(data), "--eval-cases", "2",
                          "--mixture", '{"edit": 0.5, "chat": 0.3}'))
    results = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert results["draw"]["exact"]["total"] == 2 and results["draw, held out"]["exact"]["total"] == 1
    assert set(results["edit"]) == {"recolour", "held out"} and results["chat"]["total"] == 2
    table = (tmp_path / "run" / "eval.md").read_text()
    assert "| chat | draw, then edit: both right |" in table and f"of {tmp_path / 'run' / 'model'} on" in table
    card = json.loads((tmp_path / "run" / "model" / "world.json").read_text())
    assert card["world"] == "folder" and card["name"] == "world" and (tmp_path / "run" / "model" / "examples").is_dir()
    from transfusion import reshard

    (tmp_path / "run" / "model" / "NOTICE").write_text("credits")
    reshard.main([str(tmp_path / "run" / "model"), str(tmp_path / "shipped"), "--max-shard-mb", "0.05"])
    shipped = tmp_path / "shipped"
    assert (shipped / "world.json").read_text() == (tmp_path / "run" / "model" / "world.json").read_text()
    assert (shipped / "NOTICE").read_text() == "credits"
    assert sorted(p.name for p in (shipped / "examples").iterdir()) == sorted(
        p.name for p in (tmp_path / "run" / "model" / "examples").iterdir())
    # an unchanged autoencoder is copied as it was: no load path of this machine in its config
    for name in ("config.json", "diffusion_pytorch_model.safetensors"):
        assert (shipped / "vae" / name).read_bytes() == (tmp_path / "run" / "model" / "vae" / name).read_bytes()
    assert "_name_or_path" not in (shipped / "vae" / "config.json").read_text()
    # half the bytes in float16, loaded back into float32 weights within float16's rounding
    reshard.main([str(tmp_path / "run" / "model"), str(tmp_path / "half"), "--dtype", "float16"])
    full, half = (tmp_path / d / "model.safetensors" for d in ("shipped_one", "half"))
    reshard.main([str(tmp_path / "run" / "model"), str(tmp_path / "shipped_one")])
    assert half.stat().st_size < 0.55 * full.stat().st_size
    a, b = (TransfusionPipeline.from_pretrained(tmp_path / d).checkpoint.model for d in ("shipped_one", "half"))
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert y.dtype == torch.float32 and torch.allclose(x, y, rtol=1e-3, atol=1e-6), name


def test_the_autoencoder_check_reconstructs_every_folder_picture(vae_dir, tmp_path):
    from diffusers import AutoencoderKL
    from folder_helpers import write_fixture

    from transfusion.folder.autoencoder import reconstruction_rates
    from transfusion.folder.format import read_folder
    from transfusion.folder.retrieval import Catalogue

    folder = read_folder(write_fixture(tmp_path / "world"))
    vae = AutoencoderKL.from_pretrained(vae_dir, use_safetensors=True, local_files_only=True).eval()
    rates, failed = reconstruction_rates(vae, Catalogue(folder.entries), folder.held_out, batch=4)
    assert rates["training"]["total"] == 8 and rates["held out"]["total"] == 1
    assert len(failed) == 9 - rates["training"]["correct"] - rates["held out"]["correct"]


def test_a_folder_entry_outside_the_folder_is_refused(tmp_path):
    from transfusion.training.sources import FolderSource

    (tmp_path / "captions.jsonl").write_text(json.dumps({"image": "../secret.png", "caption": "x"}))
    with pytest.raises(ValueError, match="outside"):
        FolderSource(tmp_path)


def test_a_mixture_changes_some_task_weights_and_keeps_the_rest():
    from transfusion.shapesworld import DEFAULT_MIXTURE
    from transfusion.shapesworld.documents import task_of
    from transfusion.training.sources import ShapesWorldSource

    assert ShapesWorldSource(0, {"edit": 0.4}).mixture == {**DEFAULT_MIXTURE, "edit": 0.4}
    same = ShapesWorldSource(0, dict(DEFAULT_MIXTURE))
    assert [same.document(i) == ShapesWorldSource(0).document(i) for i in range(5)] == [True] * 5
    only_edits = ShapesWorldSource(0, {task: 0 for task in DEFAULT_MIXTURE} | {"edit": 1})
    assert {task_of(i, 0, only_edits.mixture) for i in range(50)} == {"edit"}


@pytest.mark.parametrize("mixture, data, message", [
    ('{"edits": 1}', "shapesworld", "unknown tasks in mixture: \\['edits'\\]"),
    ('{"edit": "more"}', "shapesworld", "mixture weights must be numbers"),
    ('{"edit": -1}', "shapesworld", "weights must be >= 0"),
    ('[1, 2]', "shapesworld", "expected a JSON object"),
    ('{"edit": 0.4}', "FOLDER", "has no rows for \\['edit'\\]"),  # a folder without edits.jsonl
    ('{"requests": 1}', "FOLDER", "unknown folder tasks"),
    ('{"edit": 0.4}', "NOWHERE", "captions.jsonl not found"),
])
def test_a_bad_mixture_is_refused_before_training(tmp_path, capsys, mixture, data, message):
    from PIL import Image

    if data == "FOLDER":
        Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
        (tmp_path / "captions.jsonl").write_text(json.dumps({"image": "a.png", "caption": "a"}))
    data = str(tmp_path if data == "FOLDER" else tmp_path / "nowhere") if data in ("FOLDER", "NOWHERE") else data
    with pytest.raises(SystemExit):
        train.parse_args(["--vae", "v", "--out", str(tmp_path / "run"), "--data", data, "--mixture", mixture])
    assert re.search(message, capsys.readouterr().err)


@pytest.mark.parametrize("data, attribute, message", [
    ("shapesworld", "colour", "--balance-by: ShapesWorld has no captions attributes to balance by"),
    ("FOLDER", "emoji", "--balance-by: no picture has the attribute 'emoji'"),
])
def test_a_balance_the_world_cannot_give_is_refused_before_training(tmp_path, capsys, data, attribute, message):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "captions.jsonl").write_text(json.dumps({"image": "a.png", "caption": "a"}))
    data = str(tmp_path) if data == "FOLDER" else data
    with pytest.raises(SystemExit):
        train.parse_args(["--vae", "v", "--out", str(tmp_path / "run"), "--data", data, "--balance-by", attribute])
    assert message in capsys.readouterr().err


def test_the_autoencoder_warm_starts_and_trains_on_a_folder(vae_dir, tmp_path):
    from diffusers import AutoencoderKL
    from folder_helpers import write_fixture
    from training_helpers import TINY_VAE_CONFIG

    from transfusion import train_vae

    config = tmp_path / "config.json"
    config.write_text(json.dumps(TINY_VAE_CONFIG))
    data = write_fixture(tmp_path / "world")
    train_vae.main(["--config", str(config), "--out", str(tmp_path / "warm"), "--steps", "1", "--batch-size", "2",
                    "--sample-every", "0", "--lr", "0", "--init-from", str(vae_dir), "--data", str(data)])
    before = AutoencoderKL.from_pretrained(vae_dir).state_dict()
    after = AutoencoderKL.from_pretrained(tmp_path / "warm" / "vae").state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # learning rate 0: the weights it started from
    config.write_text(json.dumps({**TINY_VAE_CONFIG, "latent_channels": 8}))
    with pytest.raises(ValueError, match="latent channels"):
        train_vae.main(["--config", str(config), "--out", str(tmp_path / "bad"), "--steps", "1", "--init-from", str(vae_dir)])


def test_the_ema_lives_on_the_device_the_accelerator_puts_the_model_on(tmp_path):
    """The first GPU run found a warm start's EMA left on the CPU while its model trained on the
    GPU: the loop made the EMA before `accelerator.prepare` moved the model. Here `prepare`
    moves the model to the meta device, the one other device a CPU has."""
    from transfusion.training.loop import LoopSettings, TrainLoop

    class MovingAccelerator:  # what the loop asks of accelerate's Accelerator at construction
        is_main_process = True

        def prepare(self, model, optimizer, scheduler):
            return model.to("meta"), optimizer, scheduler

        def unwrap_model(self, model):
            return model

    model = torch.nn.Linear(3, 2)
    loop = TrainLoop(MovingAccelerator(), model, None, None, LoopSettings(out=tmp_path, steps=1), unit="tokens")
    assert loop.ema.shadow and {t.device.type for t in loop.ema.shadow.values()} == {"meta"}


def test_written_to_a_file_the_progress_bar_does_not_redraw_at_every_log_row(tmp_path, capfd):
    """A log file once grew half a megabyte a run: each log row redrew the bar. Away from a
    terminal the bar redraws once a minute, so forty quick steps draw it only as it opens and closes."""
    from transfusion.training.loop import LoopSettings, TrainLoop, make_accelerator

    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    loop = TrainLoop(make_accelerator(), model, optimizer, scheduler,
                     LoopSettings(out=tmp_path, steps=40, log_every=5, save_every=0), unit="tokens")

    def loss_fn(step, micro):
        loss = model(torch.ones(1, 3)).square().mean()
        return loss, {"lm": loss.item()}, 3

    loop.run(loss_fn)
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 8  # every row still reaches the log
    draws = capfd.readouterr().err.count("\r")
    assert 1 <= draws <= 3
