"""8-bit weights: the transformer's linear layers as bitsandbytes `Linear8bitLt`.

Only the linear layers inside the transformer blocks (attention qkv and output, SwiGLU) are
swapped: they hold almost all the weights. The embedding, the LM head, the patch encoder and
decoder and the norms stay in full precision: they are small, and the heads decide the tokens
and the pixels directly. Weights are quantized row-wise (absmax) when the module moves to its
device. On the CPU, bitsandbytes runs a real int8 matmul in eval mode.
"""

from __future__ import annotations

import logging

from torch import nn

from .model import Transfusion

QUANTIZED = ("qkv", "proj", "gate_up", "down")


def quantize_int8(model: Transfusion, threshold: float = 6.0) -> Transfusion:
    """Swap the block linears of `model` for 8-bit ones, in place; returns the model."""
    import bitsandbytes as bnb

    # bitsandbytes logs a warning on every CPU int8 matmul in eval mode
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    for block in model.blocks:
        for parent in (block.attn, block.mlp):
            for name in QUANTIZED:
                linear = getattr(parent, name, None)
                if not isinstance(linear, nn.Linear):
                    continue
                q = bnb.nn.Linear8bitLt(linear.in_features, linear.out_features, bias=linear.bias is not None,
                                        has_fp16_weights=False, threshold=threshold)
                q.weight = bnb.nn.Int8Params(linear.weight.data.clone(), requires_grad=False, has_fp16_weights=False)
                if linear.bias is not None:
                    q.bias = nn.Parameter(linear.bias.data.clone(), requires_grad=False)
                setattr(parent, name, q)
    device = next(model.embed.parameters()).device
    return model.to(device).eval()  # .to() quantizes the Int8Params


def weight_bytes(model: nn.Module) -> int:
    """Bytes of every parameter and buffer, as stored (int8 weights count one byte each)."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)
