"""Model FLOPs utilisation of a Transfusion training step: FLOPs per token, and the device's peak.

MFU = tokens/s x FLOPs per token / peak FLOP/s, counting the FLOPs the model needs (as nanoGPT's
`estimate_mfu` does), not those the kernels happen to spend.
"""

from __future__ import annotations

import torch

H200_BF16_PEAK = 989e12  # FLOP/s: H200 SXM, bf16 dense (no sparsity), NVIDIA's datasheet
FORMULA = ("FLOPs per token = 6 N + 12 L D T (N: parameters outside the token embedding; L layers of width D; "
           "T: the row length, so the block-diagonal attention of packed rows is counted in full)")


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a timer must, on CUDA)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)



def non_embedding_parameters(model) -> int:
    """Parameters outside the token embedding, whose look-up multiplies nothing."""
    return sum(p.numel() for p in model.parameters()) - model.embed.weight.numel()


def flops_per_token(model, length: int) -> float:
    """Training FLOPs of one token: 6 N (forward and backward through N non-embedding parameters)
    + 12 L D T (attention scores and values over rows of T tokens, L layers of width D)."""
    c = model.config
    return 6 * non_embedding_parameters(model) + 12 * c.n_layers * c.dim * length


def measured_matmul_flops(device: torch.device, dtype: torch.dtype, n: int, repeats: int) -> float:
    """FLOP/s of an n x n matmul on the device (the median of `repeats`, after a warm-up)."""
    from benchmarks.timing import timed

    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))

    def once():
        a @ b
        synchronize(device)

    return 2 * n**3 / timed(once, repeats)


def peak_flops(device: torch.device) -> tuple[float, str]:
    """The device's peak FLOP/s and where the figure comes from: on an H200 the datasheet's bf16
    (a measured matmul beside it), on other GPUs a measured bf16 matmul, on the CPU an fp32 one."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        measured = measured_matmul_flops(device, torch.bfloat16, 8192, 10)
        matmul = f"a bf16 8192 × 8192 matmul measured {measured:.3g} FLOP/s on {name}"
        if "H200" in name and "NVL" not in name:
            return H200_BF16_PEAK, f"{H200_BF16_PEAK:.3g} FLOP/s, H200 SXM bf16 dense (NVIDIA's datasheet); {matmul}"
        return measured, f"{measured:.3g} FLOP/s measured: {matmul} (no datasheet figure here for this device)"
    peak = measured_matmul_flops(device, torch.float32, 2048, 3)
    return peak, f"{peak:.3g} FLOP/s measured: an fp32 2048 × 2048 matmul (torch threads: {torch.get_num_threads()})"
