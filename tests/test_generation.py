"""The cached decoding loop against the plain reference, seeds, and chat's mode switching."""

import pytest
import torch
from conftest import latent

from transfusion import generation
from transfusion.checkpoint import Checkpoint
from transfusion.config import preset
from transfusion.documents import encode_document
from transfusion.generation import draw_images, generate
from transfusion.generation_config import Settings
from transfusion.kv_cache import run_tokens
from transfusion.model import Transfusion
from transfusion.pipeline import TransfusionPipeline
from transfusion.sampling import generate_text_naive, sample_image_naive
from transfusion.vae import build_vae


@pytest.fixture(params=["linear", "unet"])
def busy_checkpoint(request, tokenizer):
    """A tiny model with large random weights, so that every token and pixel depends on context."""
    torch.manual_seed(0)
    config = preset("tiny", vocab_size=tokenizer.vocab_size, objective="flow", patch_encoder=request.param)
    model = Transfusion(config).eval()
    for p in model.parameters():
        p.data.normal_(0, 0.1)
    return Checkpoint(model, tokenizer, build_vae(config.vae).eval())


def test_cached_greedy_text_equals_uncached_token_for_token(busy_checkpoint):
    ckpt = busy_checkpoint
    chat = [{"role": "user", "content": [latent(ckpt.config, 0), "describe this image"]}]
    reference = generate_text_naive(ckpt, chat + [{"role": "assistant", "content": []}], max_new_tokens=40)
    seen = []
    generate(ckpt, chat, Settings(max_new_tokens=40), allow_images=False, on_token=seen.append)
    stop = (ckpt.tokenizer.eos_id, ckpt.tokenizer.boi_id)
    assert len(reference) > 10
    assert seen[:len(reference)] == reference or (reference[-1] in stop and seen == reference[:-1])


def test_cached_denoising_equals_full_sequence_computation(busy_checkpoint):
    ckpt = busy_checkpoint
    prompt = [{"role": "user", "content": "a small red circle in the center"}, {"role": "assistant", "content": ["here"]}]
    reference = sample_image_naive(ckpt, prompt, steps=6, guidance=3.0, generator=torch.Generator().manual_seed(5))
    cached, _, _ = draw_images(ckpt, [prompt], Settings(steps=6, guidance=3.0), seeds=[5])
    torch.testing.assert_close(cached[0], reference, atol=1e-4, rtol=1e-4)


def test_causal_patches_cached_equal_full_sequence_and_differ_from_bidirectional(tokenizer):
    """The ablation's causal attention inside an image (config.image_attention), in both paths."""
    torch.manual_seed(0)
    config = preset("tiny", vocab_size=tokenizer.vocab_size, objective="flow", image_attention="causal")
    model = Transfusion(config).eval()
    for p in model.parameters():
        p.data.normal_(0, 0.1)
    ckpt = Checkpoint(model, tokenizer, build_vae(config.vae).eval())
    prompt = [{"role": "user", "content": "a small red circle in the center"}, {"role": "assistant", "content": []}]
    reference = sample_image_naive(ckpt, prompt, steps=4, generator=torch.Generator().manual_seed(5))
    cached, _, _ = draw_images(ckpt, [prompt], Settings(steps=4), seeds=[5])
    torch.testing.assert_close(cached[0], reference, atol=1e-4, rtol=1e-4)
    model.config = preset("tiny", vocab_size=tokenizer.vocab_size, objective="flow")  # the same weights, bidirectional
    both_ways = sample_image_naive(ckpt, prompt, steps=4, generator=torch.Generator().manual_seed(5))
    assert (both_ways - reference).abs().max() > 1e-2
    with pytest.raises(ValueError, match="image_attention"):
        preset("tiny", image_attention="sideways")


@pytest.mark.parametrize("assistant_words", [[], ["here"]])
def test_cached_edit_guidance_equals_full_sequence_computation(busy_checkpoint, assistant_words):
    """Three guidance rows (chat, images only, neither) with an image in the prompt, as every edit runs."""
    ckpt = busy_checkpoint
    prompt = [{"role": "user", "content": [latent(ckpt.config, 0), "make the red circle blue"]},
              {"role": "assistant", "content": assistant_words}]
    settings = Settings(steps=6, guidance=3.0, image_guidance=1.8)
    reference = sample_image_naive(ckpt, prompt, steps=6, guidance=3.0, image_guidance=1.8,
                                   generator=torch.Generator().manual_seed(5))
    cached, _, _ = draw_images(ckpt, [prompt], settings, seeds=[5])
    torch.testing.assert_close(cached[0], reference, atol=1e-4, rtol=1e-4)
    if ckpt.config.patch_encoder == "linear":  # (the random U-Net's skips carry nearly all of its prediction)
        # the image row counts: with another image guidance the reference draws another image
        other = sample_image_naive(ckpt, prompt, steps=6, guidance=3.0, image_guidance=1.0,
                                   generator=torch.Generator().manual_seed(5))
        assert (other - reference).abs().max() > 1e-2


def test_a_seed_reproduces_a_stochastic_sampler(tokenizer):
    """DDPM adds noise at every step: it comes from the seed, not from torch's global generator."""
    torch.manual_seed(0)
    config = preset("tiny", vocab_size=tokenizer.vocab_size, objective="epsilon")
    ckpt = Checkpoint(Transfusion(config).eval(), tokenizer, build_vae(config.vae).eval())
    prompt = [[{"role": "user", "content": "a red circle"}, {"role": "assistant", "content": []}]]
    images = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        images.append(draw_images(ckpt, prompt, Settings(steps=4, sampler="ddpm"), seeds=[7])[0])
    torch.testing.assert_close(images[0], images[1])


def test_batched_prompts_match_one_at_a_time(busy_checkpoint):
    ckpt = busy_checkpoint
    prompts = [[{"role": "user", "content": p}, {"role": "assistant", "content": []}]
               for p in ["a red circle", "a large blue square on a black background at the bottom"]]
    batched, _, _ = draw_images(ckpt, prompts, Settings(steps=4), seeds=[1, 2])
    single, _, _ = draw_images(ckpt, prompts[1:], Settings(steps=4), seeds=[2])
    torch.testing.assert_close(batched[1], single[0], atol=1e-4, rtol=1e-4)


def test_seed_reproduces_an_image_and_different_seeds_differ(busy_checkpoint, tmp_path):
    busy_checkpoint.save_pretrained(tmp_path / "m")
    pipe = TransfusionPipeline.from_pretrained(tmp_path / "m", device="cpu")
    a = pipe.text_to_image("a red circle", seed=3, steps=4)
    b = pipe.text_to_image("a red circle", seed=3, steps=4)
    c = pipe.text_to_image("a red circle", seed=4, steps=4)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()
    assert a.size == (64, 64) and a.mode == "RGB"


class ScriptedHead(torch.nn.Module):
    """An LM head that says the tokens of a script, one per call, whatever the context."""

    def __init__(self, script, vocab_size):
        super().__init__()
        self.script, self.vocab_size, self.calls = list(script), vocab_size, 0

    def forward(self, h):
        logits = torch.zeros(*h.shape[:-1], self.vocab_size)
        logits[..., self.script[min(self.calls, len(self.script) - 1)]] = 1.0
        self.calls += 1
        return logits


def test_chat_switches_to_diffusion_at_boi_and_keeps_the_order(busy_checkpoint, monkeypatch):
    ckpt, tk = busy_checkpoint, busy_checkpoint.tokenizer
    here, done = tk.encode("here it is"), tk.encode("done")
    ckpt.model.lm_head = ScriptedHead(here + [tk.boi_id] + done + [tk.eos_id], tk.vocab_size)
    drawn = []
    real_draw = generation.draw_images
    monkeypatch.setattr(generation, "draw_images", lambda *a, **k: drawn.append(a[1]) or real_draw(*a, **k))
    parts = generate(ckpt, [{"role": "user", "content": "draw a red circle"}], Settings(steps=3), seed=0)
    assert [type(p) for p in parts] == [str, torch.Tensor, str]
    assert parts[0] == "here it is" and parts[2] == "done"
    # the image was drawn with the words before it as part of its prompt
    assert drawn[0][0][-1] == {"role": "assistant", "content": ["here it is"]}


def test_follow_up_turn_sees_the_images_of_earlier_turns(busy_checkpoint, monkeypatch, tmp_path):
    busy_checkpoint.save_pretrained(tmp_path / "m")
    pipe = TransfusionPipeline.from_pretrained(tmp_path / "m", device="cpu")
    tk = pipe.checkpoint.tokenizer
    pipe.checkpoint.model.lm_head = ScriptedHead([tk.boi_id, tk.eos_id], tk.vocab_size)
    first = pipe.chat([{"role": "user", "content": "draw a red circle"}], steps=3)
    assert len(first) == 1 and first[0].size == (64, 64)
    seen = []
    real_prefill = generation.prefill
    monkeypatch.setattr(generation, "prefill", lambda ckpt, seqs: seen.append(seqs) or real_prefill(ckpt, seqs))
    pipe.checkpoint.model.lm_head = ScriptedHead(tk.encode("blue") + [tk.eos_id], tk.vocab_size)
    history = [{"role": "user", "content": "draw a red circle"}, {"role": "assistant", "content": first},
               {"role": "user", "content": "what color is it?"}]
    second = pipe.chat(history, steps=3)
    assert second == ["blue"]
    assert len(seen[0][0].latents) == 1  # the earlier image is in the context of the new turn


@pytest.mark.parametrize("bad", [dict(steps=0), dict(steps=-1), dict(steps=10**6), dict(guidance=float("nan")),
                                 dict(guidance=float("inf")), dict(guidance=1e9), dict(temperature=-1), dict(top_p=0)])
def test_out_of_range_settings_are_refused(bad):
    with pytest.raises(ValueError):
        Settings(**bad)


def test_the_cache_keeps_only_what_is_committed_and_selects_rows(busy_checkpoint):
    ckpt = busy_checkpoint
    seqs = [encode_document([{"role": "user", "content": t}], ckpt.tokenizer, ckpt.config, close=False)
            for t in ("a red circle", "a large blue square on a black background")]
    cache, _ = generation.prefill(ckpt, seqs)
    length, ids = cache.length, cache.doc_ids.clone()
    x = ckpt.model.embed(torch.tensor([[ckpt.tokenizer.boi_id]] * 2))
    real, image_ids = torch.ones(2, 1, dtype=torch.bool), torch.full((2, 1), -1)
    first = run_tokens(ckpt.model, cache, x, real, image_ids, commit=False)
    assert cache.length == length and torch.equal(cache.doc_ids, ids)  # a denoising step leaves no trace
    again = run_tokens(ckpt.model, cache, x, real, image_ids)
    torch.testing.assert_close(first, again)
    assert cache.length == length + 1 and cache.next_pos.tolist() == [len(s) + 1 for s in seqs]
    one = cache.select([1])
    assert one.length == cache.length and torch.equal(one.k[:, 0], cache.k[:, 1])
    torch.testing.assert_close(run_tokens(ckpt.model, one, x[1:], real[1:], image_ids[1:]),
                               run_tokens(ckpt.model, cache, x, real, image_ids)[1:])
