"""8-bit weights stay close to full precision, on both kernels.

Tolerance: 5 % relative L2 error on the logits and on the image prediction. Row-wise absmax
int8 keeps about 2.5 significant digits per weight; bitsandbytes measures 0.4-0.9 % relative
error per layer on the CPU, PyTorch's kernel (which also rounds its input to 8 bits) about 2 %,
and the errors of a few stacked layers add to a few percent at most.
"""

import copy

import pytest
import torch

from transfusion.config import preset
from transfusion.mask import dense_mask
from transfusion.model import Transfusion
from transfusion.quantize import (TorchInt8Linear, int8_rows, int8_state_dict, kernel_for, quantize_int8,
                                  quantized_linears, weight_bytes)


def tiny_model() -> Transfusion:
    torch.manual_seed(0)
    model = Transfusion(preset("tiny", vocab_size=320, dim=128, n_layers=3)).eval()
    for p in model.patch_out.parameters():
        p.data.normal_(0, 0.02)  # the head starts at zero; make it say something
    return model


def model_inputs(T: int = 100):
    tokens, positions = torch.randint(0, 320, (1, T)), torch.arange(T)[None]
    image_ids = torch.full((1, T), -1)
    image_ids[0, 10:74] = 0
    mask = dense_mask(torch.zeros(1, T, dtype=torch.long), image_ids)
    return tokens, positions, mask, torch.randn(1, 4, 16, 16), torch.tensor([500.0]), torch.arange(10, 74)[None]


@pytest.mark.parametrize("kernel", ["torch", "bitsandbytes"])
def test_int8_outputs_are_close_to_fp32_and_weights_shrink(kernel):
    if kernel == "bitsandbytes":
        pytest.importorskip("bitsandbytes")
    model = tiny_model()
    quantized = quantize_int8(copy.deepcopy(model), kernel)
    assert weight_bytes(quantized) < 0.6 * weight_bytes(model)
    if kernel == "torch":
        assert isinstance(quantized.blocks[0].attn.qkv, TorchInt8Linear)
    else:
        assert quantized.blocks[0].attn.qkv.weight.dtype == torch.int8
    args = model_inputs()
    with torch.no_grad():
        for full, eight in zip(model(*args), quantized(*args)):
            assert ((full - eight).norm() / full.norm()) < 0.05


def test_the_cpu_kernel_agrees_with_its_plain_reference():
    """The fast int8 matmul against fp32 arithmetic on the same int8 weights: they differ only by
    the kernel's 8-bit rounding of its input (about 1 % of the output)."""
    model = tiny_model()
    quantized = quantize_int8(copy.deepcopy(model), "torch")
    x = torch.randn(2, 37, 128)
    with torch.no_grad():
        for layer in (quantized.blocks[0].attn.qkv, quantized.blocks[2].mlp.down):
            x_in = x if layer.in_features == 128 else torch.randn(2, 37, layer.in_features)
            fast, plain = layer(x_in), layer.reference(x_in)
            assert fast.shape == plain.shape == (2, 37, layer.out_features)
            assert (fast - plain).norm() / plain.norm() < 0.03


def test_the_int8_weights_are_one_transform_of_the_state_dict():
    model = tiny_model()
    state = int8_state_dict(model)
    prefixes = [prefix for _, _, prefix in quantized_linears(model)]
    assert len(prefixes) == 3 * 4 and f"{prefixes[0]}.weight" not in state
    values, scale = state[f"{prefixes[0]}.weight_int8"], state[f"{prefixes[0]}.weight_scale"]
    assert values.dtype == torch.int8 and values.abs().max() == 127  # every row's largest weight is 127
    weight = model.state_dict()[f"{prefixes[0]}.weight"]
    assert torch.allclose(values.float() * scale[:, None], weight, atol=float(scale.max()) / 2 + 1e-7)
    quantized = quantize_int8(copy.deepcopy(model), "torch")
    for (v, s), layer in zip([int8_rows(model.state_dict()[f"{p}.weight"]) for p in prefixes],
                             [getattr(parent, name) for parent, name, _ in quantized_linears(quantized)]):
        got_v, got_s = layer.int8()
        assert torch.equal(got_v, v) and torch.allclose(got_s, s)


def test_each_device_gets_its_kernel_and_a_wrong_name_is_refused():
    assert kernel_for("cuda") == kernel_for("cuda:1") == "bitsandbytes"
    assert kernel_for("cpu") == kernel_for(torch.device("cpu")) == "torch"
    with pytest.raises(ValueError, match="int8 kernel must be one of"):
        quantize_int8(tiny_model(), "fp8")
