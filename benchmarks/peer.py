"""Our speed against a peer implementation, lucidrains' `transfusion-pytorch` 0.20.0 (PyPI), in one
run, at matched sizes, token counts and step counts; the ratios are what to compare.

    python -m benchmarks.peer [--model assets/model] [--repeats 3] [--steps 25] [--threads N]

On a machine shared with other work, `--threads 1` gives far steadier figures: two processes
that each spin two OpenMP threads on two cores can slow each other down many times over.

What it does
  1. Makes `benchmarks/.peer-venv` if it is missing (git ignores it): `pip install torch==2.13.0`
     first and pinned (an unpinned torch would pull a multi-GB CUDA build), then
     `pip install transfusion-pytorch==0.20.0` under a constraint that keeps that torch; if the
     peer demanded another torch, pip fails and so does this script. The peer never enters our
     own environment.
  2. Times our model through `TransfusionPipeline.from_pretrained(--model)` at the default
     settings (the checkpoint's defaults: `pipe.defaults`; --steps overrides the steps).
  3. Runs `benchmarks/peer_child.py` in that venv: it builds the peer's `Transfusion` with random
     weights (speed does not depend on training) and times it through its own public calls
     (`sample_many`, `sample`, `generate_text_only`). Both sides run in float32 on the CPU with
     the same thread count, one after the other.

Measured (median of --repeats calls, after a warm-up call)
  - Image: seconds to draw one image from one prompt. Ours: `draw_images`, the exact work of
    `text_to_image` before its VAE decode (the peer has no VAE, so ours is left out; the full
    `text_to_image` is printed too). Peer: `sample_many` forced to open an image right after the
    prompt, with a length budget that stops it at the image's end.
  - Text: tokens/s of greedy decoding with a KV cache after a ~256-token text prompt, prefill
    included. Ours: `generation.generate` (as `benchmarks.inference`); the peer:
    `generate_text_only(temperature=0)`, for as many new tokens as ours decoded.
  - The work each side did: calls of the transformer and the token rows they ran (batch rows x
    new tokens; a cached step counts only its new tokens).

Matched
  - Transformer width, depth, heads (so head size) and MLP hidden width: read from --model's
    config.json. The peer's MLP width is set through its `ff_expansion_factor`.
  - Text vocabulary: the peer's `num_text_tokens` is our vocab size.
  - Image: one continuous-latent modality of our latent shape (4 x 16 x 16) cut into our 2 x 2
    patches by the peer's modality encoder/decoder slots (a reshape, as in its own examples):
    64 image tokens of 16 numbers each, through the peer's linear in/out projections
    (`dim_latent` 16, `channel_first_latent`, `modality_default_shape` (8, 8)).
  - Prompt length: the peer's prompt ([sos] + text + [som]) has as many tokens as our
    conditional row (BOS ... BOI); text ids are random.
  - Guidance: both run classifier-free guidance at 3.0 with a conditional and an unconditional
    prompt. "Matched work": the peer's ODE solved with Euler on steps + 1 time points, one model
    call per step as our sampler; both sides then run the same token rows.
  - Parameter count: the peer at our shape carries ~3x our weights (its per-token adaLN-Zero
    time conditioning alone is larger than our whole model), so a second peer model keeps our
    depth and heads and takes the width whose parameter count is nearest ours.

Not matched (the peer's design, kept as it ships)
  - Peer "as shipped": its default ODE, 'midpoint' on 16 time points: 30 evaluations, each a
    conditional and an unconditional call (62 calls with the two prompt passes; ours: 26).
  - The peer is always rectified flow; our sampler is the checkpoint objective's default (Euler
    for flow, DDIM for epsilon and v): one model evaluation per step either way.
  - The peer's blocks add adaLN-Zero conditioning on every image token, U-Net skips between
    layers, value gates, q/k RMSNorm, an attention over all earlier layers' outputs, softclamped
    attention scores in einsum (not SDPA), and a GEGLU MLP with biases (ours: SwiGLU, no bias).
  - Our guidance runs both prompts as one batch of two rows (the unconditional row is shorter,
    left-padded to the same length); the peer runs two batch-one calls per step.
  - The peer's embedding and LM head carry 134 extra rows (its special and shape-meta tokens).
  - Our text loop runs its last sampled token through the model (one extra one-token step).
  - `model.sample()` (the peer README's call) runs the conditional pass without a KV cache;
    it is printed for the same-shape model as a third peer figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from benchmarks.machine import describe
from benchmarks.timing import timed
from transfusion import TransfusionPipeline
from transfusion.documents import encode_document
from transfusion.generation import draw_images, generate
from transfusion.generation_config import Settings

ROOT = Path(__file__).resolve().parents[1]  # the peer's venv, its script and --model live here

PEER_VERSION = "0.20.0"
PEER = f"transfusion-pytorch=={PEER_VERSION}"
TORCH = "torch==2.13.0"
VENV = ROOT / "benchmarks" / ".peer-venv"
CHILD = ROOT / "benchmarks" / "peer_child.py"
PROMPT = "a large red circle in the top left corner and a small blue square in the center on a white background"
TEXT_CONTEXT = 256  # tokens before text decoding starts (as benchmarks.inference)
NEW_TOKENS = 64
TARGET = 5.0  # the target: our image generation at least this many times faster


# the peer's environment


def peer_python() -> Path:
    """The peer venv's python, made and filled if missing; stops if the peer wants another torch."""
    python = VENV / "bin" / "python"
    check = "import torch, importlib.metadata as m; print(torch.__version__.split('+')[0], m.version('transfusion-pytorch'))"
    torch_version = TORCH.split("==")[1]
    if python.exists():
        done = subprocess.run([python, "-c", check], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.split() == [torch_version, PEER_VERSION]:
            return python
    print(f"setting up {VENV.relative_to(ROOT)} ({TORCH}, then {PEER}) ...", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    pip = [python, "-m", "pip", "install", "-q"]
    subprocess.run([*pip, TORCH], check=True)  # first and pinned: the CPU wheel, not a CUDA build
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as keep:
        keep.write(TORCH + "\n")
        keep.flush()
        done = subprocess.run([*pip, "-c", keep.name, PEER])
    if done.returncode:
        sys.exit(f"pip could not install {PEER} beside {TORCH} (does it demand another torch?); stopped")
    found = subprocess.run([python, "-c", check], capture_output=True, text=True, check=True).stdout.split()[0]
    if found != torch_version:
        sys.exit(f"the peer venv's torch became {found}, not {torch_version}; stopped")
    return python


# our side


class WorkCounter:
    """Counts our transformer's calls and the token rows they run (batch rows x new tokens)."""

    def __init__(self, model):
        self.calls = self.token_rows = 0
        self.handle = model.blocks[0].register_forward_pre_hook(self.hook)

    def hook(self, module, args):
        self.calls += 1
        self.token_rows += args[0].shape[0] * args[0].shape[1]

    def close(self) -> dict:
        self.handle.remove()
        return {"calls": self.calls, "token_rows": self.token_rows}


def measure(ckpt, fn, repeats: int) -> dict:
    """The work of one call of `fn` (counted on the eager steps: a hook has no place in a
    compiled graph) and the median seconds of `repeats` calls as the checkpoint runs them."""
    compiled, ckpt.compiled = ckpt.compiled, False
    counter = WorkCounter(ckpt.model)
    fn()  # counted
    work = counter.close()
    ckpt.compiled = compiled
    return {**work, "seconds": timed(fn, repeats)}  # timed() warms up first: compiled steps compile there


def text_chat(pipe: TransfusionPipeline) -> tuple[list[dict], int]:
    """The longest text-only user turn (whole words) whose prompt, with the open assistant turn,
    is at most TEXT_CONTEXT tokens; and that prompt's length."""
    ckpt, words, best = pipe.checkpoint, "what shapes are there and where are they?".split(), None
    for k in range(1, 4 * TEXT_CONTEXT):
        chat = [{"role": "user", "content": " ".join(words[i % len(words)] for i in range(k))}]
        n = len(encode_document(chat + [{"role": "assistant", "content": []}], ckpt.tokenizer, ckpt.config, close=False))
        if n > TEXT_CONTEXT:
            break
        best = chat, n
    if best is None:
        raise RuntimeError("could not build the text prompt")
    return best


def ours(pipe: TransfusionPipeline, args) -> dict:
    ckpt, config = pipe.checkpoint, pipe.checkpoint.config
    settings = pipe.settings(steps=args.steps)
    chat = [{"role": "user", "content": PROMPT}, {"role": "assistant", "content": []}]
    prompt_tokens = len(encode_document(chat, ckpt.tokenizer, config, close=False)) + 1  # + BOI
    image = measure(ckpt, lambda: draw_images(ckpt, [chat], settings, [0]), args.repeats)
    shipped = measure(ckpt, lambda: pipe.text_to_image(PROMPT, seed=0, steps=args.steps), args.repeats)

    messages, context = text_chat(pipe)
    seen: list[list[int]] = []

    def decode():
        seen.append([])
        generate(ckpt, messages, Settings(max_new_tokens=NEW_TOKENS), allow_images=False, on_token=seen[-1].append)

    text = measure(ckpt, decode, args.repeats)
    text.update(tokens=len(seen[-1]), context=context, tokens_per_s=len(seen[-1]) / text["seconds"])
    params = sum(p.numel() for p in ckpt.model.parameters())
    return {"params": params, "prompt_tokens": prompt_tokens, "image": image, "text_to_image": shipped, "text": text}


# the report


def fmt_params(n: int) -> str:
    return f"{n / 1e6:.2f}M"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="assets/model", help="our checkpoint folder (relative to the repo root or absolute)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per figure (the median is shown)")
    p.add_argument("--steps", type=int, default=None, help="denoising steps, ours and the matched peer's "
                                                             "(default: the checkpoint's)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads, both sides")
    p.add_argument("--skip-param-matched", action="store_true", help="time only the same-shape peer model")
    p.add_argument("--compiled", action="store_true", help="our decoding and denoising steps through torch.compile")
    args = p.parse_args(argv)
    model = Path(args.model) if Path(args.model).is_absolute() else ROOT / args.model
    if not (model / "config.json").exists():
        sys.exit(f"{model} is not a checkpoint folder (no config.json): pass --model")

    python = peer_python()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    pipe = TransfusionPipeline.from_pretrained(model, device="cpu", compiled=args.compiled)
    config = pipe.checkpoint.config
    args.steps = args.steps or pipe.defaults.steps
    if config.patch_encoder != "linear":
        print(f"note: our patch encoder is {config.patch_encoder!r}; the peer's is linear (not matched)")
    print(f"machine: {describe()}; repeats {args.repeats}, steps {args.steps}, "
          f"our steps {'compiled' if args.compiled else 'eager'}; timing ours ...", flush=True)
    us = ours(pipe, args)

    spec = dict(vocab_size=config.vocab_size, dim=config.dim, depth=config.n_layers, heads=config.n_heads,
                hidden=config.hidden_dim, latent_channels=config.vae.latent_channels,
                latent_size=config.vae.latent_size, patch_size=config.patch_size,
                prompt_text_tokens=us["prompt_tokens"] - 2,  # the peer adds [sos] and [som]
                steps=args.steps, guidance=pipe.defaults.guidance, text_context=us["text"]["context"],
                new_tokens=us["text"]["tokens"], repeats=args.repeats, threads=args.threads, seed=0,
                our_params=us["params"], skip_param_matched=args.skip_param_matched)
    print("timing the peer ...", flush=True)
    done = subprocess.run([python, CHILD, json.dumps(spec)], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"the peer's run failed:\n{done.stderr[-4000:]}")
    peer = json.loads(done.stdout.strip().splitlines()[-1])

    image_tokens = config.patches_per_image
    print(f"\nours: {model.name} (torch {torch.__version__}) | peer: transfusion-pytorch {peer['peer']} "
          f"(torch {peer['torch']}), random weights | threads {args.threads}, float32, CPU")
    print(f"matched: D={config.dim} L={config.n_layers} H={config.n_heads} (head {config.dim // config.n_heads}), "
          f"MLP hidden {config.hidden_dim}, text vocab {config.vocab_size}, latent {config.vae.latent_channels}x"
          f"{config.vae.latent_size}x{config.vae.latent_size} in {config.patch_size}x{config.patch_size} patches "
          f"= {image_tokens} image tokens, {us['prompt_tokens']} prompt tokens before the image, guidance "
          f"{pipe.defaults.guidance} on both, {args.steps} steps")

    print("\nparameters (transformer with its text and patch layers; no VAE):")
    print(f"  ours                      {fmt_params(us['params'])}")
    for c in peer["configs"]:
        print(f"  peer {c['name']:<20} {fmt_params(c['params'])}   (D={c['dim']} L={c['depth']} H={c['heads']} "
              f"head {c['dim_head']}, MLP {c['ff_inner']}, {c['vocab_rows']} vocab rows; adaLN time conditioning "
              f"{fmt_params(c['params_adaln'])}, the rest {fmt_params(c['params'] - c['params_adaln'])})")

    mine = us["image"]["seconds"]
    row = "  {:<66} {:>7.3f} {:>6} {:>7}   {}"
    print(f"\nimage, one prompt, seconds (median of {args.repeats}); calls and token rows of the transformer:")
    print("  {:<66} {:>7} {:>6} {:>7}   {}".format("", "s", "calls", "rows", "ours faster"))
    print(row.format("ours  draw_images (text_to_image less VAE decode)", mine, us["image"]["calls"], us["image"]["token_rows"], ""))
    t2i = us["text_to_image"]
    print(row.format("ours  text_to_image, public call (VAE decode in)", t2i["seconds"], t2i["calls"], t2i["token_rows"], ""))
    labels = {"image_matched": f"sample_many, matched work (Euler, {args.steps} calls)",
              "image_shipped": "sample_many as shipped (midpoint, 16 points)",
              "image_sample_one": "sample() as in its README (no cond. cache)"}
    verdicts = []
    for c in peer["configs"]:
        for key, label in labels.items():
            if key in c:
                m = c[key]
                ratio = m["seconds"] / mine
                print(row.format(f"peer  {c['name']}: {label}", m["seconds"], m["calls"], m["token_rows"], f"{ratio:.2f}x"))
                if key == "image_matched":
                    verdicts.append((ratio, c["name"]))
        if c.get("image_shape"):
            assert c["image_shape"] == [config.vae.latent_channels, config.vae.latent_size, config.vae.latent_size]

    txt = us["text"]
    print(f"\ntext decoding, greedy, KV cache, {txt['context']} prompt tokens, {txt['tokens']} new tokens (prefill included):")
    print(f"  ours                      {txt['tokens_per_s']:8.1f} tokens/s")
    for c in peer["configs"]:
        t = c["text"]
        print(f"  peer {c['name']:<20} {t['tokens_per_s']:8.1f} tokens/s   (ours {txt['tokens_per_s'] / t['tokens_per_s']:.2f}x)")

    print(f"\ntarget, ours at least {TARGET:g}x faster per image at matched work: "
          + "; ".join(f"{ratio:.2f}x against the peer at {name} ({'met' if ratio >= TARGET else 'NOT met'})"
                      for ratio, name in verdicts))
    print("not matched (see the docstring): the peer's extra per-token adaLN, U-Net skips, gates and layer "
          "attention; its two batch-one guidance calls per step against our one batch of two rows; its 134 "
          "extra vocab rows; random text ids on its side. The machine may be shared: absolute times drift, "
          "ratios less so.")


if __name__ == "__main__":
    main()
