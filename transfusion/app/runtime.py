"""Where the app's model runs: the device policy, loading, and Hugging Face ZeroGPU.

Policy (the design card's): where CUDA is present the model lives on the GPU with 8-bit
weights; on the CPU it runs in full precision, or in int8 when asked.

On a ZeroGPU Space, `import spaces` must come before anything touches CUDA: importing this
module does it, so `demo.py` imports it first. Elsewhere `gpu` leaves functions as they are.
"""

from __future__ import annotations

from pathlib import Path

try:  # the `spaces` package exists only on Hugging Face Spaces
    import spaces
except ImportError:
    spaces = None

import torch

from ..pipeline import BUILT_IN, TransfusionPipeline

QUANTIZATIONS = ("auto", "none", "int8")


def gpu(fn):
    """`spaces.GPU(fn)` where the `spaces` package is importable, else `fn` itself."""
    return spaces.GPU(fn) if spaces is not None else fn


def choose_runtime(device: str | None = None, quantization: str = "auto") -> tuple[str, str | None]:
    """(device, quantization for `from_pretrained`). Device None: CUDA when present, else the
    CPU. Quantization "auto": int8 on CUDA, none on the CPU; "none" or "int8" as asked."""
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but PyTorch sees no CUDA device")
    if quantization == "auto":
        quantization = "int8" if device.startswith("cuda") else "none"
    return device, None if quantization == "none" else quantization


def built_in_checkpoints() -> list[Path]:
    """The models shipped in assets/: the built-in ShapesWorld model first, then every other
    folder there that holds a checkpoint (config.json), by name."""
    if not BUILT_IN.parent.is_dir():  # an installed package without the checkout's assets/
        return [BUILT_IN]
    others = sorted(p for p in BUILT_IN.parent.iterdir() if p != BUILT_IN and (p / "config.json").exists())
    return [BUILT_IN, *others]


def checkpoint_dir(path: str | Path | None) -> Path:
    """The checkpoint folder: `path`, or the built-in model."""
    return Path(path) if path else BUILT_IN


def load_pipeline(path: str | Path | None = None, device: str | None = None,
                  quantization: str = "auto") -> TransfusionPipeline:
    """The pipeline for the app, on the device and with the quantization of the policy."""
    folder = checkpoint_dir(path)
    if not folder.exists():
        hint = ("the built-in model is not there yet: train it (see the README), or pass --checkpoint FOLDER"
                if path is None else "pass the folder of a checkpoint saved by save_pretrained")
        raise FileNotFoundError(f"no checkpoint at {folder}: {hint}")
    device, quant = choose_runtime(device, quantization)
    return TransfusionPipeline.from_pretrained(folder, device=device, quantization=quant)
