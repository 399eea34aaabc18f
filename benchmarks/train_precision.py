"""Training step time of the built-in model's shape in fp32 and under bf16 autocast, here.

    python -m benchmarks.train_precision --steps 6     # from the repository root

One optimizer step = the shipped recipe's batch (32 ShapesWorld documents packed into rows of
512 tokens), forward, backward and AdamW, as `transfusion.train` runs it (accelerate's CPU bf16
is `torch.autocast("cpu", torch.bfloat16)`). Images are random latents: the VAE is not what is
measured. The two precisions alternate step by step, so drift on a shared machine hits both.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import time

import torch

from transfusion.batch import collate
from transfusion.config import preset
from transfusion.diffusion import Diffusion
from transfusion.documents import encode_document, latents_for_documents
from transfusion.loss import transfusion_loss
from transfusion.model import Transfusion
from transfusion.shapesworld import document as shapes_document
from transfusion.shapesworld import text_corpus
from transfusion.tokenizer import train_tokenizer
from transfusion.training.schedule import adamw


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=6, help="timed steps per precision (after one warm-up each)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--pack", type=int, default=512)
    args = p.parse_args()
    tokenizer = train_tokenizer(text_corpus(20000), 512)
    config = preset("small", vocab_size=tokenizer.vocab_size, objective="flow")
    g = torch.Generator().manual_seed(0)
    docs = latents_for_documents([shapes_document(i) for i in range(args.batch_size)],
                                 lambda images: torch.randn(len(images), 4, 16, 16, generator=g))
    batch = collate([encode_document(d, tokenizer, config) for d in docs], tokenizer.pad_id, max_len=args.pack)
    model = Transfusion(config).train()
    optimizer = adamw(model, 1e-4, 0.05)
    diffusion = Diffusion(config)
    contexts = {"fp32": contextlib.nullcontext, "bf16": lambda: torch.autocast("cpu", dtype=torch.bfloat16)}
    times: dict[str, list[float]] = {k: [] for k in contexts}
    order = list(contexts)
    for step in range(args.steps + 1):
        random.Random(step).shuffle(order)
        for name in order:
            t = time.perf_counter()
            with contexts[name]():
                loss, _ = transfusion_loss(model, batch, diffusion, torch.Generator().manual_seed(step))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if step:  # step 0 warms both up
                times[name].append(time.perf_counter() - t)
    print(f"threads {torch.get_num_threads()}, {model.num_parameters() / 1e6:.2f}M parameters, "
          f"batch {args.batch_size} documents in {batch.tokens.shape[0]} rows of {batch.tokens.shape[1]} tokens")
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"{k}: {v:.2f} s/step (median of {len(times[k])})")
    print(f"bf16 autocast / fp32 step time: {med['bf16'] / med['fp32']:.2f}")


if __name__ == "__main__":
    main()
