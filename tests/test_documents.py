"""Documents -> tokens, loss flags and images; batching by padding and by packing."""

import random

import pytest
import torch
from conftest import latent

from transfusion.batch import IGNORE, ShapeBuckets, collate
from transfusion.documents import cfg_dropout, encode_document, unconditional
from transfusion.loss import counts, transfusion_loss
from transfusion.diffusion import Diffusion
from transfusion.mask import attention_mask


def chat(config):
    return [
        {"role": "user", "content": "draw a red circle"},
        {"role": "assistant", "content": ["here it is", latent(config, 0)]},
        {"role": "user", "content": "make it blue"},
        {"role": "assistant", "content": [latent(config, 1)]},
    ]


def test_chat_template(tokenizer, tiny_config):
    tk, L = tokenizer, tiny_config.patches_per_image
    seq = encode_document(chat(tiny_config), tk, tiny_config)
    draw, here, blue = tk.encode("draw a red circle"), tk.encode("here it is"), tk.encode("make it blue")
    expected = ([tk.bos_id, tk.user_id] + draw + [tk.assistant_id] + here + [tk.boi_id] + [tk.pad_id] * L
                + [tk.eoi_id, tk.eos_id, tk.user_id] + blue + [tk.assistant_id, tk.boi_id] + [tk.pad_id] * L
                + [tk.eoi_id, tk.eos_id])
    assert seq.tokens == expected
    first = 2 + len(draw) + 1 + len(here) + 1
    assert seq.image_starts == [first, first + L + 2 + 1 + len(blue) + 2]


def test_loss_follows_roles(tokenizer, tiny_config):
    tk = tokenizer
    seq = encode_document(chat(tiny_config), tk, tiny_config)
    with_loss = [token for token, loss in zip(seq.tokens, seq.lm_loss) if loss]
    # the assistant's words, BOI, EOI and EOS; nothing of the user's, no patch slot
    assert with_loss == tk.encode("here it is") + [tk.boi_id, tk.eoi_id, tk.eos_id, tk.boi_id, tk.eoi_id, tk.eos_id]
    assert seq.image_noised == [True, True]


def test_eoi_is_predicted_from_the_last_patch_and_nothing_predicts_pad(tokenizer, tiny_config):
    tk, L = tokenizer, tiny_config.patches_per_image
    seqs = [encode_document(chat(tiny_config), tk, tiny_config),
            encode_document(chat(tiny_config)[:2], tk, tiny_config, close=False)]
    batch = collate(seqs, tk.pad_id)
    for b, seq in enumerate(seqs):
        for start in seq.image_starts:
            assert int(batch.targets[b, start - 1]) == IGNORE  # BOI is followed by a patch: nothing to predict
            assert (batch.targets[b, start:start + L - 1] == IGNORE).all()  # patches predict no patch
            assert int(batch.targets[b, start + L - 1]) == tk.eoi_id  # the last patch predicts EOI
    assert not (batch.targets == tk.pad_id).any()  # no position is trained to say PAD


def test_noise_limiting_flags(tokenizer, tiny_config):
    c = tiny_config
    # image before the assistant's own caption: limited; the last image: not
    seq = encode_document(chat(c), tokenizer, c)
    assert seq.image_limited == [True, False]
    draw_then_caption = [{"role": "user", "content": "draw"}, {"role": "assistant", "content": [latent(c, 0), "a red circle"]}]
    assert encode_document(draw_then_caption, tokenizer, c).image_limited == [True]
    text_to_image = [{"role": "user", "content": "a red circle"}, {"role": "assistant", "content": [latent(c, 0)]}]
    assert encode_document(text_to_image, tokenizer, c).image_limited == [False]
    # a user's image is clean context: neither noised nor limited
    caption = [{"role": "user", "content": [latent(c, 0), "describe"]}, {"role": "assistant", "content": "a red circle"}]
    seq = encode_document(caption, tokenizer, c)
    assert seq.image_noised == [False] and seq.image_limited == [False]


def test_targets_shift_and_padding_has_no_loss(tokenizer, tiny_config):
    c = tiny_config
    docs = [chat(c), [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a red circle"}]]
    seqs = [encode_document(d, tokenizer, c) for d in docs]
    batch = collate(seqs, tokenizer.pad_id)
    short = len(seqs[1])
    assert (batch.targets[1, short - 1:] == IGNORE).all()  # padding
    for b, seq in enumerate(seqs):
        for i in range(len(seq) - 1):
            expected = seq.tokens[i + 1] if seq.lm_loss[i + 1] else IGNORE
            assert int(batch.targets[b, i]) == expected
    assert batch.latents.shape == (2, c.vae.latent_channels, c.vae.latent_size, c.vae.latent_size)
    assert batch.patch_index.shape == (2, c.patches_per_image)


def test_packing_gives_the_same_loss_as_padding(tokenizer, tiny_config, tiny_checkpoint):
    """Packed documents are isolated: the same noise gives the same LM and diffusion losses."""
    c = tiny_config
    docs = [chat(c), [{"role": "user", "content": "a small red circle"}, {"role": "assistant", "content": [latent(c, 2)]}],
            [{"role": "user", "content": [latent(c, 3), "describe this image"]}, {"role": "assistant", "content": "a large blue square"}]]
    seqs = [encode_document(d, tokenizer, c) for d in docs]
    padded, packed = collate(seqs, tokenizer.pad_id), collate(seqs, tokenizer.pad_id, max_len=256)
    assert packed.tokens.shape[0] < len(docs)
    diffusion = Diffusion(c)
    losses = [transfusion_loss(tiny_checkpoint.model, b, diffusion, torch.Generator().manual_seed(0))[1] for b in (padded, packed)]
    torch.testing.assert_close(losses[0]["lm"], losses[1]["lm"])
    torch.testing.assert_close(losses[0]["diffusion"], losses[1]["diffusion"])


@pytest.mark.parametrize("max_len", [None, 256])
def test_rows_and_length_rounded_up_to_buckets_change_no_loss(tokenizer, tiny_config, tiny_checkpoint, max_len):
    """What keeps a compiled kernel from recompiling every step: whole rows of padding and
    padding at each row's end, up to the buckets' multiples, and the same losses."""
    c = tiny_config
    docs = [chat(c), [{"role": "user", "content": "a small red circle"}, {"role": "assistant", "content": [latent(c, 2)]}],
            [{"role": "user", "content": [latent(c, 3), "describe this image"]}, {"role": "assistant", "content": "a large blue square"}]]
    seqs = [encode_document(d, tokenizer, c, seed=7 + i) for i, d in enumerate(docs)]
    plain = collate(seqs, tokenizer.pad_id, max_len=max_len)
    bucketed = collate(seqs, tokenizer.pad_id, max_len=max_len, buckets=ShapeBuckets(rows=4, length=100))
    B, T = plain.tokens.shape
    assert bucketed.tokens.shape == (4, -(-T // 100) * 100) and B < 4 and T % 100
    assert torch.equal(counts(bucketed), counts(plain))
    diffusion = Diffusion(c)
    losses = [transfusion_loss(tiny_checkpoint.model, b, diffusion)[1] for b in (plain, bucketed)]
    torch.testing.assert_close(losses[0]["lm"], losses[1]["lm"])
    torch.testing.assert_close(losses[0]["diffusion"], losses[1]["diffusion"])


def test_seeded_documents_give_the_gradient_of_the_whole_batch_in_any_split(tokenizer, tiny_config, tiny_checkpoint):
    """What data-parallel training rests on: with a noise seed per document and the whole
    batch's counts as denominators, the mean of two halves' gradients is the whole's."""
    c, model = tiny_config, tiny_checkpoint.model
    docs = [chat(c), [{"role": "user", "content": "a small red circle"}, {"role": "assistant", "content": [latent(c, 2)]}],
            [{"role": "user", "content": [latent(c, 3), "describe this image"]}, {"role": "assistant", "content": "a large blue square"}],
            [{"role": "user", "content": "a large green triangle"}, {"role": "assistant", "content": ["ok", latent(c, 4)]}]]
    seqs = [encode_document(d, tokenizer, c, seed=100 + i) for i, d in enumerate(docs)]
    diffusion = Diffusion(c)

    def gradient(batch, denominators=None):
        model.zero_grad()
        transfusion_loss(model, batch, diffusion, denominators=denominators)[0].backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    whole = gradient(collate(seqs, tokenizer.pad_id))
    halves = [collate(seqs[:1], tokenizer.pad_id), collate(seqs[1:], tokenizer.pad_id, max_len=256)]
    total = (counts(halves[0]) + counts(halves[1])) / 2
    split = sum(gradient(h, total) for h in halves) / 2
    torch.testing.assert_close(split, whole, rtol=1e-4, atol=1e-6)
    assert not torch.equal(gradient(halves[0]), gradient(halves[0], total))  # the denominators count


def test_too_long_document_is_refused(tokenizer, tiny_config):
    doc = [{"role": "user", "content": "red " * 300}, {"role": "assistant", "content": "ok"}]
    with pytest.raises(ValueError, match="max_seq_len"):
        encode_document(doc, tokenizer, tiny_config)


def test_unconditional_and_cfg_dropout(tokenizer, tiny_config):
    c = tiny_config
    doc = chat(c)
    no_text = unconditional(doc)
    assert [len(m["content"]) for m in no_text] == [0, 1, 0, 1]
    no_context = unconditional(doc, keep_images=False)
    assert [len(m["content"]) for m in no_context] == [0, 0, 0, 1]
    rng = random.Random(0)
    outcomes = [cfg_dropout(doc, rng, c) for _ in range(4000)]
    kept = sum(lm for _, lm in outcomes) / len(outcomes)
    assert abs(kept - (1 - c.text_dropout - c.image_dropout)) < 0.03
    dropped = encode_document(outcomes[[lm for _, lm in outcomes].index(False)][0], tokenizer, c, lm_loss=False)
    assert not any(dropped.lm_loss)


def test_mask_of_encoded_document_lets_patches_see_their_image(tokenizer, tiny_config):
    seq = encode_document(chat(tiny_config), tokenizer, tiny_config)
    batch = collate([seq], tokenizer.pad_id)
    mask = attention_mask(batch.doc_ids, batch.image_ids)[0, 0]
    s, L = seq.image_starts[0], tiny_config.patches_per_image
    assert mask[s, s + L - 1] and not mask[s - 1, s]  # a patch sees later patches; BOI does not
    assert not mask[s + L - 1, s + L]  # the last patch does not see EOI


def test_left_padding_puts_each_prompt_at_the_end_of_its_row(tokenizer, tiny_config):
    c = tiny_config
    seqs = [encode_document(chat(c), tokenizer, c, close=False),
            encode_document([{"role": "user", "content": "hi"}], tokenizer, c, close=False)]
    left, right = collate(seqs, tokenizer.pad_id, left_pad=True), collate(seqs, tokenizer.pad_id)
    off = len(seqs[0]) - len(seqs[1])
    assert left.tokens[1, off:].tolist() == seqs[1].tokens and (left.doc_ids[1, :off] == -1).all()
    assert left.positions[1, off:].tolist() == list(range(len(seqs[1])))
    assert torch.equal(left.tokens[0], right.tokens[0]) and torch.equal(left.patch_index, right.patch_index)
    with pytest.raises(ValueError, match="left_pad alone"):
        collate(seqs, tokenizer.pad_id, max_len=256, left_pad=True)
    with pytest.raises(ValueError, match="left_pad alone"):
        collate(seqs, tokenizer.pad_id, left_pad=True, buckets=ShapeBuckets())
