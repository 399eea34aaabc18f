"""The transformer and the loss: gradients, lambda, noise limiting, and an overfit run."""

import pytest
import torch
from conftest import latent

from transfusion.batch import collate
from transfusion.checkpoint import Checkpoint
from transfusion.config import preset
from transfusion.diffusion import Diffusion
from transfusion.documents import encode_document
from transfusion.loss import transfusion_loss
from transfusion.model import Transfusion
from transfusion.sampling import generate_text_naive, sample_image_naive
from transfusion.vae import build_vae

CAPTIONS = ["a small red circle", "a large blue square on a black background", "two green triangles", "a yellow diamond at the top"]


def documents(config):
    """Each caption -> its image, and each image -> its caption."""
    latents = [latent(config, i) for i in range(len(CAPTIONS))]
    t2i = [[{"role": "user", "content": c}, {"role": "assistant", "content": [x]}] for c, x in zip(CAPTIONS, latents)]
    i2t = [[{"role": "user", "content": [x, "describe this image"]}, {"role": "assistant", "content": c}]
           for c, x in zip(CAPTIONS, latents)]
    return t2i + i2t, latents


def batch_for(config, tokenizer):
    docs, _ = documents(config)
    return collate([encode_document(d, tokenizer, config) for d in docs], tokenizer.pad_id)


def grad_norms(model):
    lm = model.lm_head.weight.grad
    img = [p.grad for p in model.patch_out.parameters() if p.grad is not None]
    return (0.0 if lm is None else float(lm.norm())), sum(float(g.norm()) for g in img)


@pytest.mark.parametrize("encoder", ["linear", "unet"])
def test_gradients_reach_both_heads(tokenizer, encoder):
    config = preset("tiny", vocab_size=tokenizer.vocab_size, patch_encoder=encoder)
    model = Transfusion(config)
    loss, _ = transfusion_loss(model, batch_for(config, tokenizer), Diffusion(config), torch.Generator().manual_seed(0))
    loss.backward()
    lm, img = grad_norms(model)
    assert lm > 0 and img > 0
    assert all(p.grad is not None for p in model.parameters())


def test_lambda_zero_removes_the_image_loss_gradient(tokenizer):
    config = preset("tiny", vocab_size=tokenizer.vocab_size, diffusion_weight=0.0)
    model = Transfusion(config)
    loss, parts = transfusion_loss(model, batch_for(config, tokenizer), Diffusion(config), torch.Generator().manual_seed(0))
    loss.backward()
    assert parts["diffusion"] > 0  # the loss is still measured ...
    lm, img = grad_norms(model)
    assert lm > 0 and img == 0  # ... but sends no gradient to the image head


@pytest.mark.parametrize("objective", ["epsilon", "v_prediction", "flow"])
def test_noise_limiting_bounds_timesteps(objective):
    config = preset("tiny", objective=objective, noise_limit=500)
    diffusion = Diffusion(config)
    limited = torch.tensor([True, False]).repeat(5000)
    t = diffusion.sample_timesteps(limited, torch.Generator().manual_seed(0))
    assert t[limited].max() <= 500 and t[limited].min() >= 0
    assert t[~limited].max() > 900  # the others range over the whole schedule


def test_noise_limited_images_get_small_timesteps_in_the_loss(tokenizer, monkeypatch):
    """End to end: an assistant image followed by its caption is noised to t <= 500."""
    config = preset("tiny", vocab_size=tokenizer.vocab_size)
    doc = [{"role": "user", "content": "draw"}, {"role": "assistant", "content": [latent(config, 0), "a red circle"]}]
    batch = collate([encode_document(doc, tokenizer, config)] * 64, tokenizer.pad_id)
    model = Transfusion(config)
    seen = []
    forward = model.forward
    monkeypatch.setattr(model, "forward", lambda *a: seen.append(a[4]) or forward(*a))
    transfusion_loss(model, batch, Diffusion(config), torch.Generator().manual_seed(0))
    assert seen[0].shape == (64,) and seen[0].max() <= 500


@pytest.mark.parametrize("objective", ["epsilon", "v_prediction", "flow"])
def test_both_losses_fall_with_every_objective(tokenizer, objective):
    torch.manual_seed(0)
    config = preset("tiny", vocab_size=tokenizer.vocab_size, objective=objective)
    model = Transfusion(config)
    batch, diffusion, g = batch_for(config, tokenizer), Diffusion(config), torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    history = []
    for _ in range(150):
        loss, parts = transfusion_loss(model, batch, diffusion, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(parts)
    mean = lambda key, part: sum(float(p[key]) for p in part) / len(part)  # noqa: E731
    assert mean("lm", history[-20:]) < 0.1 * mean("lm", history[:5])
    assert mean("diffusion", history[-20:]) < 0.6 * mean("diffusion", history[:5])


def test_tiny_model_overfits_and_reproduces_its_images(tokenizer, objective="flow", steps=300):
    """Both loss parts fall far, captions come back word for word, and an image sampled from
    a memorised caption is much closer (mean squared error of the latents) to its own image
    than to the other images: at most 30% of the distance to the nearest other one."""
    torch.manual_seed(0)
    config = preset("tiny", vocab_size=tokenizer.vocab_size, objective=objective, text_dropout=0.0, image_dropout=0.0)
    model = Transfusion(config)
    docs, latents = documents(config)
    batch = collate([encode_document(d, tokenizer, config) for d in docs], tokenizer.pad_id)
    diffusion, g = Diffusion(config), torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    history = []
    for _ in range(steps):
        loss, parts = transfusion_loss(model, batch, diffusion, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(parts)
    first, last = history[0], history[-20:]
    assert sum(float(p["lm"]) for p in last) / 20 < 0.02 * float(first["lm"])
    assert sum(float(p["diffusion"]) for p in last) / 20 < 0.3 * float(first["diffusion"])

    ckpt = Checkpoint(model.eval(), tokenizer, build_vae(config.vae))
    for k, caption in enumerate(CAPTIONS):
        prompt = [{"role": "user", "content": caption}, {"role": "assistant", "content": []}]
        x = sample_image_naive(ckpt, prompt, steps=25, guidance=1.0, generator=torch.Generator().manual_seed(k))
        mse = [float((x - y).pow(2).mean()) for y in latents]
        others = min(m for j, m in enumerate(mse) if j != k)
        assert mse[k] < 0.3 * others, (caption, mse)
        ask = [{"role": "user", "content": [latents[k], "describe this image"]}, {"role": "assistant", "content": []}]
        ids = generate_text_naive(ckpt, ask)
        assert ids[-1] == tokenizer.eos_id and tokenizer.decode(ids[:-1]) == caption
