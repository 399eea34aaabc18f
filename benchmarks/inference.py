"""Inference speed of a checkpoint, every figure from one run (absolute times drift on a shared
machine; the ratios are what to compare).

    python -m benchmarks.inference [--model assets/model] [--repeats 3]     # from the repository root

Prints: image latency at the checkpoint's default settings and its split (prompt prefill, denoising, VAE
decode); text decoding tokens/s with and without the KV cache at 256 tokens of context;
batched images/s; int8 against fp32 latency and weight memory.
"""

from __future__ import annotations

import argparse
import time

import torch

from benchmarks.machine import describe
from benchmarks.timing import timed
from transfusion import TransfusionPipeline
from transfusion.batch import collate
from transfusion.documents import Sequence, encode_document
from transfusion.kv_cache import run_tokens
from transfusion.mask import attention_mask
from transfusion.generation import draw_images, prefill
from transfusion.quantize import kernel_for, weight_bytes
from transfusion.token_step import TokenStep
from transfusion.vae import decode

PROMPT = "a large red circle in the top left corner and a small blue square in the center on a white background"


def image_split(pipe: TransfusionPipeline, repeats: int) -> dict:
    ckpt, s = pipe.checkpoint, pipe.defaults
    chat = [{"role": "user", "content": PROMPT}, {"role": "assistant", "content": []}]
    x, _, _ = draw_images(ckpt, [chat], s, [0])
    rows = [encode_document(r, ckpt.tokenizer, ckpt.config, close=False) for r in
            [chat, [{"role": "user", "content": []}, {"role": "assistant", "content": []}]]]
    for r in rows:
        r.add([ckpt.tokenizer.boi_id], False)
    total = timed(lambda: pipe.text_to_image(PROMPT, seed=0), repeats)
    draw = timed(lambda: draw_images(ckpt, [chat], s, [0]), repeats)
    pre = timed(lambda: prefill(ckpt, rows), repeats)
    dec = timed(lambda: decode(ckpt.vae, x), repeats)
    return {"total": total, "prefill": pre, "denoising": draw - pre, "vae decode": dec}


def context_chat(pipe: TransfusionPipeline, n_tokens: int = 256) -> list[dict]:
    """A user turn of about `n_tokens` tokens: three images and a question."""
    images = pipe.text_to_image([PROMPT] * 3, seed=0, steps=2)
    words = "what shapes are there and where are they? " * 10
    ckpt = pipe.checkpoint
    for cut in range(len(words), 0, -4):
        latents = pipe._with_latents([{"role": "user", "content": [*images, words[:cut]]}])
        n = len(encode_document(latents + [{"role": "assistant", "content": []}], ckpt.tokenizer, ckpt.config, close=False))
        if n <= n_tokens:
            return latents
    raise RuntimeError("could not build the context")


def decoding_speed(pipe: TransfusionPipeline, repeats: int, new_tokens: int = 64) -> dict:
    """Greedy decoding of `new_tokens` after a 256-token context, EOS and BOI masked so that
    every run decodes the same number of tokens: per token, the cached loop runs one token
    against the KV cache (`kv_cache.run_tokens`), the static ones against the whole preallocated
    cache (`token_step.TokenStep`, eager and compiled), the uncached one the whole sequence (as
    `sampling.generate_text_naive` does)."""
    ckpt, chat = pipe.checkpoint, context_chat(pipe)
    tk, model = ckpt.tokenizer, ckpt.model
    seq = encode_document(chat + [{"role": "assistant", "content": []}], tk, ckpt.config, close=False)
    banned = [tk.eos_id, tk.boi_id]

    def greedy(step) -> list[int]:
        """Decode with `step(cache, token (1,)) -> hidden (1, D)` after the prompt."""
        cache, h = prefill(ckpt, [seq])
        out = []
        for _ in range(new_tokens):
            logits = model.lm_head(h[0])
            logits[banned] = float("-inf")
            out.append(int(logits.argmax()))
            h = step(cache, torch.tensor([out[-1]]))
        return out

    def plain_step(cache, token):
        return run_tokens(model, cache, model.embed(token[:, None]), torch.ones(1, 1, dtype=torch.bool),
                          torch.full((1, 1), -1))[:, -1]

    def uncached() -> list[int]:
        s = Sequence(seq.patches_per_image, list(seq.tokens), list(seq.lm_loss), list(seq.latents),
                     list(seq.image_starts), list(seq.image_noised), list(seq.image_limited))
        out = []
        for _ in range(new_tokens):
            b = collate([s], tk.pad_id)
            logits, _ = model(b.tokens, b.positions, attention_mask(b.doc_ids, b.image_ids), b.latents,
                              torch.zeros(len(b.latents)), b.patch_index)
            logits = logits[0, -1]
            logits[banned] = float("-inf")
            out.append(int(logits.argmax()))
            s.add([out[-1]], False)
        return out

    eager_step, compiled_step = TokenStep(model), TokenStep(model, compiled=True)
    cached, eager, compiled = (lambda: greedy(plain_step)), (lambda: greedy(eager_step)), (lambda: greedy(compiled_step))
    with torch.no_grad():
        t0 = time.perf_counter()
        reference = compiled()  # the first call compiles
        compile_s = time.perf_counter() - t0
        assert cached() == uncached() == eager() == reference, "the decoding paths disagree"
        times = {name: timed(fn, repeats) for name, fn in
                 [("cached", cached), ("static", eager), ("static compiled", compiled)]}
        times["uncached"] = timed(uncached, 1)
    return {"context": len(seq), "tokens": new_tokens, "compile s": compile_s,
            **{f"{name} tokens/s": new_tokens / t for name, t in times.items()}}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="checkpoint folder (default: the built-in model)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per figure (the median is shown)")
    p.add_argument("--batch", type=int, default=8, help="prompts in the batched figure")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    fp32 = TransfusionPipeline.from_pretrained(args.model, device="cpu")
    int8 = TransfusionPipeline.from_pretrained(args.model, device="cpu", quantization="int8")
    print(f"machine: {describe()}; default settings: {fp32.defaults}")

    split = image_split(fp32, args.repeats)
    print("\nimage latency (one prompt, default settings), seconds:")
    for k, v in split.items():
        print(f"  {k:<12} {v:.3f}")

    speed = decoding_speed(fp32, args.repeats)
    base = speed["cached tokens/s"]
    print(f"\ntext decoding at {speed['context']} tokens of context ({speed['tokens']} new tokens, greedy):")
    for name in ("cached", "static", "static compiled", "uncached"):
        print(f"  {name:<16} {speed[f'{name} tokens/s']:7.1f} tokens/s   ({speed[f'{name} tokens/s'] / base:.2f}x the cached loop)")
    print(f"  (compiling the static step took {speed['compile s']:.1f} s, once per process and cache shape)")

    one = timed(lambda: fp32.text_to_image(PROMPT, seed=0), args.repeats)
    many = timed(lambda: fp32.text_to_image([PROMPT] * args.batch, seed=0), args.repeats)
    print(f"\nbatched images: {args.batch / many:.2f} images/s at batch {args.batch}, "
          f"{1 / one:.2f} images/s one at a time ({one * args.batch / many:.1f}x)")

    q = timed(lambda: int8.text_to_image(PROMPT, seed=0), args.repeats)
    mf, mq = weight_bytes(fp32.checkpoint.model), weight_bytes(int8.checkpoint.model)
    print(f"\nint8 ({kernel_for(int8.device)} kernel) against fp32: latency {q:.3f} s vs {one:.3f} s ({one / q:.2f}x), "
          f"transformer weights {mq / 2**20:.1f} MiB vs {mf / 2**20:.1f} MiB ({mf / mq:.2f}x smaller)")


if __name__ == "__main__":
    main()
