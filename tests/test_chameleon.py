"""The discrete (Chameleon) arm on tiny configs: the VQ tokenizer trains and round-trips, images
become code tokens with the right losses, a few training steps learn and sample through the
pipeline, and the cached code sampler agrees with its plain reference."""

import json
import random

import pytest
import torch
from diffusers import VQModel
from safetensors.torch import load_file

from training_helpers import TINY_VAE_CONFIG, train_args
from transfusion import TransfusionPipeline, train, train_vae
from transfusion.autoencoder import load_autoencoder
from transfusion.chameleon.sampling import draw_codes, draw_codes_naive
from transfusion.chameleon.vq import VQConfig, build_vq, decode_codes, image_codes
from transfusion.checkpoint import Checkpoint
from transfusion.config import preset
from transfusion.documents import encode_document
from transfusion.evaluation.vae import read_back
from transfusion.generation_config import Settings
from transfusion.model import Transfusion
from transfusion.shapesworld import DEFAULT_MIXTURE, random_scene, render
from transfusion.vae import to_tensor

CODES = 32
# one picture a document: 256 codes and their markers fit the tiny model's 512 tokens once, not twice
ONE_PICTURE = {t: 0 for t in DEFAULT_MIXTURE} | {"text_to_image": 1.0, "image_to_text": 0.5, "question": 0.5}


@pytest.fixture(scope="module")
def vq_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("vq")
    (out / "config.json").write_text(json.dumps({**TINY_VAE_CONFIG, "codebook_size": CODES}))
    train_vae.main(["--kind", "vq", "--config", str(out / "config.json"), "--out", str(out / "run"), "--steps", "6",
                    "--batch-size", "4", "--sample-every", "3", "--save-every", "3", "--log-every", "1"])
    return out / "run" / "vq"


def test_the_vq_tokenizer_trains_and_round_trips(vq_dir):
    log = [json.loads(line) for line in (vq_dir.parent / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == list(range(1, 7)) and {"mse", "vq", "codes_used"} <= log[0].keys()
    assert 0 < log[0]["codes_used"] <= 1 and (vq_dir.parent / "samples" / "step000006.png").exists()
    vq = load_autoencoder(vq_dir)
    assert isinstance(vq, VQModel) and vq.config.num_vq_embeddings == CODES
    rng = random.Random(0)
    x = to_tensor([render(random_scene(rng)) for _ in range(3)], 64)
    codes = image_codes(vq, x)
    assert codes.shape == (3, 16 * 16) and codes.dtype == torch.long and 0 <= codes.min() and codes.max() < CODES
    back = decode_codes(vq, codes)
    assert back.shape == (3, 3, 64, 64) and back.abs().max() <= 1
    # the codes are the quantiser's own choice: decoding them is the VQModel's own round trip
    assert torch.allclose(back, vq(x).sample.clamp(-1, 1), atol=1e-5)
    with pytest.raises(ValueError, match="square grid"):
        decode_codes(vq, codes[:, :200])
    exact, used = read_back(vq, n=4, batch=2)  # the analyser's read-back, as for the VAE
    assert 0 <= exact <= 1 and 0 < used <= 1


def test_images_are_code_tokens_with_the_losses_of_images(tokenizer):
    config = preset("tiny", vocab_size=tokenizer.vocab_size, image_codes=CODES)
    L, V = config.patches_per_image, tokenizer.vocab_size
    assert L == 256 and config.image_tokens == 258 and config.token_count == V + CODES
    codes = torch.arange(L) % CODES
    doc = [{"role": "user", "content": "draw a red circle"}, {"role": "assistant", "content": [codes]}]
    seq = encode_document(doc, tokenizer, config)
    boi = seq.tokens.index(tokenizer.boi_id)
    assert seq.tokens[boi + 1:boi + 1 + L] == (codes + V).tolist() and seq.tokens[boi + 1 + L] == tokenizer.eoi_id
    assert all(seq.lm_loss[boi:boi + L + 2]) and not seq.image_starts and not seq.latents  # causal: no image span
    dropped = encode_document(doc, tokenizer, config, lm_loss=False)  # the condition dropped: codes still learnt
    assert all(dropped.lm_loss[boi + 1:boi + 1 + L]) and not dropped.lm_loss[boi] and not dropped.lm_loss[boi + 1 + L]
    shown = encode_document([{"role": "user", "content": [codes, "describe this image"]},
                             {"role": "assistant", "content": "a red circle"}], tokenizer, config)
    assert not any(shown.lm_loss[:shown.tokens.index(tokenizer.assistant_id)])  # the user's codes: context only
    with pytest.raises(ValueError, match="256 code indices"):
        encode_document([{"role": "user", "content": [torch.zeros(4, 16, 16)]}], tokenizer, config)
    assert Transfusion(config).patch_in is None  # no patch layers, no parameters of them


def test_a_few_steps_of_the_discrete_arm_learn_and_sample_through_the_pipeline(vq_dir, tmp_path):
    out = tmp_path / "run"
    train.main(train_args(vq_dir, out, 8, "--mixture", json.dumps(ONE_PICTURE), "--sample-every", "8", "--lr", "3e-3"))
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert log[-1]["lm"] < log[0]["lm"] and all(row["diffusion"] == 0 for row in log)
    assert (out / "samples" / "step000008.png").exists()
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["image_codes"] == CODES
    assert not any(name.startswith("patch_") for name in load_file(out / "model" / "model.safetensors"))
    pipe = TransfusionPipeline.from_pretrained(out / "model", device="cpu")
    image = pipe.text_to_image("a small red circle in the center on a white background")
    assert image.size == (64, 64) and image.mode == "RGB"
    assert isinstance(pipe.caption(image, max_new_tokens=5), str)
    with pytest.raises(ValueError, match="too long for the model's context"):  # two pictures: 516 tokens of codes
        pipe.edit(image, "make the red circle blue")


@pytest.mark.parametrize("with_picture", [False, True])
def test_the_cached_code_sampler_agrees_with_the_plain_reference(tokenizer, with_picture):
    torch.manual_seed(0)
    config = preset("tiny", vocab_size=tokenizer.vocab_size, image_codes=CODES, max_seq_len=600)
    vq = build_vq(VQConfig(**{**TINY_VAE_CONFIG, "block_out_channels": (8, 16, 16), "codebook_size": CODES}))
    ckpt = Checkpoint(Transfusion(config).eval(), tokenizer, vq.eval())
    content = [torch.randint(0, CODES, (256,)), "make it blue"] if with_picture else ["draw a red circle"]
    prompt = [{"role": "user", "content": content}, {"role": "assistant", "content": []}]
    settings = Settings(guidance=3.0, image_guidance=1.5, code_temperature=0.7)
    fast, _, _ = draw_codes(ckpt, [prompt], settings, [7])
    assert torch.equal(fast[0].cpu(), draw_codes_naive(ckpt, prompt, settings, 7))
    hotter, _, _ = draw_codes(ckpt, [prompt], settings.with_overrides(code_temperature=1.0), [7])
    assert not torch.equal(hotter, fast)  # the temperature is the one the settings give
