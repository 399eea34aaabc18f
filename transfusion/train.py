"""Train the Transfusion transformer: `python -m transfusion.train --config configs/shapesworld.json`.

The VAE (from `transfusion.train_vae`) is frozen; its latents are cached. Given a VQ tokenizer
(`train_vae --kind vq`) as `--vae` instead, the same command trains the discrete (Chameleon)
arm of the paper's comparison: images as code tokens, LM loss only (`chameleon/`). Every flag can also be
set in the JSON `--config` file (flags on the command line win); the model itself is a preset plus
overrides (`"preset": "small", "model": {"objective": "flow"}`). Runs on the CPU, one GPU, or
many with `accelerate launch -m transfusion.train ...`. Writes to `--out`:
    state/          resumable training state (`--resume`)
    log.jsonl       one line per `--log-every` steps: losses, tokens/s, learning rate
    samples/        a PNG grid of EMA samples every `--sample-every` steps
    model/          the final EMA model: config.json, model.safetensors, tokenizer.model, vae/,
                    world.json (which world the app shows; a folder's examples/ too)
                    (to ship it in shards: python -m transfusion.reshard SRC DST --max-shard-mb 9)
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import torch
from accelerate import Accelerator

from .autoencoder import autoencoder_config, codebook_size, from_model_images, load_autoencoder, to_model_images
from .batch import ShapeBuckets, collate
from .checkpoint import Checkpoint
from .config import TransfusionConfig, preset
from .diffusion import Diffusion
from .documents import cfg_dropout, encode_document, latents_for_documents
from .generation import draw_images
from .generation_config import Settings, load_generation_config
from .grow import grow
from .loss import counts, transfusion_loss
from .model import Transfusion
from .sampling import sample_image_naive
from .shards import load_weights
from .tokenizer import Tokenizer, train_tokenizer
from .training.grid import save_grid
from .training.latents import LatentCache
from .training.loop import LoopSettings, TrainLoop, make_accelerator, document_seed, micro_batch_indices
from .training.schedule import adamw, warmup_cosine
from .training.sources import make_source
from .vae import to_pil

TOKENIZER_TEXTS = 20_000  # texts of the world that a new tokenizer is trained on


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, help="JSON file whose keys are any of these flags (with _ for -), plus 'model'")
    p.add_argument("--preset", default="small", help="model preset (transfusion.config.PRESETS); a warm start (--init-from) takes its checkpoint's config instead")
    p.add_argument("--model", type=json.loads, default={}, help="JSON dict of TransfusionConfig overrides")
    p.add_argument("--vae", type=Path,
                   help="trained VAE folder (diffusers format, from transfusion.train_vae); a VQ tokenizer's "
                        "(train_vae --kind vq) trains the discrete arm")
    p.add_argument("--data", default="shapesworld",
                   help="'shapesworld' or a folder of the folder format (captions.jsonl; edits.jsonl, questions.jsonl, "
                        "held_out.txt optional: transfusion/folder/format.py)")
    p.add_argument("--mixture", type=json.loads, default=None,
                   help="task weights to change, as JSON, e.g. '{\"edit\": 0.4}'; the others keep their defaults "
                        "(transfusion.shapesworld.DEFAULT_MIXTURE, or folder.source.FOLDER_MIXTURE); a resumed run needs the same")
    p.add_argument("--balance-by", default=None, metavar="ATTRIBUTE",
                   help="a folder's captions attribute (e.g. emoji): draw and name each value of it about equally often, "
                        "not each picture (folder.source.epoch_multiplicity); a resumed run needs the same")
    p.add_argument("--out", type=Path, help="output folder")
    p.add_argument("--init-from", type=Path, help="warm start: a checkpoint folder whose weights, tokenizer and sampling defaults to start from")
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps in all (a resumed run goes on to this)")
    p.add_argument("--batch-size", type=int, default=32, help="documents per micro-batch per process")
    p.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    p.add_argument("--pack", type=int, default=0, help="pack documents into rows of this many tokens (0: pad each)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    p.add_argument("--min-lr-ratio", type=float, default=0.1, help="final learning rate as a share of the peak")
    p.add_argument("--warmup", type=int, default=200, help="warm-up steps")
    p.add_argument("--weight-decay", type=float, default=0.05, help="AdamW weight decay on matrices")
    p.add_argument("--clip", type=float, default=1.0, help="gradient norm clipping")
    p.add_argument("--ema-decay", type=float, default=0.999, help="EMA decay of the weights used for sampling")
    p.add_argument("--precision", choices=["no", "bf16", "fp16"], default="no",
                   help="mixed precision (autocast); on this project's CPU bf16 made the built-in model's steps 1.5x slower "
                        "(benchmarks/train_precision.py); use bf16 on GPUs")
    p.add_argument("--vocab-size", type=int, default=512, help="tokenizer size when one is trained")
    p.add_argument("--seed", type=int, default=0, help="seed of data, initialisation and noise")
    p.add_argument("--log-every", type=int, default=10, help="steps between log lines")
    p.add_argument("--save-every", type=int, default=250, help="steps between saves of the resumable state")
    p.add_argument("--sample-every", type=int, default=500, help="steps between sample grids (0: never)")
    p.add_argument("--sample-steps", type=int, default=25, help="denoising steps of the sample grids")
    p.add_argument("--eval-cases", type=int, default=None,
                   help="at the end, the world's evaluation with this many cases per group (default: 10; 0: skip)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/state")
    p.add_argument("--time-limit", type=float, default=0.0, help="minutes of wall time, then save and stop (0: none)")
    args = p.parse_args(argv)
    if args.config:
        defaults = json.loads(args.config.read_text())
        unknown = set(defaults) - set(vars(args))
        if unknown:
            p.error(f"{args.config}: unknown keys {sorted(unknown)}")
        p.set_defaults(**defaults)
        args = p.parse_args(argv)
    if args.vae is None or args.out is None:
        p.error("--vae and --out are required (on the command line or in --config)")
    if args.mixture is not None or args.balance_by is not None:
        flag = " with ".join(f for f, v in (("--mixture", args.mixture), ("--balance-by", args.balance_by)) if v is not None)
        try:
            if args.mixture is not None and not isinstance(args.mixture, dict):
                raise ValueError(f"expected a JSON object of task weights, got {args.mixture!r}")
            make_source(args.data, args.seed, args.mixture, args.balance_by)
        except (ValueError, FileNotFoundError) as e:
            p.error(f"{flag}: {e}")
    return args


def make_tokenizer(args, source) -> Tokenizer:
    if args.init_from:
        return Tokenizer.load(args.init_from / "tokenizer.model")
    if args.resume and (args.out / "tokenizer.model").exists():
        return Tokenizer.load(args.out / "tokenizer.model")
    return train_tokenizer(source.text_corpus(TOKENIZER_TEXTS), args.vocab_size)


def model_config(args, tokenizer, vae) -> TransfusionConfig:
    """The model to train: a warm start's own config (its objective, sizes and patches: weights
    trained for one objective do not serve another), else `--preset`; `--model` overrides either.
    The vocabulary and the image format come from the tokenizer and the autoencoder."""
    fixed = {"image_codes": codebook_size(vae), "vocab_size": tokenizer.vocab_size, "vae": autoencoder_config(vae)}
    if args.init_from:
        base = TransfusionConfig.load(args.init_from / "config.json").to_dict()
        return TransfusionConfig(**{**base, **args.model, **fixed})
    return preset(args.preset, **{**args.model, **fixed})


def warm_start(folder: Path, config: TransfusionConfig) -> Transfusion:
    """The checkpoint in `folder` as a model of `config`: its own weights, or, where `config` has
    more layers, width or MLP (`--model`), those weights grown into it (`grow.py`)."""
    own = TransfusionConfig(**{**TransfusionConfig.load(folder / "config.json").to_dict(),
                               "vocab_size": config.vocab_size, "image_codes": config.image_codes, "vae": config.vae})
    same_size = all(getattr(own, k) == getattr(config, k) for k in ("dim", "n_layers", "n_heads", "hidden_dim"))
    model = Transfusion(config if same_size else own)
    load_weights(model, folder)
    if same_size:
        return model
    try:
        return grow(model, config)
    except ValueError as e:
        raise SystemExit(f"--init-from {folder} with --model: {e}") from None


def main(argv=None) -> None:
    args = parse_args(argv)
    accelerator = make_accelerator(args.precision)
    torch.manual_seed(args.seed)
    source = make_source(args.data, args.seed, args.mixture, args.balance_by)
    tokenizer = make_tokenizer(args, source)
    vae = load_autoencoder(args.vae)
    vae.requires_grad_(False)
    vae.to(accelerator.device)
    if "image_codes" in args.model:
        raise SystemExit("--model: image_codes comes from the autoencoder (a VQ tokenizer as --vae trains the discrete arm)")
    config = model_config(args, tokenizer, vae)
    model = warm_start(args.init_from, config) if args.init_from else Transfusion(config)
    # a warm start keeps the sampling defaults of the checkpoint it starts from
    defaults = load_generation_config(args.init_from) if args.init_from else Settings()
    optimizer = adamw(model, args.lr, args.weight_decay)
    scheduler = warmup_cosine(optimizer, args.warmup, args.steps, args.min_lr_ratio)
    settings = LoopSettings(out=args.out, steps=args.steps, grad_accum=args.grad_accum, clip=args.clip,
                            ema_decay=args.ema_decay, log_every=args.log_every, save_every=args.save_every,
                            sample_every=args.sample_every, resume=args.resume,
                            time_limit=args.time_limit)
    loop = TrainLoop(accelerator, model, optimizer, scheduler, settings, unit="tokens")
    if accelerator.is_main_process:
        tokenizer.save(args.out / "tokenizer.model")
        processes = f", {accelerator.num_processes} processes" if accelerator.num_processes > 1 else ""
        accelerator.print(f"{model.num_parameters() / 1e6:.2f}M parameters, {config.objective} objective{processes}")
    diffusion = Diffusion(config)
    cache = LatentCache(vae, config.vae.image_size, encoder=to_model_images)
    rank, world = accelerator.process_index, accelerator.num_processes
    # flex attention is compiled per shape on CUDA: a few shapes a run, not one per step
    buckets = ShapeBuckets() if accelerator.device.type == "cuda" else None

    def micro_batch(step: int, micro: int):
        # this process's share of the step's documents: disjoint between processes, and with
        # each document's randomness its own (`document_seed`), the step's gradient is the same
        # whether one process takes the whole batch or several take a part each
        indices = micro_batch_indices(step, micro, rank, world, args.batch_size, args.grad_accum)
        seeds = [document_seed(args.seed, i) for i in indices]
        dropped = [cfg_dropout(source.document(i), random.Random(s), config) for i, s in zip(indices, seeds)]
        with_latents = latents_for_documents([d for d, _ in dropped], cache)
        seqs = [encode_document(d, tokenizer, config, lm_loss=lm, seed=s)
                for d, (_, lm), s in zip(with_latents, dropped, seeds)]
        batch = collate(seqs, tokenizer.pad_id, max_len=args.pack or None, buckets=buckets).to(accelerator.device)
        return batch, sum(len(s) for s in seqs)

    step_parts: dict = {}  # this process's micro-batches of the step and their denominators, built at its first

    def loss_fn(step: int, micro: int):
        # each loss part is averaged over the whole step, every micro-batch of every process,
        # as it would be over one batch of all of them: the loop divides each micro-batch's
        # loss by `grad_accum`, so the denominators are the step's counts over that many
        if micro == 0:
            batches = [micro_batch(step, m) for m in range(args.grad_accum)]
            local = torch.stack([counts(b) for b, _ in batches]).sum(0)
            step_parts.update(batches=batches, denominators=shared_denominators(accelerator, local) / args.grad_accum)
        batch, tokens = step_parts["batches"][micro]
        loss, parts = transfusion_loss(loop.model, batch, diffusion, denominators=step_parts["denominators"])
        return loss, parts, tokens

    def current_checkpoint() -> Checkpoint:
        return Checkpoint(loop.ema_model(lambda: Transfusion(config)).to(accelerator.device), tokenizer, vae, defaults)

    def on_sample(step: int) -> None:
        ckpt = current_checkpoint()
        images = []
        for k, prompt in enumerate(source.sample_prompts()):
            chat = [{"role": "user", "content": prompt}, {"role": "assistant", "content": []}]
            if config.discrete:  # code by code, on the cache (there is no uncached reference of it)
                z, _, _ = draw_images(ckpt, [chat], defaults, [k])
            else:
                z = sample_image_naive(ckpt, chat, steps=args.sample_steps, generator=torch.Generator().manual_seed(k))[None]
            images += to_pil(from_model_images(vae, z))
        save_grid(images, len(images), args.out / "samples" / f"step{step:06d}.png")

    loop.run(loss_fn, on_sample)
    if accelerator.is_main_process:
        current_checkpoint().save_pretrained(args.out / "model")
        source.write_world_card(args.out / "model")
        accelerator.print(f"saved {args.out / 'model'}; latent cache hits {cache.hits}, misses {cache.misses}")
        cases = args.eval_cases if args.eval_cases is not None else source.default_eval_cases
        if cases and config.discrete:  # its 258-token pictures leave no room for the two of an edit
            accelerator.print("the discrete arm is graded by `python -m transfusion.experiments`, not at the end of training")
            cases = 0
        if cases:
            evaluate_at_end(source, args.out, cases, args.seed, accelerator.print)


def shared_denominators(accelerator: Accelerator, local: torch.Tensor) -> torch.Tensor:
    """The loss denominators (`loss.transfusion_loss`) of one process's part of a step, from its
    `local` counts (`loss.counts`): the counts of every process's part, over the number of
    processes. DDP averages the processes' gradients, so these make the step's gradient that of
    the whole batch."""
    if accelerator.num_processes == 1:
        return local
    return accelerator.reduce(local, reduction="sum") / accelerator.num_processes


def evaluate_at_end(source, out: Path, cases: int, seed: int, say) -> None:
    """The world's evaluation of the exported model, printed and written to out/eval.md."""
    from .evaluation.cli import load_model as evaluation_model

    model = evaluation_model(str(out / "model"), seed)
    results, table = source.evaluate(model, cases, seed, name=str(out / "model"))
    (out / "eval.md").write_text(table + "\n")
    (out / "eval.json").write_text(json.dumps(results, indent=2) + "\n")
    say(table)


if __name__ == "__main__":
    main()
