"""The training loop both training commands share, on Hugging Face accelerate.

The same code runs on the CPU, one GPU, or many (`accelerate launch`, DDP or FSDP): accelerate
wraps the model, the optimizer and mixed precision; gradient accumulation is written out here.
A step: `grad_accum` micro-batches (gradients synchronised on the last only), clipping, an
optimizer and scheduler step, an EMA update. Every `log_every` steps a line goes to the
progress bar and to `<out>/log.jsonl`; every `save_every` the state goes to `<out>/state`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from accelerate import Accelerator
from tqdm.auto import tqdm

from .ema import EMA
from .state import load_state, save_state


def make_accelerator(precision: str = "no") -> Accelerator:
    """The run's Accelerator. Processes started by a launcher (`accelerate launch --multi_gpu
    --num_processes N`, torchrun) on a machine without CUDA join over gloo on the CPU; accelerate
    itself would run each of them alone unless told `cpu=True`. The learning-rate schedule is
    stepped once per optimizer step, whatever the number of processes: accelerate would step it
    once per process (it assumes each process's dataloader shrank), and a run's schedule would
    end early by that factor."""
    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
    return Accelerator(mixed_precision=precision, cpu=launched and not torch.cuda.is_available(),
                       step_scheduler_with_optimizer=False)


@dataclass
class LoopSettings:
    out: Path
    steps: int
    grad_accum: int = 1
    clip: float = 1.0
    ema_decay: float = 0.999
    log_every: int = 10
    save_every: int = 500
    sample_every: int = 0  # 0: never
    resume: bool = False
    time_limit: float = 0.0  # minutes of wall time for this run, then save and stop (0: none)


# loss_fn(step, micro) -> (loss, parts for the log, units processed: tokens or images)
LossFn = Callable[[int, int], tuple[torch.Tensor, dict[str, float], int]]


class TrainLoop:
    def __init__(self, accelerator: Accelerator, model, optimizer, scheduler, settings: LoopSettings, unit: str):
        self.acc, self.settings, self.unit = accelerator, settings, unit
        self.model, self.optimizer, self.scheduler = accelerator.prepare(model, optimizer, scheduler)
        self.ema = EMA(self.raw_model, settings.ema_decay)  # after prepare: the shadow lives on the model's device
        self.step = 0
        self.info: dict = {}
        self.seen = 0  # units (tokens or images) of every step so far, all processes: D of 6 * N * D
        self.seconds = 0.0  # wall time in the loop, over every call that resumed this run
        settings.out.mkdir(parents=True, exist_ok=True)
        if settings.resume:
            self.info = load_state(settings.out / "state", self.raw_model, self.ema, self.optimizer, self.scheduler)
            self.step = self.info["step"]
            self.seen = self.info.get("seen", 0)
            self.seconds = self.info.get("seconds", 0.0)
            accelerator.print(f"resumed at step {self.step} from {settings.out / 'state'}")

    @property
    def raw_model(self):
        return self.acc.unwrap_model(self.model)

    def ema_model(self, make_copy: Callable):
        """A fresh model (from `make_copy()`) holding the EMA weights, in eval mode."""
        model = make_copy()
        self.ema.copy_to(model)
        return model.eval()

    def save(self, extra: dict | None = None) -> None:
        self.acc.wait_for_everyone()
        if self.acc.is_main_process:
            info = {**self.info, **(extra or {}), "step": self.step, "seen": self.seen, "seconds": self.seconds}
            save_state(self.settings.out / "state", self.raw_model, self.ema, self.optimizer, self.scheduler, info)

    def run(self, loss_fn: LossFn, on_sample: Callable[[int], None] | None = None) -> None:
        s = self.settings
        log = open(s.out / "log.jsonl", "a") if self.acc.is_main_process else None
        # in a terminal the bar redraws each second; written to a log file, once a minute (not each step)
        bar = tqdm(total=s.steps, initial=self.step, disable=not self.acc.is_main_process, dynamic_ncols=True,
                   mininterval=1 if sys.stderr.isatty() else 60)
        window_units, window_start = 0, time.perf_counter()
        deadline = time.monotonic() + 60 * s.time_limit if s.time_limit else float("inf")
        clock = time.monotonic()
        while self.step < s.steps:
            if time.monotonic() > deadline:
                self.acc.print(f"time limit of {s.time_limit} minutes reached at step {self.step}: saved, resume with --resume")
                break
            self.model.train()
            parts_sum: dict[str, float] = {}
            for micro in range(s.grad_accum):
                sync = micro == s.grad_accum - 1
                with contextlib.nullcontext() if sync else self.acc.no_sync(self.model):
                    with self.acc.autocast():
                        loss, parts, units = loss_fn(self.step, micro)
                    self.acc.backward(loss / s.grad_accum)
                window_units += units * self.acc.num_processes
                self.seen += units * self.acc.num_processes
                for k, v in parts.items():
                    parts_sum[k] = parts_sum.get(k, 0.0) + float(v) / s.grad_accum
            grad_norm = self.acc.clip_grad_norm_(self.model.parameters(), s.clip)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.ema.update(self.raw_model)
            self.step += 1
            self.seconds += time.monotonic() - clock
            clock = time.monotonic()
            bar.update(1)
            if self.step % s.log_every == 0 or self.step == s.steps:
                elapsed = time.perf_counter() - window_start
                row = {"step": self.step, **{k: round(v, 5) for k, v in parts_sum.items()},
                       "grad_norm": round(float(grad_norm), 4), "lr": self.scheduler.get_last_lr()[0],
                       f"{self.unit}_per_s": round(window_units / elapsed, 1), f"{self.unit}_seen": self.seen,
                       "time": time.time()}
                bar.set_postfix({k: row[k] for k in [*parts_sum, f"{self.unit}_per_s"]}, refresh=False)  # drawn at the bar's own pace
                if log:
                    log.write(json.dumps(row) + "\n")
                    log.flush()
                window_units, window_start = 0, time.perf_counter()
            paused = time.perf_counter()  # saving and sampling do not count against the speed
            if s.save_every and self.step % s.save_every == 0:
                self.save()
            if on_sample and s.sample_every and self.step % s.sample_every == 0 and self.acc.is_main_process:
                on_sample(self.step)
            window_start += time.perf_counter() - paused
        bar.close()
        self.save()
        if log:
            log.close()


def step_seed(seed: int, step: int, micro: int, rank: int) -> int:
    """The seed of one micro-batch's randomness: a pure function of where the run is."""
    return hash((seed, step, micro, rank)) & 0x7FFF_FFFF_FFFF_FFFF


def micro_batch_indices(step: int, micro: int, rank: int, world: int, batch_size: int, grad_accum: int = 1) -> range:
    """The stream indices of one process's micro-batch. The stream is read in order, each
    micro-batch step split among the processes: no index is read twice, none is skipped."""
    first = ((step * grad_accum + micro) * world + rank) * batch_size
    return range(first, first + batch_size)


def document_seed(seed: int, index: int) -> int:
    """The seed of one training document's randomness (its condition dropout, its images'
    noise): a pure function of the run's seed and the document's place in the stream, so it
    does not depend on the batch, the step or the process the document lands in."""
    return hash((seed, index)) & 0x7FFF_FFFF_FFFF_FFFF  # int tuples hash the same in every process
