"""Every check that needs a GPU, in one run meant to fit 8 minutes, written to one report.

    python -m benchmarks.gpu_check --report $OUT/gpu_check.md          # on the GPU machine, from the repository root
    python -m benchmarks.gpu_check --tiny --device cpu --report /tmp/gpu_check.md   # the CPU dry run (tests/test_gpu_check.py)

The GPU machine lacks diffusers, gradio and bitsandbytes: `python -m benchmarks.gpu_wheels` makes
here the wheels a run carries there (its docstring gives the install line that goes before this).

Sections (numbered as in the report; the evaluator, the longest, runs last):
  1. the environment: torch, the device, bitsandbytes, the CPU;
  2. flex attention against the dense mask: the same forward both ways on the device;
  3. compiled flex attention: how many compiles batches of new and of repeated lengths cost;
  4. a training burst: tokens/s, MFU and peak memory of the real loss, optimizer and data;
  5. int8 against fp32: one image's latency, weight bytes, peak memory, the evaluator's rows;
  6. the app's handlers answering one chat message and one edit.
Each section is guarded: one that raises is recorded with its traceback and the others still
run. The report (Markdown, and the same data as JSON beside it) is rewritten whenever a section
starts or finishes, so a run killed by its time limit still leaves one. The exit code is 1 when
any section failed or raised.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import logging
import math
import platform
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch

from benchmarks.check_report import ERROR, FAILED, Report, Section
from benchmarks.machine import cpu_name
from benchmarks.mfu import FORMULA, flops_per_token, non_embedding_parameters, peak_flops, synchronize

# Nothing of `transfusion` (nor of diffusers, gradio, bitsandbytes, which it imports) is imported
# before a section needs it: where a package is missing, section 1 still reports the machine and
# each section that needs the package records the ImportError.

REPO = Path(__file__).resolve().parents[1]
TRAIN_CONFIG = REPO / "configs" / "shapesworld.json"  # the built-in model's training run: preset, overrides, optimizer
SECTIONS = [
    ("env", "Environment"),
    ("flex", "Flex attention against the dense mask"),
    ("compile", "Compiled flex attention: compiles per padded length"),
    ("train", "Training burst: tokens/s, MFU, peak memory"),
    ("int8", "int8 against fp32: latency, memory, evaluator"),
    ("app", "The app answering a chat and an edit"),
]
# the evaluator takes longest: last; section 3 fills Dynamo's cache of flex attention to its limit,
# so it comes after the training burst, which needs compiled flex
RUN_ORDER = ("env", "flex", "train", "compile", "app", "int8")

# flex passes when max |flex - dense| <= this * max(1, max |dense|), for logits and image predictions alike
FLEX_TOLERANCE = {"fp32": 1e-3, "bf16": 3e-2}
# padded lengths of section 3: none a multiple of flex's 128-token blocks, none the training rows' length
COMPILE_LENGTHS = (150, 200, 260, 330, 400, 470)
PAST_LIMIT_LENGTHS = (480, 490, 500, 510)  # more new lengths, to go one shape past Dynamo's recompile limit
WARMUP_STEPS = 2  # training steps left out of tokens/s (allocator warm-up, first compile)
CHAT_MESSAGE = "draw a red circle"
# the dry run's settings for every model call: 2 denoising steps, short replies
TINY_SETTINGS = {"steps": 2, "max_new_tokens": 16}
MiB = 2**20
# distributions the sections import (name -> module); on CUDA triton too
NEEDED = {"diffusers": "diffusers", "sentencepiece": "sentencepiece", "accelerate": "accelerate",
          "safetensors": "safetensors", "pillow": "PIL", "gradio": "gradio", "bitsandbytes": "bitsandbytes"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=None, help="checkpoint folder (default: the built-in model, assets/model)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="device to check (default: cuda when present, else cpu)")
    p.add_argument("--report", type=Path, default=REPO / "benchmarks" / "reports" / "gpu_check.md",
                   help="the Markdown report; the JSON goes beside it (.json)")
    p.add_argument("--steps", type=int, default=None,
                   help=f"optimizer steps of the training burst, {WARMUP_STEPS} of them warm-up "
                        "(default: 30 on CUDA, 6 on the CPU, 4 with --tiny)")
    p.add_argument("--rows", type=int, default=None,
                   help="rows per batch: of max_seq_len tokens in sections 2 and 4, of each length in 3 (default: 16; 2 with --tiny)")
    p.add_argument("--eval-cases", type=int, default=None,
                   help="evaluator cases per group, for fp32 and for int8 (default: 20 on CUDA, 2 on the CPU, 1 with --tiny)")
    p.add_argument("--repeats", type=int, default=None, help="timed images per latency, after a warm-up (default: 5; 2 with --tiny)")
    p.add_argument("--tiny", action="store_true",
                   help="a tiny scripted checkpoint (tests/app_helpers.py) instead of --model, tiny step counts and "
                        f"{TINY_SETTINGS['steps']} denoising steps: the CPU dry run")
    args = p.parse_args(argv)
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        p.error(f"--device {args.device}: PyTorch sees no CUDA device")
    args.steps = args.steps or (4 if args.tiny else 30 if cuda else 6)
    args.rows = args.rows or (2 if args.tiny else 16)
    args.eval_cases = args.eval_cases or (1 if args.tiny else 20 if cuda else 2)
    args.repeats = args.repeats or (2 if args.tiny else 5)
    if args.steps <= WARMUP_STEPS:
        p.error(f"--steps must be more than the {WARMUP_STEPS} warm-up steps")
    return args


@dataclass
class Run:
    """What every section shares: the flags, the device, a folder for the dry run's checkpoint.
    The checkpoint is found or made, and loaded, on first use: a failure stays in its section."""

    args: argparse.Namespace
    device: torch.device
    scratch: Path

    @cached_property
    def model_dir(self) -> Path:
        if self.args.tiny:
            return tiny_checkpoint(self.scratch / "tiny")
        if self.args.model is not None:
            return self.args.model
        from transfusion.pipeline import BUILT_IN

        return BUILT_IN

    @cached_property
    def checkpoint(self):
        """The checkpoint in fp32 on the device."""
        from transfusion.checkpoint import Checkpoint

        return Checkpoint.from_pretrained(self.model_dir, device=self.device)

    @property
    def settings(self) -> dict:
        """Keyword settings of every pipeline call: the checkpoint's defaults, or the dry run's."""
        return dict(TINY_SETTINGS) if self.args.tiny else {}

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"


def autocast(device: torch.device, precision: str):
    """bf16 autocast (as training on a GPU runs), or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_mib(device: torch.device) -> float | None:
    """Peak GPU memory allocated since `reset_peak`, in MiB; None on the CPU."""
    return round(torch.cuda.max_memory_allocated(device) / MiB, 1) if device.type == "cuda" else None


def compiles() -> int:
    """Graphs Dynamo has compiled in this process so far (each compile of a new shape adds one)."""
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


# 1. environment

def importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
        return False


def check_environment(run: Run, s: Section) -> None:
    needed = {**NEEDED, **({"triton": "triton"} if run.cuda else {})}
    missing = [name for name, module in needed.items() if not importable(module)]
    s.data = {"python": platform.python_version(), "torch": torch.__version__, "torch CUDA build": torch.version.cuda,
              **{name: version(name) if name not in missing else "missing" for name in needed},
              "cpu": cpu_name(), "cpu capability": torch.backends.cpu.get_cpu_capability(),
              "torch threads": torch.get_num_threads(), "device": str(run.device),
              "dynamo recompile limit": torch._dynamo.config.recompile_limit, "missing packages": missing}
    if run.cuda:
        props = torch.cuda.get_device_properties(run.device)
        s.data |= {"cuda device": props.name, "capability": ".".join(map(str, torch.cuda.get_device_capability(run.device))),
                   "gpu memory GiB": round(props.total_memory / 2**30, 1), "cuda devices": torch.cuda.device_count(),
                   "tf32 matmul": torch.backends.cuda.matmul.allow_tf32, "tf32 cudnn": torch.backends.cudnn.allow_tf32}
        where = f"{props.name} (capability {s.data['capability']})"
    else:
        where = f"CPU {s.data['cpu']} ({s.data['cpu capability']}, torch threads: {s.data['torch threads']})"
    s.lines = ["| what | value |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in s.data.items())]
    summary = f"torch {torch.__version__}, {where}, bitsandbytes {s.data['bitsandbytes']}"
    if missing:
        s.fail(f"missing: {', '.join(missing)} (the sections that import them record the error); {summary}")
    else:
        s.done(summary)


# 2. flex attention against the dense mask

def noised_inputs(batch, diffusion, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_t, t) of a batch's images, noised as `transfusion_loss` noises them (context images clean)."""
    noise, t = diffusion.draw(batch.latents, batch.image_limited, batch.image_seeds, generator)
    t = torch.where(batch.image_noised, t, torch.zeros_like(t))
    x_t = torch.where(batch.image_noised.view(-1, 1, 1, 1), diffusion.add_noise(batch.latents, noise, t), batch.latents)
    return x_t, t


def check_flex(run: Run, s: Section) -> None:
    from benchmarks.fixed_batches import DocumentStream
    from transfusion.diffusion import Diffusion
    from transfusion.mask import block_mask, dense_mask

    ckpt = run.checkpoint
    model, config = ckpt.model.eval(), ckpt.config
    batch, seqs = DocumentStream(ckpt.tokenizer, config, ckpt.vae).batch(run.args.rows, config.max_seq_len)
    batch = batch.to(run.device)
    x_t, t = noised_inputs(batch, Diffusion(config), torch.Generator().manual_seed(0))
    masks = {"dense": dense_mask(batch.doc_ids, batch.image_ids), "flex": block_mask(batch.doc_ids, batch.image_ids)}
    padding = int((batch.doc_ids < 0).sum())
    s.data["batch"] = {"rows": batch.tokens.shape[0], "length": batch.tokens.shape[1], "documents": len(seqs),
                       "images": batch.latents.shape[0], "padding tokens": padding}
    if not batch.latents.shape[0] or not padding:
        raise RuntimeError(f"the batch must hold images and padding to test the mask: {s.data['batch']}")
    s.lines = [f"One packed batch of {len(seqs)} ShapesWorld documents: {batch.tokens.shape[0]} rows of "
               f"{batch.tokens.shape[1]} tokens, {batch.latents.shape[0]} images, {padding} padding tokens; "
               f"the checkpoint's weights, eval mode. Pass: max |flex − dense| ≤ tolerance × max(1, max |dense|).", "",
               "| precision | output | max abs diff | max abs dense | tolerance | pass |", "| --- | --- | ---: | ---: | ---: | --- |"]
    failures, worst = [], {}
    for precision, tolerance in FLEX_TOLERANCE.items():
        out = {}
        with torch.no_grad(), autocast(run.device, precision):
            for name, mask in masks.items():
                out[name] = model(batch.tokens, batch.positions, mask, x_t, t, batch.patch_index)
        for k, output in enumerate(("logits", "image prediction")):
            dense, flex = out["dense"][k].float(), out["flex"][k].float()
            diff, scale = float((flex - dense).abs().max()), float(dense.abs().max())
            ok = diff <= tolerance * max(1.0, scale) and math.isfinite(diff)
            if scale == 0:  # an untrained, zero-initialised head: equal, but it proves nothing
                failures.append(f"{precision} {output} (all zeros: nothing compared)")
            elif not ok:
                failures.append(f"{precision} {output}")
            s.data[f"{precision} {output}"] = {"max abs diff": diff, "max abs dense": scale, "tolerance": tolerance, "pass": ok}
            s.lines.append(f"| {precision} | {output} | {diff:.3g} | {scale:.3g} | {tolerance:g} | {'yes' if ok else '**no**'} |")
            worst[f"{precision} {output}"] = diff
    summary = ", ".join(f"{k} {v:.2g}" for k, v in worst.items())
    if failures:
        s.fail(f"flex and dense not shown equal in {', '.join(failures)} (max abs diff: {summary})")
    else:
        s.done(f"max abs diff {summary}")


# 3. compiled flex attention: compiles per padded length

class RecompileLimitWarnings(logging.Handler):
    """Counts Dynamo's warning that a function hit `recompile_limit` (from then on it runs uncompiled)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += "recompile_limit" in record.getMessage()


def check_compiles(run: Run, s: Section) -> None:
    from benchmarks.fixed_batches import DocumentStream
    from transfusion.mask import block_mask

    ckpt = run.checkpoint
    model, config, rows = ckpt.model.eval(), ckpt.config, run.args.rows
    stream = DocumentStream(ckpt.tokenizer, config, ckpt.vae, start=10_000)  # not the documents of section 2
    limit = torch._dynamo.config.recompile_limit
    torch._dynamo.reset()  # count from a fresh process's state, whatever sections 2 and 4 compiled
    warnings_seen = RecompileLimitWarnings()
    logging.getLogger("torch._dynamo").addHandler(warnings_seen)
    calls = []

    def forward(batch_rows: int, length: int, call: int) -> None:
        batch = stream.batch(batch_rows, length)[0].to(run.device)
        t = torch.zeros(batch.latents.shape[0], device=run.device)
        before, hits, t0 = compiles(), warnings_seen.count, time.perf_counter()
        with torch.no_grad():
            model(batch.tokens, batch.positions, block_mask(batch.doc_ids, batch.image_ids), batch.latents, t, batch.patch_index)
        synchronize(run.device)
        calls.append({"rows": batch_rows, "length": length, "call": call, "compiles": compiles() - before,
                      "recompile limit hit": warnings_seen.count > hits, "seconds": round(time.perf_counter() - t0, 3)})

    try:
        for length in COMPILE_LENGTHS:
            for call in (1, 2):  # two batches of different documents, the same shape
                forward(rows, length, call)
        forward(rows + 1, COMPILE_LENGTHS[-1], 1)  # a seen length, one more row
        shapes = len(COMPILE_LENGTHS) + 1
        for length in PAST_LIMIT_LENGTHS[:max(0, limit + 1 - shapes)]:  # new shapes until one past the limit
            forward(rows, length, 1)
    finally:
        logging.getLogger("torch._dynamo").removeHandler(warnings_seen)
    s.data |= {"calls": calls, "dynamo recompile limit": limit, "recompile limit warnings": warnings_seen.count,
               "documents left out as too long": stream.too_long}
    repeated = [c for c in calls if c["call"] == 2 and c["compiles"]]
    first = [c["compiles"] for c in calls[:2 * len(COMPILE_LENGTHS)] if c["call"] == 1]
    how = ("the model compiles flex attention on CUDA (`torch.compile(flex_attention, dynamic=False)`)" if run.cuda else
           "on the CPU the model runs flex attention uncompiled, and flex itself traces its kernel with Dynamo's "
           "eager backend: these counts are of that tracing, on the same counter as CUDA's compiles")
    s.lines = [f"Forward passes with a flex `BlockMask` after `torch._dynamo.reset()`: each batch packed into exactly "
               f"{rows} rows of the length shown, two batches of different documents per length; then one batch of "
               f"{rows + 1} rows at a seen length, then new lengths until one shape past Dynamo's recompile limit "
               f"({limit}: past that many shapes Dynamo stops compiling a function and runs it as it is). Compiles: "
               f"`torch._dynamo.utils.counters['stats']['unique_graphs']` during the call; {how}.", "",
               "| rows | length | call | compiles | recompile limit hit | seconds |", "| ---: | ---: | ---: | ---: | --- | ---: |",
               *(f"| {c['rows']} | {c['length']} | {c['call']} | {c['compiles']} | {'**yes**' if c['recompile limit hit'] else ''} "
                 f"| {c['seconds']:.3f} |" for c in calls)]
    row_change = f"a new row count at a seen length: {calls[2 * len(COMPILE_LENGTHS)]['compiles']} compiles"
    past = (f"recompile limit hit after {next(i for i, c in enumerate(calls) if c['recompile limit hit'])} calls"
            if warnings_seen.count else "recompile limit not hit")
    if repeated:
        s.fail(f"a repeated shape compiled again at lengths {sorted({c['length'] for c in repeated})}; "
               f"first calls: {first} compiles; {row_change}; {past}")
    else:
        s.done(f"first call of each of {len(COMPILE_LENGTHS)} lengths: {first} compiles; repeats: 0; {row_change}; {past}")


# 4. training burst

def check_training(run: Run, s: Section) -> None:
    from benchmarks.fixed_batches import DocumentStream
    from transfusion.config import preset
    from transfusion.diffusion import Diffusion
    from transfusion.loss import transfusion_loss
    from transfusion.model import Transfusion
    from transfusion.train import parse_args as train_args
    from transfusion.training.ema import EMA
    from transfusion.training.schedule import adamw, warmup_cosine

    train = train_args(["--config", str(TRAIN_CONFIG)])
    name = "tiny" if run.args.tiny else train.preset
    ckpt = run.checkpoint
    config = preset(name, **{**train.model, "vocab_size": ckpt.tokenizer.vocab_size, "vae": ckpt.config.vae})
    torch.manual_seed(0)
    model = Transfusion(config).to(run.device).train()
    optimizer = adamw(model, train.lr, train.weight_decay)
    scheduler = warmup_cosine(optimizer, train.warmup, train.steps, train.min_lr_ratio)
    ema = EMA(model, train.ema_decay)
    diffusion = Diffusion(config)
    stream = DocumentStream(ckpt.tokenizer, config, ckpt.vae)
    precision = "bf16" if run.cuda else "fp32"  # train.py's advice: bf16 on GPUs; on the CPU bf16 was slower
    length, rows = config.max_seq_len, run.args.rows
    reset_peak(run.device)
    steps = []
    for step in range(run.args.steps):
        t0 = time.perf_counter()
        batch, seqs = stream.batch(rows, length)
        batch = batch.to(run.device)
        synchronize(run.device)
        t1, before = time.perf_counter(), compiles()
        with autocast(run.device, precision):
            loss, parts = transfusion_loss(model, batch, diffusion)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), train.clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        ema.update(model)
        synchronize(run.device)
        t2 = time.perf_counter()
        steps.append({"step": step, "tokens": sum(len(q) for q in seqs), "documents": len(seqs),
                      "data seconds": round(t1 - t0, 4), "model seconds": round(t2 - t1, 4),
                      "compiles": compiles() - before, "loss": float(loss.detach()), "lm": float(parts["lm"]),
                      "diffusion": float(parts["diffusion"])})
        s.data["steps"] = steps
        s.save()
    peak_memory = peak_mib(run.device)  # before the matmul that measures the peak allocates its own
    timed_steps = [r for r in steps[WARMUP_STEPS:] if not r["compiles"]]
    peak, peak_source = peak_flops(run.device)
    tokens = sum(r["tokens"] for r in timed_steps)
    model_s = sum(r["model seconds"] for r in timed_steps)
    data_s = sum(r["data seconds"] for r in timed_steps)
    per_token = flops_per_token(model, length)
    s.data = {"preset": name, "overrides": train.model, "precision": precision, "rows": rows, "length": length,
              "parameters": model.num_parameters(), "non-embedding parameters": non_embedding_parameters(model),
              "flops per token": per_token, "peak flop/s": peak, "peak source": peak_source,
              "timed steps": len(timed_steps), "steps": steps, "peak memory MiB": peak_memory,
              "documents left out as too long": stream.too_long}
    finite = all(math.isfinite(r["loss"]) for r in steps)
    if not timed_steps:
        s.fail(f"every step after the {WARMUP_STEPS} warm-up steps compiled: no step to time")
        return
    model_rate, step_rate = tokens / model_s, tokens / (model_s + data_s)
    memory = f"{peak_memory} MiB" if run.cuda else "n/a on the CPU"
    mfu = model_rate * per_token / peak
    s.data |= {"tokens/s (model)": model_rate, "tokens/s (with data)": step_rate, "mfu": mfu}
    compiled = [r["step"] for r in steps if r["compiles"]]
    s.lines = [
        f"Preset `{name}` with {train.model} ({model.num_parameters() / 1e6:.2f}M parameters), the real loss "
        f"(`transfusion_loss`), AdamW, the warm-up cosine schedule, gradient clipping and the EMA of "
        f"`{TRAIN_CONFIG.relative_to(REPO)}`, {precision}; each step packs ShapesWorld documents (built as "
        f"`train.py` builds them) into exactly {rows} rows of {length} tokens, so the shape stays the same "
        f"(`train.py` packs a fixed number of documents instead, and on CUDA rounds its row count and length up to `ShapeBuckets`).", "",
        f"- tokens/s: **{model_rate:,.0f}** for the model's step (forward, backward, optimizer, EMA); "
        f"{step_rate:,.0f} with making the batch (documents, VAE latents, collate); over {len(timed_steps)} steps "
        f"after {WARMUP_STEPS} warm-up steps, leaving out any step that compiled (steps that compiled: {compiled or 'none'})",
        f"- MFU: **{100 * mfu:.2f} %** = tokens/s × FLOPs per token / peak; {FORMULA} = "
        f"6 × {non_embedding_parameters(model):,} + 12 × {config.n_layers} × {config.dim} × {length} = {per_token:.3g}; "
        f"peak {peak_source}",
        f"- peak memory: {memory} (`torch.cuda.max_memory_allocated`)",
        f"- loss: {steps[0]['loss']:.3f} at the first step, {steps[-1]['loss']:.3f} at the last", "",
        "| step | documents | tokens | data s | model s | compiles | loss |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(f"| {r['step']} | {r['documents']} | {r['tokens']} | {r['data seconds']:.3f} | {r['model seconds']:.3f} | "
          f"{r['compiles']} | {r['loss']:.3f} |" for r in steps)]
    summary = f"{model_rate:,.0f} tokens/s, MFU {100 * mfu:.2f} %, peak memory {memory}"
    if finite:
        s.done(summary)
    else:
        s.fail(f"a loss was not finite; {summary}")


# 5. int8 against fp32

def table_rows(table: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(capability, measure) -> (score, cases) of every row of an evaluator table (`format_table`)."""
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 5 and cells[0] not in ("capability", "---"):
            rows[(cells[0], cells[1])] = (cells[2], cells[4])
    return rows


def side_by_side(tables: dict[str, str]) -> list[str]:
    """One Markdown row per evaluator row: the score under each quantization, and the cases."""
    parsed = {name: table_rows(t) for name, t in tables.items()}
    names = list(parsed)
    lines = [f"| capability | measure | {' | '.join(names)} | cases |", "| --- | --- |" + " ---: |" * (len(names) + 1)]
    for key, (_, cases) in parsed[names[0]].items():
        scores = [parsed[n].get(key, ("missing", ""))[0] for n in names]
        lines.append(f"| {key[0]} | {key[1]} | {' | '.join(scores)} | {cases} |")
    return lines


def check_int8(run: Run, s: Section) -> None:
    from benchmarks.inference import PROMPT
    from benchmarks.timing import timed
    from transfusion import TransfusionPipeline
    from transfusion.evaluation import evaluate, format_table
    from transfusion.evaluation.cli import WithSettings
    from transfusion.quantize import kernel_for, weight_bytes

    names = {"fp32": None, "int8": "int8"}  # name -> from_pretrained's quantization
    pipes, tables = {}, {}
    settings = f"with {run.settings}" if run.settings else "at the checkpoint's default settings"

    def cell(name: str, key: str) -> str:
        value = s.data.get(name, {}).get(key)
        if key == "peak memory MiB" and not run.cuda:
            return "n/a on the CPU"
        return "" if value is None else f"{value:.4f}" if key == "seconds per image" else str(value)

    def render() -> None:  # the section's Markdown from what is measured so far: a killed run keeps it
        s.lines = [f"Each pipeline from `TransfusionPipeline.from_pretrained({run.model_dir.name}, quantization=...)`, "
                   f"int8 on the `{kernel_for(run.device)}` kernel. Latency: median of {run.args.repeats} "
                   f"`text_to_image` calls after a warm-up, {settings}.", "",
                   "| | fp32 | int8 |", "| --- | ---: | ---: |"]
        for key, label in (("seconds per image", "seconds per image"), ("weight MiB", "weight MiB (`quantize.weight_bytes`)"),
                           ("peak memory MiB", "peak GPU memory MiB, load and latency"),
                           ("evaluation seconds", "evaluation seconds")):
            s.lines.append(f"| {label} | {cell('fp32', key)} | {cell('int8', key)} |")
        if tables:
            s.lines += ["", f"The evaluator, {run.args.eval_cases} case(s) per group, seed 0, {settings}:", "",
                        *side_by_side(tables)]
        s.save()

    for name, quantization in names.items():
        reset_peak(run.device)
        pipe = TransfusionPipeline.from_pretrained(run.model_dir, device=str(run.device), quantization=quantization)
        latency = timed(lambda: pipe.text_to_image(PROMPT, seed=0, **run.settings), run.args.repeats)
        pipes[name] = pipe
        s.data[name] = {"kernel": kernel_for(run.device) if quantization else "fp32", "seconds per image": latency,
                        "weight MiB": round(weight_bytes(pipe.checkpoint.model) / MiB, 2), "peak memory MiB": peak_mib(run.device)}
        render()
        print(f"  {name}: one image {latency:.3f} s, weights {s.data[name]['weight MiB']} MiB", flush=True)
    for name, pipe in pipes.items():
        t0 = time.perf_counter()
        model = WithSettings(pipe, **run.settings)
        results = evaluate(model, cases=run.args.eval_cases, seed=0)
        results["sampling"] = model.sampling()
        tables[name] = format_table(results)
        s.data[name] |= {"evaluation": results, "evaluation seconds": round(time.perf_counter() - t0, 1)}
        render()
        print(f"  {name}: evaluated in {s.data[name]['evaluation seconds']} s", flush=True)
    fp32, int8 = s.data["fp32"], s.data["int8"]
    memory = f"{fp32['peak memory MiB']} vs {int8['peak memory MiB']} MiB" if run.cuda else "n/a on the CPU"
    s.done(f"one image {fp32['seconds per image']:.3f} s fp32, {int8['seconds per image']:.3f} s int8; weights "
           f"{fp32['weight MiB']} vs {int8['weight MiB']} MiB; peak memory {memory}; "
           f"evaluator at {run.args.eval_cases} case(s) per group")


# 6. the app

def last(outputs):
    """The last value a handler's generator yields."""
    out = None
    for out in outputs:
        pass
    return out


def check_app(run: Run, s: Section) -> None:
    import gradio as gr
    from PIL import Image

    from transfusion.shapesworld.app import EDITS, example_images
    from transfusion.app.handlers import CHAT_SETTINGS, EDIT_SETTINGS, Demo
    from transfusion.app.runtime import load_pipeline
    from transfusion.app.settings import DEFAULT_SAMPLER, controls_for

    def no_progress(*args, **kwargs):  # stands in for gr.Progress outside a server
        pass

    pipe = load_pipeline(run.model_dir, str(run.device), "auto")  # the app's policy: int8 on CUDA
    demo = Demo(pipe, run.model_dir)
    values = {name: c.value for name, c in controls_for(pipe.defaults).items()} | {"sampler": DEFAULT_SAMPLER} | run.settings
    size = pipe.checkpoint.config.vae.image_size

    t0 = time.perf_counter()
    _, history, _ = last(demo.chat_send({"text": CHAT_MESSAGE, "files": []}, [], 0, False, no_progress,
                                        **{k: values[k] for k in CHAT_SETTINGS}))
    chat_s = time.perf_counter() - t0
    reply = history[-1]["content"]
    images = [Image.open(p.value["path"]).size for p in reply if isinstance(p, gr.Image)]
    words = " ".join(p for p in reply if isinstance(p, str))
    s.data["chat"] = {"message": CHAT_MESSAGE, "seconds": round(chat_s, 3), "images": len(images),
                      "image sizes": images, "text": words, "role": history[-1]["role"]}
    s.save()

    picture_name, instruction = EDITS[0]
    picture = Image.open(example_images()[picture_name]).convert("RGB")
    t0 = time.perf_counter()
    result, _, strip, _ = last(demo.edit(picture, instruction, None, 0, False, no_progress,
                                         **{k: values[k] for k in EDIT_SETTINGS}))
    edit_s = time.perf_counter() - t0
    edited = Image.open(result).size
    s.data["edit"] = {"picture": picture_name, "instruction": instruction, "seconds": round(edit_s, 3),
                      "images": 1, "image size": list(edited), "history strip": len(strip)}
    s.lines = [f"`Demo` on `load_pipeline({run.model_dir.name}, {run.device}, 'auto')` (quantization: "
               f"{pipe.quantization or 'none'}), its handlers called directly, no server; the sliders' starting "
               f"values" + (f" with {run.settings}" if run.settings else "") + ".", "",
               "| request | seconds | reply |", "| --- | ---: | --- |",
               f"| chat: “{CHAT_MESSAGE}” | {chat_s:.3f} | {len(images)} image(s) {images}, text “{words}” |",
               f"| edit: {picture_name}.png + “{instruction}” | {edit_s:.3f} | an image of {edited[0]} × {edited[1]} |"]
    summary = f"chat {chat_s:.2f} s ({len(images)} image(s), “{words[:40]}”), edit {edit_s:.2f} s"
    if images and edited == (size, size) and history[-1]["role"] == "assistant":
        s.done(summary)
    else:
        s.fail(f"the chat reply held no image, or the edit's was not {size} × {size}: {summary}")


def tiny_checkpoint(folder: Path) -> Path:
    """The dry run's model: the tests' tiny scripted checkpoint (its chat replies always hold an
    image), with random weights in its zero-initialised image head, so that section 2 compares
    image predictions that are not all zeros."""
    from tests.app_helpers import scripted_checkpoint
    from transfusion.checkpoint import Checkpoint

    scripted_checkpoint(folder)
    ckpt = Checkpoint.from_pretrained(folder)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in ckpt.model.patch_out.parameters():
            if not p.any():
                p.normal_(std=0.02)
    ckpt.save_pretrained(folder)
    return folder


CHECKS = {"env": check_environment, "flex": check_flex, "compile": check_compiles, "train": check_training,
          "int8": check_int8, "app": check_app}


def main(argv=None) -> int:
    args = parse_args(argv)
    # the CPU runs flex attention uncompiled on purpose (section 3 says so); its warning says it at every run
    warnings.filterwarnings("ignore", "flex_attention called without torch.compile")
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = ("a tiny scripted checkpoint (tests/app_helpers.py)" if args.tiny else
             str(args.model) if args.model else "the built-in model (assets/model)")
    header = {"command": " ".join(["python -m benchmarks.gpu_check", *(argv if argv is not None else sys.argv[1:])]),
              "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "device": str(device), "model": model,
              "training steps": args.steps, "rows per batch": args.rows, "evaluator cases per group": args.eval_cases}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        report = Report(args.report, "GPU check", SECTIONS, header)
        run = Run(args, device, Path(tmp))
        for key in RUN_ORDER:
            with report.run(key) as section:
                CHECKS[key](run, section)
    bad = [s.title for s in report.sections.values() if s.status in (FAILED, ERROR)]
    print(f"report: {report.path} and {report.json_path}" + (f"; not passed: {', '.join(bad)}" if bad else ""), flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
