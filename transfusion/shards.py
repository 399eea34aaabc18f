"""A model's weights in one safetensors file, or in several small ones.

Hugging Face Spaces (and many git hosts) refuse files over 10 MB unless they go through Git
LFS, which a plain `git clone` does not fetch. The built-in model's 27 MB of weights therefore
ship as shards of at most 9 MB: `model-00001-of-00003.safetensors`, ... and
`model.safetensors.index.json` (Hugging Face's index format: `{"weight_map": {name: file}}`).

Tensors that two names share (diffusers' Downsample2D aliases a conv) are written once, under
the first name; loading checks that every name left out shares its tensor with one that was
loaded. Only safetensors are read: nothing is ever unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, load_model, save_file, save_model

SINGLE = "model.safetensors"
INDEX = "model.safetensors.index.json"


def has_weights(folder: Path) -> bool:
    return (folder / SINGLE).exists() or (folder / INDEX).exists()


def _unique(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict without aliases: each storage under its first name, contiguous."""
    seen, out = set(), {}
    for name, t in model.state_dict().items():
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape))
        if key not in seen:
            seen.add(key)
            out[name] = t.detach().contiguous().cpu()
    return out


def save_weights(model: torch.nn.Module, folder: Path, max_shard_mb: float | None = None) -> None:
    """`folder/model.safetensors`, or shards of at most `max_shard_mb` MB and their index."""
    folder = Path(folder)
    for old in [folder / SINGLE, folder / INDEX, *folder.glob("model-*-of-*.safetensors")]:
        old.unlink(missing_ok=True)
    if not max_shard_mb:
        save_model(model, folder / SINGLE, metadata={"format": "pt"})
        return
    limit = int(max_shard_mb * 1_000_000)
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, t in _unique(model).items():
        nbytes = t.numel() * t.element_size()
        if shards[-1] and size + nbytes > limit:
            shards.append({})
            size = 0
        shards[-1][name] = t
        size += nbytes
    weight_map = {}
    for k, shard in enumerate(shards, 1):
        file = f"model-{k:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, folder / file, metadata={"format": "pt"})
        weight_map.update({name: file for name in shard})
    (folder / INDEX).write_text(json.dumps({"metadata": {"format": "pt"}, "weight_map": weight_map}, indent=1) + "\n")


def load_weights(model: torch.nn.Module, folder: Path) -> None:
    """Load what `save_weights` wrote into `model` (strict: every parameter must be found)."""
    folder = Path(folder)
    if (folder / SINGLE).exists():
        load_model(model, folder / SINGLE)
        return
    weight_map = json.loads((folder / INDEX).read_text())["weight_map"]
    state = {}
    for file in sorted(set(weight_map.values())):
        if Path(file).name != file:
            raise ValueError(f"{folder / INDEX}: shard names must be plain file names, got {file!r}")
        state.update(load_file(folder / file))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected:
        raise ValueError(f"{folder}: weights for names the model does not have: {unexpected[:5]}")
    own = model.state_dict()
    loaded = {own[n].untyped_storage().data_ptr() for n in state}
    lost = [n for n in missing if own[n].untyped_storage().data_ptr() not in loaded]
    if lost:
        raise ValueError(f"{folder}: no weights for {lost[:5]}")
