"""One run of the plan (`plan.py`): train it with the project's own commands (resumably), grade
it, and append one line to the results file that `report` reads.

Transfusion's runs use the built-in model's autoencoder (assets/model/vae); the Chameleon runs
use a VQ tokenizer of the same architecture, trained the same way (`train_vae --kind vq`, in
runs/experiments/<budget>/vq, by the first Chameleon run that finds none). Once trained it is kept
in stages/experiments-vq-<budget>, a folder to commit: runs/ is scratch, and every later Chameleon
run of that budget must read the same tokenizer. A run stopped by its time limit is resumed by the
same command (its seconds are every call's training and the grading); it is graded once its last
step is done, at the sampling settings a sweep on cases of another seed chose for it (`tune.py`).
The same command on a run already trained (its folder still there) grades it again and appends
the new line, keeping its training seconds.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ..autoencoder import autoencoder_config, codebook_size, load_autoencoder
from ..batch import IGNORE, collate
from ..config import preset
from ..documents import encode_document, latents_for_documents
from ..model import Transfusion
from ..pipeline import BUILT_IN
from ..sampling import _forward
from ..shapesworld import DEFAULT_MIXTURE
from ..training.sources import ShapesWorldSource
from .flops import compute_params, training_flops
from .plan import Budget, Run
from .tune import keep, sweep

VAE = BUILT_IN / "vae"  # Transfusion's runs: the built-in model's autoencoder
STAGES = Path(__file__).resolve().parents[2] / "stages"  # trained weights kept in the repository, not shipped
GRADED = ("text_to_image", "caption", "question")  # the evaluator's groups both arms can take
HELD_OUT_SEED = 10**6  # the perplexity's captioning documents: a stream no run trains on
LENGTH_SAMPLE = 512  # documents whose mean length sets a run's steps
VOCAB = 512


def full_mixture(run: Run) -> dict[str, float]:
    """The run's task weights with every other task of ShapesWorld at 0."""
    return {t: 0.0 for t in DEFAULT_MIXTURE} | run.mixture


def kept_vq(stages: Path, budget_name: str) -> Path:
    """Where a budget's trained tokenizer is kept (committed) for every Chameleon run of it."""
    return stages / f"experiments-vq-{budget_name}"


def train_vq(runs: Path, budget: Budget, time_limit: float, kept: Path) -> Path | None:
    """The discrete arm's tokenizer: the built-in VAE's architecture and recipe, a codebook
    instead of the KL term (`VQConfig`'s defaults are that architecture). The kept one if there
    is one; else trained (resumably) and copied to `kept`; None while its time limit stops it."""
    from .. import train_vae

    if (kept / "config.json").exists():
        return kept
    out = runs / "vq"
    state = out / "state" / "state.json"
    if _steps_done(state) < budget.vq_steps:
        resume = ["--resume"] if state.exists() else []
        train_vae.main(["--kind", "vq", "--out", str(out), "--steps", str(budget.vq_steps), "--batch-size", "32",
                        "--log-every", "50", "--save-every", "250", "--sample-every", "500",
                        "--time-limit", str(time_limit), *resume])
    if _steps_done(state) < budget.vq_steps:
        return None
    shutil.copytree(out / "vq", kept)  # where train_vae saves it
    return kept


def _steps_done(state: Path) -> int:
    return json.loads(state.read_text())["step"] if state.exists() else 0


def arm_config(run: Run, vocab_size: int, vae, image_codes_n: int = 0):
    """The TransfusionConfig a run trains (as train.py builds it from the same flags)."""
    return preset("small", **{**run.config_overrides, "vocab_size": vocab_size, "vae": vae, "image_codes": image_codes_n})


def mean_document_tokens(run: Run, tokenizer, config) -> float:
    """The mean length in tokens of the run's documents (images as placeholders of their length)."""
    source = ShapesWorldSource(0, full_mixture(run))
    if config.discrete:
        def placeholder(images): return torch.zeros((len(images), config.patches_per_image), dtype=torch.long)
    else:
        c, s = config.vae.latent_channels, config.vae.latent_size
        def placeholder(images): return torch.zeros((len(images), c, s, s))
    docs = latents_for_documents([source.document(i) for i in range(LENGTH_SAMPLE)], placeholder)
    return sum(len(encode_document(d, tokenizer, config)) for d in docs) / len(docs)


def planned_steps(run: Run, budget: Budget, tokenizer, vae_config, codes: int) -> tuple[int, int, float]:
    """(steps, N, planned FLOPs): a Transfusion run trains on `budget.tokens_for(size)` tokens; a
    Chameleon run on the tokens that give the same 6 N D as its Transfusion twin's (whose
    autoencoder has the same latent grid)."""
    twin = arm_config(run, tokenizer.vocab_size, vae_config)
    mine = arm_config(run, tokenizer.vocab_size, vae_config, codes if run.arm == "chameleon" else 0)
    flops = training_flops(compute_params(Transfusion(twin)), budget.tokens_for(run.size))
    n = compute_params(Transfusion(mine))
    tokens = flops / (6 * n)
    steps = math.ceil(tokens / (budget.batch_size * mean_document_tokens(run, tokenizer, mine)))
    return steps, n, flops


@torch.no_grad()
def caption_perplexity(pipe, documents: int, batch_size: int = 32) -> float:
    """exp of the mean NLL per caption token (and its EOS) on image -> text documents of a
    stream no run trains on: the paper's text perplexity, on the one kind of text both arms read.
    Over the model's whole softmax: the discrete arm's code ids included, as it predicts them."""
    ckpt, device = pipe.checkpoint, pipe.device
    config = ckpt.config
    source = ShapesWorldSource(HELD_OUT_SEED, {t: 0.0 for t in DEFAULT_MIXTURE} | {"image_to_text": 1.0})
    nll, count = 0.0, 0
    for start in range(0, documents, batch_size):
        docs = latents_for_documents([source.document(i) for i in range(start, min(start + batch_size, documents))], pipe._latents)
        batch = collate([encode_document(d, ckpt.tokenizer, config) for d in docs], ckpt.tokenizer.pad_id).to(device)
        logits, _ = _forward(ckpt, batch, batch.latents, torch.zeros(batch.latents.shape[0], device=device))
        scored = batch.targets != IGNORE
        nll += float(F.cross_entropy(logits[scored].float(), batch.targets[scored], reduction="sum"))
        count += int(scored.sum())
    return math.exp(nll / count)


def train_argv(run: Run, budget: Budget, autoencoder: Path, out: Path, steps: int, time_limit: float) -> list[str]:
    """The `transfusion.train` command line of a run: its model, mixture and seed, the budget's batch."""
    return ["--data", "shapesworld", "--vae", str(autoencoder), "--out", str(out), "--preset", "small",
            "--model", json.dumps(run.config_overrides), "--mixture", json.dumps(full_mixture(run)),
            "--steps", str(steps), "--batch-size", str(budget.batch_size), "--lr", "1e-3",
            "--warmup", str(min(200, steps // 10)), "--vocab-size", str(VOCAB), "--log-every", "20",
            "--save-every", "250", "--sample-every", "0", "--eval-cases", "0", "--time-limit", str(time_limit),
            "--seed", str(run.seed)]


def seconds(state: dict, started: float, graded: float) -> int:
    """A run's seconds: its training's, summed over every call that resumed it (as the training
    state counts them), and this call's grading. A state from before that count was kept gives
    this call's time alone."""
    if "seconds" not in state:
        return round(time.monotonic() - started)
    return round(state["seconds"] + time.monotonic() - graded)


def run_folder(runs: Path, budget_name: str, name: str) -> Path:
    """Where a run of a budget trains: its resumable state, then its graded model in `model/`."""
    return runs / budget_name / name


def execute(run: Run, budget: Budget, budget_name: str, runs: Path, results: Path, time_limit: float = 0.0,
            stages: Path = STAGES) -> dict | None:
    """Train, grade and record `run` at `budget` (named `budget_name`, its folder under `runs`,
    its VQ tokenizer kept under `stages`); None when the time limit stopped it first (run it again)."""
    from .. import train
    from ..evaluation import evaluate
    from ..evaluation.cli import WithSettings
    from ..evaluation.vae import read_back
    from ..pipeline import TransfusionPipeline
    from ..tokenizer import train_tokenizer
    from ..train import TOKENIZER_TEXTS

    started = time.monotonic()
    vq = kept_vq(stages, budget_name)
    autoencoder = train_vq(runs / budget_name, budget, time_limit, vq) if run.arm == "chameleon" else VAE
    if autoencoder is None:
        print(f"{run.name}: the VQ tokenizer stopped at its time limit before its last step: run the same command again")
        return None
    ae = load_autoencoder(autoencoder)
    codes = codebook_size(ae)
    tokenizer = train_tokenizer(ShapesWorldSource(0).text_corpus(TOKENIZER_TEXTS), VOCAB)  # as train.py makes it
    vae_config = autoencoder_config(ae)
    steps, n, flops = planned_steps(run, budget, tokenizer, vae_config, codes)
    out = run_folder(runs, budget_name, run.name)
    trained = _steps_done(out / "state" / "state.json") >= steps  # then this call grades it again
    resume = ["--resume"] if (out / "state" / "state.json").exists() else []
    if not trained:
        train.main(train_argv(run, budget, autoencoder, out, steps, time_limit) + resume)
    state = json.loads((out / "state" / "state.json").read_text())
    if state["step"] < steps:
        print(f"{run.name}: stopped at step {state['step']} of {steps} by its time limit: run the same command again")
        return None
    graded = time.monotonic()
    pipe = TransfusionPipeline.from_pretrained(out / "model")
    best, tried = sweep(pipe, budget.tune_cases)
    keep(pipe, best, out / "model")  # for every later load of the checkpoint
    scores = evaluate(WithSettings(pipe, **best), cases=budget.cases, seed=0, natural=False, groups=GRADED)
    line = {
        "name": run.name, "arm": run.arm, "size": run.size, "group": run.group, "baseline": run.baseline,
        "budget": budget_name, "model": run.config_overrides, "mixture": run.mixture, "seed": run.seed,
        "params": n, "tokens": state.get("seen", 0), "flops": training_flops(n, state.get("seen", 0)), "planned flops": flops,
        "steps": steps, "seconds": seconds(state, started, graded), "sampling": best, "sweep": tried,
        "perplexity": caption_perplexity(pipe, budget.perplexity_documents), "scores": scores,
        # the ceiling its autoencoder puts on an exact scene: the share of renders read back exactly
        "autoencoder read back": read_back(ae, budget.read_back_scenes)[0],
        # where it was graded (and, unless resumed elsewhere, trained): lines from other hardware may be mixed
        "device": torch.cuda.get_device_name(pipe.device) if pipe.device.type == "cuda" else pipe.device.type,
    }
    if trained:  # graded again (new measures, say): the seconds stay those of its training run
        from .report import read_results

        before = read_results(results).get(run.name) if results.exists() else None
        line["seconds"] = before["seconds"] if before else line["seconds"]
        line["regraded"] = True
    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("a") as f:
        f.write(json.dumps(line) + "\n")
    return line
