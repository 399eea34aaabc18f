"""Growing a trained model: the larger one computes what the smaller one did, and its new parts learn."""

import dataclasses

import pytest
import torch
from test_model import batch_for

from transfusion.config import preset
from transfusion.diffusion import Diffusion
from transfusion.grow import grow, growable
from transfusion.loss import transfusion_loss
from transfusion.mask import attention_mask
from transfusion.model import Transfusion


def trained_like(config) -> Transfusion:
    """A model whose every weight is non-trivial (fresh, the patch decoder is 0 and would prove nothing)."""
    torch.manual_seed(0)
    model = Transfusion(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model.eval()


def outputs(model, batch):
    t = torch.linspace(50, 900, batch.latents.shape[0])
    mask = attention_mask(batch.doc_ids, batch.image_ids, model.config.images_bidirectional)
    return model(batch.tokens, batch.positions, mask, batch.latents, t, batch.patch_index)


def bigger(config):
    head = config.dim // config.n_heads
    return dataclasses.replace(config, dim=config.dim + 2 * head, n_heads=config.n_heads + 2,
                               n_layers=config.n_layers + 1, mlp_hidden=config.hidden_dim + 64)


@pytest.mark.parametrize("encoder", ["linear", "unet"])
def test_the_grown_model_computes_what_the_small_one_did(tokenizer, encoder):
    config = preset("tiny", vocab_size=tokenizer.vocab_size, patch_encoder=encoder)
    small = trained_like(config)
    big = grow(small, bigger(config)).eval()
    assert big.num_parameters() > small.num_parameters()
    batch = batch_for(config, tokenizer)
    with torch.no_grad():
        (logits, image), (logits_big, image_big) = outputs(small, batch), outputs(big, batch)
    # the same up to the norms' epsilon (and, for the linear decoder, its LayerNorm: see grow.py)
    assert (logits_big - logits).abs().max() < 3e-3 * logits.abs().max()
    assert torch.equal(logits_big.argmax(-1), logits.argmax(-1))
    assert (image_big - image).norm() < (1e-3 if encoder == "unet" else 1e-2) * image.norm()


def test_the_new_parts_get_a_gradient(tokenizer):
    config = preset("tiny", vocab_size=tokenizer.vocab_size)
    small = trained_like(config)
    big = grow(small, bigger(config)).train()
    loss, _ = transfusion_loss(big, batch_for(config, tokenizer), Diffusion(big.config), torch.Generator().manual_seed(0))
    loss.backward()
    d, h = config.dim, config.hidden_dim
    new = big.blocks[config.n_layers]
    for name, grad in [("new stream channels of the embedding", big.embed.weight.grad[:, d:]),
                       ("new heads' share of an old block's output", big.blocks[0].attn.proj.weight.grad[:, d:]),
                       ("new MLP units' share of an old block's output", big.blocks[0].mlp.down.weight.grad[:, h:]),
                       ("the new block's attention output", new.attn.proj.weight.grad),
                       ("the new block's MLP output", new.mlp.down.weight.grad)]:
        assert grad.abs().sum() > 0, name


def test_only_a_larger_model_of_the_same_head_size_can_be_grown_into(tokenizer):
    config = preset("tiny", vocab_size=tokenizer.vocab_size)
    with pytest.raises(ValueError, match="head size"):
        growable(config, dataclasses.replace(config, dim=config.dim * 2))
    with pytest.raises(ValueError, match="n_layers"):
        growable(config, dataclasses.replace(config, n_layers=config.n_layers - 1))
    with pytest.raises(ValueError, match="patch_encoder"):
        growable(config, dataclasses.replace(config, patch_encoder="unet"))
