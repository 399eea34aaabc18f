"""8-bit weights stay close to full precision.

Tolerance: 5 % relative L2 error on the logits and on the image prediction. Row-wise absmax
int8 keeps about 2.5 significant digits per weight; bitsandbytes measures 0.4-0.9 % relative
error per layer on the CPU, and the errors of a few stacked layers add to a few percent at most.
"""

import copy

import pytest
import torch

pytest.importorskip("bitsandbytes")

from transfusion.config import preset  # noqa: E402
from transfusion.mask import dense_mask  # noqa: E402
from transfusion.model import Transfusion  # noqa: E402
from transfusion.quantize import quantize_int8, weight_bytes  # noqa: E402


def test_int8_outputs_are_close_to_fp32_and_weights_shrink():
    torch.manual_seed(0)
    model = Transfusion(preset("tiny", vocab_size=320, dim=128, n_layers=3)).eval()
    for p in model.patch_out.parameters():
        p.data.normal_(0, 0.02)  # the head starts at zero; make it say something
    quantized = quantize_int8(copy.deepcopy(model))
    assert quantized.blocks[0].attn.qkv.weight.dtype == torch.int8
    assert weight_bytes(quantized) < 0.6 * weight_bytes(model)
    T = 100
    tokens, positions = torch.randint(0, 320, (1, T)), torch.arange(T)[None]
    image_ids = torch.full((1, T), -1)
    image_ids[0, 10:74] = 0
    mask = dense_mask(torch.zeros(1, T, dtype=torch.long), image_ids)
    args = (tokens, positions, mask, torch.randn(1, 4, 16, 16), torch.tensor([500.0]), torch.arange(10, 74)[None])
    with torch.no_grad():
        for full, eight in zip(model(*args), quantized(*args)):
            assert ((full - eight).norm() / full.norm()) < 0.05
