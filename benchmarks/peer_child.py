"""The peer's half of `benchmarks/peer.py`: runs inside `benchmarks/.peer-venv`, never in our env.

    benchmarks/.peer-venv/bin/python benchmarks/peer_child.py '<json spec>'

It builds lucidrains' `transfusion_pytorch.Transfusion` (random weights) in the shape that
`peer.py` passes in, times its image sampling and text decoding through the peer's own public
calls, and prints one JSON object on stdout (and nothing else there). It imports nothing from
our package, so it needs none of our dependencies.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TQDM_DISABLE", "1")  # the peer draws progress bars on every call

import torch  # noqa: E402
from einops.layers.torch import Rearrange  # noqa: E402
from loguru import logger  # noqa: E402

import transfusion_pytorch  # noqa: E402
from transfusion_pytorch import Transfusion  # noqa: E402
from timing import timed  # noqa: E402  (benchmarks/timing.py, stdlib only: this script's folder is on sys.path)

logger.remove()  # the peer logs every finished sample through loguru

ADALN = ("to_film", "to_ada_ln_zero", "to_time_cond")  # the peer's per-token timestep conditioning


def build(spec: dict, dim: int, **extra) -> Transfusion:
    """The peer's model with one continuous-latent modality: a C x S x S latent, cut into p x p
    patches by the peer's modality encoder/decoder slots (as its own examples do), so the
    transformer sees (S/p)^2 tokens of C*p*p numbers each."""
    c, s, p, heads = spec["latent_channels"], spec["latent_size"], spec["patch_size"], spec["heads"]
    return Transfusion(
        num_text_tokens=spec["vocab_size"],
        dim_latent=c * p * p,
        channel_first_latent=True,
        modality_default_shape=(s // p, s // p),
        modality_encoder=Rearrange("... c (h p1) (w p2) -> ... (c p1 p2) h w", p1=p, p2=p),
        modality_decoder=Rearrange("... (c p1 p2) h w -> ... c (h p1) (w p2)", p1=p, p2=p),
        transformer=dict(
            dim=dim,
            depth=spec["depth"],
            heads=heads,
            dim_head=dim // heads,
            # the peer's GEGLU width is int(dim * factor * 2/3): this factor gives ours (hidden / dim)
            ff_expansion_factor=1.5 * spec["hidden"] / spec["dim"],
        ),
        **extra,
    )


def count_params(model: torch.nn.Module) -> dict:
    total = sum(p.numel() for p in model.parameters())
    adaln = sum(p.numel() for n, p in model.named_parameters() if any(k in n for k in ADALN))
    return {"params": total, "params_adaln": adaln}


def param_matched_dim(spec: dict) -> int:
    """The width (a multiple of 2 * heads, so each head's size is even for RoPE, and at least 8)
    whose parameter count is nearest ours, at our depth and head count. The count grows with the
    width, so the search stops at the first width past ours."""
    step, best = 2 * spec["heads"], None
    for d in range(4 * step, spec["dim"] + 1, step):
        gap = count_params(build(spec, d))["params"] - spec["our_params"]
        if best is None or abs(gap) < best[1]:
            best = (d, abs(gap))
        if gap > 0:
            break
    return best[0]


class WorkCounter:
    """Counts the peer transformer's calls and the token rows they run (batch x new tokens)."""

    def __init__(self, model: Transfusion):
        self.calls = self.token_rows = 0
        self.handle = model.transformer.register_forward_pre_hook(self.hook, with_kwargs=True)

    def hook(self, module, args, kwargs):
        x = args[0] if args else kwargs["x"]
        new = kwargs.get("decode_length") if kwargs.get("cache") is not None else None
        self.calls += 1
        self.token_rows += x.shape[0] * (new or x.shape[1])

    def close(self) -> dict:
        self.handle.remove()
        return {"calls": self.calls, "token_rows": self.token_rows}


def measure(model: Transfusion, fn, repeats: int) -> dict:
    counter = WorkCounter(model)
    fn()  # warm-up, counted
    work = counter.close()
    return {"seconds": timed(fn, repeats, warm_up=False), **work}


def run_config(spec: dict, name: str, dim: int, images: bool, one: bool) -> dict:
    torch.manual_seed(spec["seed"])
    shipped = build(spec, dim).eval()  # the peer's default ODE solver: 'midpoint' on its time grid
    matched = build(spec, dim, odeint_kwargs=dict(method="euler")).eval()  # one model call per step, as ours
    matched.load_state_dict(shipped.state_dict())
    out = {"name": name, "dim": dim, "depth": spec["depth"], "heads": spec["heads"],
           "dim_head": dim // spec["heads"], "ff_inner": shipped.transformer.layers[0][2].fn.net[-1].in_features,
           "vocab_rows": shipped.text_embed.num_embeddings, **count_params(shipped)}

    g = torch.Generator().manual_seed(spec["seed"])
    prompt = torch.randint(0, spec["vocab_size"], (spec["prompt_text_tokens"],), generator=g)
    image_tokens = (spec["latent_size"] // spec["patch_size"]) ** 2
    # the sample ends right after the image: a budget of image_tokens - 1 leaves no text to decode
    common = dict(force_modality_at_start=0, max_length=image_tokens - 1)
    reps = spec["repeats"]
    if images:
        out["image_shipped"] = measure(shipped, lambda: shipped.sample_many([prompt], **common), reps)
        out["image_matched"] = measure(matched, lambda: matched.sample_many(
            [prompt], modality_steps=spec["steps"] + 1, cfg_scale=spec["guidance"], **common), reps)
        shape = matched.sample_many([prompt], modality_steps=2, **common)[0][1].tensor.shape
        out["image_shape"] = list(shape)
    if one:  # the README's `model.sample()`: no KV cache for the conditional pass by default
        out["image_sample_one"] = measure(shipped, lambda: shipped.sample(prompt, **common), reps)

    ctx = torch.randint(0, spec["vocab_size"], (1, spec["text_context"]), generator=g)
    n = spec["new_tokens"]
    decoded = []
    text = measure(matched, lambda: decoded.append(matched.generate_text_only(
        ctx, spec["text_context"] + n, temperature=0.0).shape[-1]), reps)
    out["text"] = {**text, "tokens": decoded[-1], "tokens_per_s": decoded[-1] / text["seconds"]}
    return out


def train_speed(spec: dict, name: str, dim: int) -> dict:
    """Seconds of one training step (forward with the peer's own loss, backward, AdamW) on a batch
    of `batch` samples, each text, one image, text; and the tokens those samples hold."""
    torch.manual_seed(spec["seed"])
    model = build(spec, dim).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(spec["seed"])
    c, s, v = spec["latent_channels"], spec["latent_size"], spec["vocab_size"]
    batch = [[torch.randint(0, v, (spec["text_before"],), generator=g), torch.randn(c, s, s, generator=g),
              torch.randint(0, v, (spec["text_after"],), generator=g)] for _ in range(spec["batch"])]

    def step():
        loss = model(batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # warm-up
    seconds = timed(step, spec["repeats"], warm_up=False)
    image_tokens = (s // spec["patch_size"]) ** 2
    tokens = spec["batch"] * (spec["text_before"] + spec["text_after"] + image_tokens + 2)  # + its [som] [eom]
    return {"name": name, "dim": dim, **count_params(model), "seconds": seconds, "tokens": tokens,
            "tokens_per_s": tokens / seconds}


def main() -> None:
    spec = json.loads(sys.argv[1])
    torch.set_num_threads(spec["threads"])
    if spec.get("mode") == "train":
        configs = [train_speed(spec, "same shape", spec["dim"]), train_speed(spec, "same params", param_matched_dim(spec))]
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "configs": configs}))
        return
    result = {"torch": torch.__version__, "peer": getattr(transfusion_pytorch, "__version__", None),
              "threads": torch.get_num_threads(), "configs": []}
    if result["peer"] is None:
        from importlib.metadata import version

        result["peer"] = version("transfusion-pytorch")
    result["configs"].append(run_config(spec, "same shape", spec["dim"], images=True, one=True))
    if not spec["skip_param_matched"]:
        dim = param_matched_dim(spec)
        result["configs"].append(run_config(spec, "same params", dim, images=True, one=False))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
