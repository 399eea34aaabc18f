"""The fast steps against the plain cached path (`kv_cache.run_tokens`), eager and compiled: the
static one-token step (`token_step.TokenStep`) gives the same hidden states token after token,
the denoising step (`denoise_step.DenoiseStep`) the same predictions step after step, for
left-padded rows with an image in the context."""

import pytest
import torch
from conftest import latent

from transfusion import generation
from transfusion.checkpoint import Checkpoint
from transfusion.config import preset
from transfusion.documents import encode_document
from transfusion.kv_cache import run_tokens
from transfusion.model import Transfusion
from transfusion.token_step import TokenStep
from transfusion.vae import build_vae


@pytest.fixture(scope="module")
def busy(tokenizer):
    torch.manual_seed(0)
    config = preset("tiny", vocab_size=tokenizer.vocab_size, objective="flow")
    model = Transfusion(config).eval()
    for p in model.parameters():
        p.data.normal_(0, 0.1)
    return Checkpoint(model, tokenizer, build_vae(config.vae).eval())


def prompts(ckpt):
    chats = [[{"role": "user", "content": [latent(ckpt.config, 0), "describe this image"]}],
             [{"role": "user", "content": "a large blue square on a black background, and more words"}]]
    return [encode_document(c + [{"role": "assistant", "content": []}], ckpt.tokenizer, ckpt.config, close=False)
            for c in chats]


@pytest.mark.parametrize("compiled", [False, True])
def test_the_static_step_equals_the_plain_cached_path(busy, compiled):
    ckpt, seqs = busy, prompts(busy)
    plain, h_plain = generation.prefill(ckpt, seqs)
    static, h_static = generation.prefill(ckpt, seqs)
    step = TokenStep(ckpt.model, compiled=compiled)
    for _ in range(6):
        tokens = ckpt.model.lm_head(h_plain).argmax(-1)  # (B,)
        assert torch.equal(tokens, ckpt.model.lm_head(h_static).argmax(-1))
        h_plain = run_tokens(ckpt.model, plain, ckpt.model.embed(tokens[:, None]), torch.ones(2, 1, dtype=torch.bool),
                             torch.full((2, 1), -1))[:, -1]
        h_static = step(static, tokens)
        torch.testing.assert_close(h_static, h_plain, atol=1e-5, rtol=1e-5)
    assert static.length == plain.length and torch.equal(static.next_pos, plain.next_pos)
    assert torch.equal(static.doc_ids, plain.doc_ids) and torch.equal(static.image_ids, plain.image_ids)


def test_a_full_cache_is_refused(busy):
    ckpt = busy
    cache, h = generation.prefill(ckpt, prompts(ckpt)[1:])
    cache.length = cache.max_len
    with pytest.raises(ValueError, match="over the model's"):
        TokenStep(ckpt.model)(cache, torch.tensor([1]))


@pytest.mark.parametrize("compiled", [False, True])
def test_the_denoising_step_equals_the_plain_cached_path(busy, compiled):
    from transfusion.denoise_step import DenoiseStep
    from transfusion.mask import NEW_IMAGE_ID

    ckpt, model = busy, busy.model
    seqs = prompts(ckpt)
    for s in seqs:
        s.add([ckpt.tokenizer.boi_id], False)
    cache, _ = generation.prefill(ckpt, seqs)
    L = ckpt.config.patches_per_image
    real, image_ids = torch.ones(2, L, dtype=torch.bool), torch.full((2, L), NEW_IMAGE_ID)
    step, length = DenoiseStep(model, cache, real, image_ids, compiled=compiled), cache.length
    for k, t_value in enumerate((900.0, 500.0, 100.0)):
        x, t = torch.stack([latent(ckpt.config, 10 + k), latent(ckpt.config, 20 + k)]), torch.full((2,), t_value)
        patches, skips = model.patch_in(x, t)
        plain = model.patch_out(run_tokens(model, cache, patches, real, image_ids, commit=False), t, skips)
        torch.testing.assert_close(step(x, t), plain, atol=1e-5, rtol=1e-5)
    assert cache.length == length  # a denoising step commits nothing
