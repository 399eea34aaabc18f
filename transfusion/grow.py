"""A warm start into a larger model: more layers, a wider residual stream, more heads, a wider MLP.

`grow(model, config)` returns a model of `config` that computes what `model` computes, so a run can
go on from shipped weights with more room instead of starting again (stages 1-16 of the built-in
model saw 1.65M documents; the same again for a new size is hours of a GPU). The idea is that of
Net2Net (Chen et al., 2016) with zeros instead of copies:

- every weight that *writes* the residual stream (the embedding, each attention and MLP output,
  the patch encoder's output) writes 0 into the new channels, so the stream's new channels start
  at 0 and the old ones carry what they carried;
- every weight that *reads* the stream keeps its old columns and gets random new ones: they read
  zeros at first, and give the new channels a gradient (were they 0 too, the new channels would
  stay dead);
- a new head or MLP unit is computed (random weights) but its output weight is 0, so it adds
  nothing until training gives it a use;
- a new block's two output weights are 0: it is the identity, and is appended after the old ones;
- an RMSNorm of the stream is over D' channels where D of them are non-zero, so its mean square is
  D/D' of what it was: the old gains are scaled by sqrt(D/D') to give the same output.

Exact for the U-Net patch decoder and, but for the norms' epsilon, for the LM logits. The linear
patch decoder normalises with a LayerNorm, whose statistics over D' channels are not those over D:
`_after_layer_norm` makes up for the most of it, and what is left moves the prediction by a little
(measured on the built-in model in the model card's stage that first grows it), which the first
steps of training take back. The head size stays: n_heads grows with D.
"""

from __future__ import annotations

import math

import torch

from .config import TransfusionConfig
from .model import Transfusion

# parameters that write the stream (or the timestep vector read beside it): new output rows are 0
WRITERS = ("attn.proj.weight", "mlp.down.weight", "patch_in.proj.weight", "patch_in.proj.bias",
           "time.mlp.2.weight", "time.mlp.2.bias", "patch_in.to_tokens.weight", "patch_in.to_tokens.bias")
# parameters whose new input channels are live from the start (new heads, MLP units, timestep
# units): their new input columns are 0, or those units would change the old outputs
LIVE_INPUTS = ("attn.proj.weight", "mlp.down.weight", "time.mlp.2.weight")
CHUNKS = {"attn.qkv.weight": 3, "mlp.gate_up.weight": 2}  # rows laid out as q|k|v, gate|up
STREAM_NORMS = ("attn_norm.weight", "mlp_norm.weight")
SAME = ("vocab_size", "norm_eps", "vae", "patch_size", "patch_encoder", "unet_channels", "objective",
        "image_codes", "qk_norm", "image_attention", "rope_theta")


def growable(small: TransfusionConfig, big: TransfusionConfig) -> None:
    """Raise ValueError unless `big` is `small` with more layers, width or MLP, and the same head size."""
    for name in SAME:
        if getattr(small, name) != getattr(big, name):
            raise ValueError(f"cannot grow into a model with another {name}: {getattr(small, name)!r} -> {getattr(big, name)!r}")
    if big.dim // big.n_heads != small.dim // small.n_heads:
        raise ValueError(f"the head size must stay {small.dim // small.n_heads}: dim {big.dim} with {big.n_heads} heads "
                         f"gives {big.dim // big.n_heads}")
    for name in ("dim", "n_layers", "hidden_dim", "max_seq_len"):  # a longer context only extends RoPE's tables
        if getattr(big, name) < getattr(small, name):
            raise ValueError(f"cannot grow {name} from {getattr(small, name)} down to {getattr(big, name)}")


def grow(small: Transfusion, config: TransfusionConfig, seed: int = 0) -> Transfusion:
    """A model of `config` (random where new, `seed`) computing what `small` computes; see the module."""
    growable(small.config, config)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        big = Transfusion(config)
    old = small.state_dict()
    d, d_big = small.config.dim, config.dim
    with torch.no_grad():
        for name, p in big.named_parameters():
            if name.startswith("blocks.") and int(name.split(".")[1]) >= small.config.n_layers:
                if name.endswith(("attn.proj.weight", "mlp.down.weight")):
                    p.zero_()  # a new block is the identity
                continue
            p.copy_(_grown(name, old[name].to(p.dtype), p, d, d_big))
    return big


def _grown(name: str, w: torch.Tensor, init: torch.Tensor, d: int, d_big: int) -> torch.Tensor:
    """Parameter `name` of the larger model, from its old value `w` and its fresh init."""
    if name == "embed.weight":  # (V, D): writes the stream along its columns
        out = torch.zeros_like(init)
        out[:, :w.shape[1]] = w
        return out
    if name == "norm.weight" or name.endswith(STREAM_NORMS):
        out = torch.ones_like(init)
        out[:w.shape[0]] = w
        return out * math.sqrt(d / d_big)
    if name == "patch_out.proj.weight" and w.shape != init.shape:  # the linear decoder's reader, after its LayerNorm
        return _after_layer_norm(w, d, d_big)
    if w.shape == init.shape:
        return w
    out = init.clone()
    if name.endswith(WRITERS):
        out[w.shape[0]:] = 0
    if name.endswith(LIVE_INPUTS):
        out[:, w.shape[1]:] = 0
    suffix = next((s for s in CHUNKS if name.endswith(s)), None)
    if suffix:
        n = CHUNKS[suffix]
        small_rows, big_rows = w.shape[0] // n, out.shape[0] // n
        for c in range(n):
            out[c * big_rows:c * big_rows + small_rows, :w.shape[1]] = w[c * small_rows:(c + 1) * small_rows]
        return out
    if w.dim() != init.dim():
        raise ValueError(f"{name}: cannot grow {tuple(w.shape)} into {tuple(init.shape)}")
    out[tuple(slice(0, n) for n in w.shape)] = w
    return out


def _after_layer_norm(w: torch.Tensor, d: int, d_big: int) -> torch.Tensor:
    """The linear patch decoder's weight (P, D) -> (P, D'), read after a LayerNorm over D'.

    With D of D' channels non-zero, that LayerNorm's mean is r = D/D' of the old one and its
    deviation about sqrt(r) of it (exactly so when the mean is 0). Each new column set to the old
    columns' mean makes the mean's share what it was, and scaling everything by sqrt(r) makes up
    the deviation: the prediction is the old one up to the mean's share of the deviation."""
    r = d / d_big
    out = w.new_empty(w.shape[0], d_big)
    out[:, :d] = w
    out[:, d:] = w.mean(dim=1, keepdim=True)
    return out * math.sqrt(r)
