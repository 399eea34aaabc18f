"""Training throughput against the peer (lucidrains' `transfusion-pytorch` 0.20.0), in one run.

    python -m benchmarks.peer_train [--model assets/model] [--batch 8] [--repeats 3] [--threads N]

Both sides train the same shape as --model's transformer (width, depth, heads, MLP width, vocab,
latent and patch), from random weights, in float32 on the CPU with the same threads, one after
the other, on the same batch: `--batch` samples of 24 text tokens, one 4 x 16 x 16 latent image
(64 patch tokens) and 16 text tokens, with each side's own loss (ours `transfusion_loss`: LM +
5 x flow; the peer's: LM + its flow loss), a backward pass and an AdamW step. Tokens/s counts
every token a side's sequence holds (its special tokens included). Also printed: the share of
this CPU's fp32 matmul peak our step reaches (6 x non-embedding parameters x tokens per step,
over a measured 2048 x 2048 matmul). The peer runs in `benchmarks/.peer-venv` (made by
`benchmarks.peer` if missing) through `benchmarks/peer_child.py`; it also runs at our
parameter count (a narrower peer), as in `benchmarks.peer`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

from benchmarks.machine import describe
from benchmarks.peer import CHILD, ROOT, peer_python
from benchmarks.timing import timed
from transfusion.batch import collate
from transfusion.checkpoint import Checkpoint
from transfusion.diffusion import Diffusion
from transfusion.documents import Sequence
from transfusion.loss import transfusion_loss
from transfusion.model import Transfusion

TEXT_BEFORE, TEXT_AFTER = 24, 16


def our_batch(ckpt: Checkpoint, batch: int, seed: int = 0) -> list[Sequence]:
    """`batch` sequences shaped like a drawing chat: <bos> <|user|> text <|assistant|> <boi>
    patches <eoi> text <eos>, the assistant's part carrying the losses."""
    tk, config, g = ckpt.tokenizer, ckpt.config, torch.Generator().manual_seed(seed)
    L, c, s = config.patches_per_image, config.vae.latent_channels, config.vae.latent_size
    seqs = []
    for _ in range(batch):
        seq = Sequence(L)
        seq.add([tk.bos_id, tk.user_id], False)
        seq.add(torch.randint(5, tk.vocab_size, (TEXT_BEFORE,), generator=g).tolist(), False)
        seq.add([tk.assistant_id], False)
        seq.add([tk.boi_id], True)
        seq.image_starts.append(len(seq))
        seq.latents.append(torch.randn(c, s, s, generator=g))
        seq.image_noised.append(True)
        seq.image_limited.append(True)
        seq.add([tk.pad_id] * L, False)
        seq.add([tk.eoi_id], True)
        seq.add(torch.randint(5, tk.vocab_size, (TEXT_AFTER,), generator=g).tolist() + [tk.eos_id], True)
        seqs.append(seq)
    return seqs


def matmul_peak(repeats: int = 5, n: int = 2048) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n ** 3 / timed(lambda: a @ b, repeats)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="assets/model", help="the checkpoint whose shape both sides train")
    p.add_argument("--batch", type=int, default=8, help="samples per step")
    p.add_argument("--repeats", type=int, default=3, help="timed steps per side (the median is shown)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads, both sides")
    args = p.parse_args(argv)
    model_dir = Path(args.model) if Path(args.model).is_absolute() else ROOT / args.model
    python = peer_python()
    torch.set_num_threads(args.threads)
    ckpt = Checkpoint.from_pretrained(model_dir)
    config = ckpt.config
    torch.manual_seed(0)
    model = Transfusion(config).train()  # random weights: speed does not depend on training
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    diffusion, seqs = Diffusion(config), our_batch(ckpt, args.batch)
    batch = collate(seqs, ckpt.tokenizer.pad_id)

    def step():
        loss, _ = transfusion_loss(model, batch, diffusion, torch.Generator().manual_seed(0))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # warm-up
    seconds = timed(step, args.repeats, warm_up=False)
    tokens = sum(len(s) for s in seqs)
    embedding = model.embed.weight.numel() + model.lm_head.weight.numel()
    flops = 6 * (model.num_parameters() - embedding) * tokens
    peak = matmul_peak()

    spec = dict(mode="train", vocab_size=config.vocab_size, dim=config.dim, depth=config.n_layers, heads=config.n_heads,
                hidden=config.hidden_dim, latent_channels=config.vae.latent_channels, latent_size=config.vae.latent_size,
                patch_size=config.patch_size, batch=args.batch, text_before=TEXT_BEFORE, text_after=TEXT_AFTER,
                repeats=args.repeats, threads=args.threads, seed=0, our_params=model.num_parameters())
    done = subprocess.run([python, CHILD, json.dumps(spec)], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"the peer's run failed:\n{done.stderr[-4000:]}")
    peer = json.loads(done.stdout.strip().splitlines()[-1])

    ours_tps = tokens / seconds
    print(f"machine: {describe()}; float32; batch {args.batch} samples of {TEXT_BEFORE} + 64 image + {TEXT_AFTER} tokens; "
          f"median of {args.repeats} steps")
    print(f"  ours                 {model.num_parameters() / 1e6:6.2f}M params  {seconds:.3f} s a step  "
          f"{ours_tps:8.1f} tokens/s  ({tokens} tokens)")
    for c in peer["configs"]:
        print(f"  peer {c['name']:<15} {c['params'] / 1e6:6.2f}M params  {c['seconds']:.3f} s a step  "
              f"{c['tokens_per_s']:8.1f} tokens/s  ({c['tokens']} tokens)   ours {ours_tps / c['tokens_per_s']:.2f}x")
    print(f"  our step: {flops / seconds / 1e9:.1f} GFLOP/s of this CPU's measured fp32 matmul peak "
          f"{peak / 1e9:.1f} GFLOP/s ({100 * flops / seconds / peak:.0f} %)")


if __name__ == "__main__":
    main()
