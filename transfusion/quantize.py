"""8-bit weights for the transformer's linear layers, with the kernel that pays on each device.

Only the linear layers inside the transformer blocks (attention qkv and output, SwiGLU) are
swapped: they hold almost all the weights. The embedding, the LM head, the patch encoder and
decoder and the norms stay in full precision: they are small, and the heads decide the tokens
and the pixels directly. Two kernels:
- "bitsandbytes" (CUDA): `Linear8bitLt`, weights quantized row-wise when the module moves to
  the GPU. On the CPU it ran 1.2x slower than fp32, so it is not the CPU's kernel.
- "torch" (CPU): PyTorch's own int8 matmul (fbgemm / oneDNN, through torch.ao's dynamic
  quantized Linear): the weights are int8 with one scale per output row, each call quantizes
  its input to 8 bits and multiplies in int8. `benchmarks/inference.py` measures it against fp32.
The int8 weights come from one transform, `int8_rows` (symmetric absmax per row), applied to a
state dict by `int8_state_dict` (plain tensors, ready for safetensors); `TorchInt8Linear.reference`
is the plain fp32 computation from those same int8 values, and the tests hold the two together.
"""

from __future__ import annotations

import logging
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from .model import Transfusion

QUANTIZED = ("qkv", "proj", "gate_up", "down")
KERNELS = ("bitsandbytes", "torch")


def kernel_for(device: str | torch.device) -> str:
    """The int8 kernel of a device: bitsandbytes on CUDA, PyTorch's own on the CPU."""
    return "bitsandbytes" if str(device).startswith("cuda") else "torch"


def int8_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 values, fp32 scale per row) with weight ~ values * scale[:, None]."""
    scale = weight.detach().float().abs().amax(dim=1).clamp(min=1e-12) / 127
    values = torch.round(weight.detach().float() / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return values, scale


def quantized_linears(model: Transfusion):
    """(parent module, attribute name, key prefix) of every linear layer that gets int8 weights
    (or has them: a `TorchInt8Linear` is found too)."""
    for i, block in enumerate(model.blocks):
        for part in ("attn", "mlp"):
            parent = getattr(block, part)
            for name in QUANTIZED:
                if isinstance(getattr(parent, name, None), (nn.Linear, TorchInt8Linear)):
                    yield parent, name, f"blocks.{i}.{part}.{name}"


def int8_state_dict(model: Transfusion) -> dict[str, torch.Tensor]:
    """The model's state dict with each quantized layer's `weight` replaced by `weight_int8`
    (int8) and `weight_scale` (fp32): the offline form of the int8 model."""
    state = dict(model.state_dict())
    for _, _, prefix in quantized_linears(model):
        values, scale = int8_rows(state.pop(f"{prefix}.weight"))
        state[f"{prefix}.weight_int8"], state[f"{prefix}.weight_scale"] = values, scale
    return state


class TorchInt8Linear(nn.Module):
    """A linear layer with int8 weights (a scale per output row) on PyTorch's CPU int8 kernel."""

    def __init__(self, values: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None = None):
        super().__init__()
        from torch.ao.nn.quantized import dynamic

        out_features, in_features = values.shape
        self.in_features, self.out_features = in_features, out_features
        with warnings.catch_warnings():  # torch 2.13 marks its quantized tensors deprecated, still supported
            warnings.simplefilter("ignore")
            self.kernel = dynamic.Linear(in_features, out_features, bias_=bias is not None, dtype=torch.qint8)
            weight = torch._make_per_channel_quantized_tensor(
                values.cpu(), scale.double().cpu(), torch.zeros(out_features, dtype=torch.long), 0)
            self.kernel.set_weight_bias(weight, None if bias is None else bias.detach().float().cpu())

    def int8(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The layer's (int8 values, fp32 scales), as `int8_rows` made them."""
        w = self.kernel.weight()
        return w.int_repr(), w.q_per_channel_scales().float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.kernel(x)

    def reference(self, x: torch.Tensor) -> torch.Tensor:
        """The plain computation: fp32 weights rebuilt from the int8 values, fp32 input."""
        values, scale = self.int8()
        return F.linear(x, values.float() * scale[:, None], self.kernel.bias())

    def packed_numel(self) -> int:
        """Weights and bias held in the packed kernel (`Transfusion.num_parameters` counts them)."""
        bias = self.kernel.bias()
        return self.in_features * self.out_features + (0 if bias is None else bias.numel())

    def stored_bytes(self) -> int:
        bias = self.kernel.bias()
        return self.in_features * self.out_features + 4 * (self.out_features + (0 if bias is None else bias.numel()))


def quantize_int8(model: Transfusion, kernel: str = "bitsandbytes", threshold: float = 6.0) -> Transfusion:
    """Swap the block linears of `model` for 8-bit ones of `kernel` (`KERNELS`), in place; returns
    the model in eval mode. "torch" runs on the CPU only; "bitsandbytes" quantizes on the model's
    device (move the model there first)."""
    if kernel not in KERNELS:
        raise ValueError(f"int8 kernel must be one of {KERNELS}, got {kernel!r}")
    if kernel == "torch":
        state = int8_state_dict(model)
        for parent, name, prefix in quantized_linears(model):
            bias = getattr(parent, name).bias
            setattr(parent, name, TorchInt8Linear(state[f"{prefix}.weight_int8"], state[f"{prefix}.weight_scale"], bias))
        return model.eval()
    import bitsandbytes as bnb

    # bitsandbytes logs a warning on every CPU int8 matmul in eval mode
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    for parent, name, _ in quantized_linears(model):
        linear = getattr(parent, name)
        q = bnb.nn.Linear8bitLt(linear.in_features, linear.out_features, bias=linear.bias is not None,
                                has_fp16_weights=False, threshold=threshold)
        # from the CPU: Int8Params quantizes as it moves off the CPU (the .to() below), on the model's device
        q.weight = bnb.nn.Int8Params(linear.weight.data.cpu().clone(), requires_grad=False, has_fp16_weights=False)
        if linear.bias is not None:
            q.bias = nn.Parameter(linear.bias.data.clone(), requires_grad=False)
        setattr(parent, name, q)
    device = next(model.embed.parameters()).device
    return model.to(device).eval()  # .to() quantizes the Int8Params


def weight_bytes(model: nn.Module) -> int:
    """Bytes of every weight as stored (int8 weights count one byte each, their scales four)."""
    packed = [m for m in model.modules() if isinstance(m, TorchInt8Linear)]
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors) + sum(m.stored_bytes() for m in packed)
