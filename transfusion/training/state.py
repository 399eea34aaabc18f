"""Resumable training state in safetensors and JSON: nothing is pickled.

    <dir>/model.safetensors       the training weights
    <dir>/ema.safetensors         the EMA weights
    <dir>/optimizer.safetensors   every optimizer state tensor, keyed "<param index>.<name>"
    <dir>/state.json              step, data position, optimizer param groups, scheduler, EMA count

Randomness is not saved because it is never carried: every step draws from generators seeded
by (seed, step, rank), so a resumed run makes exactly the draws an unbroken one would.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

from .ema import EMA


def save_state(path: str | Path, model: nn.Module, ema: EMA, optimizer, scheduler, info: dict) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    save_model(model, tmp / "model.safetensors")
    save_file({k: v.contiguous().cpu() for k, v in ema.shadow.items()}, tmp / "ema.safetensors")
    opt = optimizer.state_dict()
    tensors = {f"{i}.{name}": v.contiguous().cpu() for i, s in opt["state"].items() for name, v in s.items()}
    save_file(tensors, tmp / "optimizer.safetensors")
    meta = {**info, "param_groups": opt["param_groups"], "scheduler": scheduler.state_dict(), "ema_steps": ema.steps}
    (tmp / "state.json").write_text(json.dumps(meta, indent=1))
    if path.exists():  # replace the old state only once the new one is complete
        old = path.with_name(path.name + ".old")
        path.rename(old)
        tmp.rename(path)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        tmp.rename(path)


def load_state(path: str | Path, model: nn.Module, ema: EMA, optimizer, scheduler) -> dict:
    """Restore everything `save_state` wrote; returns its `info` dict (step, data position...)."""
    path = Path(path)
    if not (path / "state.json").exists():
        raise FileNotFoundError(f"{path} holds no training state (state.json) to resume from")
    meta = json.loads((path / "state.json").read_text())
    load_model(model, path / "model.safetensors")
    device = next(model.parameters()).device  # the shadow lives where the model does
    ema.shadow = {k: v.float() for k, v in load_file(path / "ema.safetensors", device=str(device)).items()}
    ema.steps = meta.pop("ema_steps")
    state: dict[int, dict] = {}
    for key, v in load_file(path / "optimizer.safetensors").items():
        i, name = key.split(".", 1)
        state.setdefault(int(i), {})[name] = v
    optimizer.load_state_dict({"state": state, "param_groups": meta.pop("param_groups")})
    scheduler.load_state_dict(meta.pop("scheduler"))
    return meta
