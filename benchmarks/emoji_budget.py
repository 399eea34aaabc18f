"""What a CPU budget buys on the emoji folder: resolution, latent channels, width and depth.

    python -m benchmarks.emoji_budget autoencoders --minutes 6    # four autoencoders, then their table
    python -m benchmarks.emoji_budget transformers --minutes 8    # four transformers, then their table
    python -m benchmarks.emoji_budget accuracy --minutes 20       # 64 against 32 pixels, graded
    python -m benchmarks.emoji_budget table                       # the tables again, from what ran

Every arm trains from scratch on `data/emoji` (`python -m transfusion.emoji.prepare --out
data/emoji`) for the same wall-clock budget, with the project's own commands (`train_vae`,
`train`), and its learning-rate schedule ends with the budget: a probe of `PROBE_STEPS` steps
measures the arm's seconds a step, and the arm then plans that many steps as fit the budget
(warm-up a tenth of them). One arm at a time, on a quiet machine: the arms share the CPU.

Autoencoders (the shipped blocks, 24 / 48 / 96, 4x down; resolution and latent channels
changed): pictures a second, pixel error over the last tenth of the run, and the share of
the catalogue whose reconstruction retrieves its own entry (`transfusion.folder.autoencoder`),
beside the same share for each picture merely shrunk to that resolution (what no
autoencoder of that size can beat). A transformer's picture costs (latent side / 2)^2 tokens
at 2 x 2 patches.

Transformers (the emoji config, `configs/emoji.json`; width, depth and resolution changed):
tokens a second, steps, documents, and the LM and diffusion losses over the last tenth of the
run. The 64-pixel arms share the shipped autoencoder; the 32-pixel arm uses the 32-pixel,
8-channel autoencoder of the first command (its diffusion loss is on other latents: not
comparable). The accuracy arms are the shipped shape at 64 and at 32 pixels, trained longer,
then graded by the evaluator (`transfusion.folder.evaluate --only draw caption`, 100 cases a
group): a 32-pixel picture is a quarter of the tokens, so a budget shows each emoji more often.
Runs go to `runs/budget/` (scratch).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs" / "budget"
DATA = ROOT / "data" / "emoji"
VAE_BASE = ROOT / "configs" / "emoji_vae.json"
SHIPPED_VAE = ROOT / "assets" / "emoji" / "vae"
TRANSFORMER_BASE = ROOT / "configs" / "emoji.json"
PROBE_STEPS = 10  # steps of the speed probe; the time of the last half of them is what counts
SHORT_EMA = 0.995  # a few hundred steps: the default 0.999 would still hold the early weights
BASE_MODEL = json.loads(TRANSFORMER_BASE.read_text())["model"]  # objective and patches, as the emoji config
PATCH = BASE_MODEL["patch_size"]  # the transformer's patch side in latent cells

AUTOENCODERS = {  # name -> VAEConfig fields changed from configs/emoji_vae.json
    "64px-8ch": {"image_size": 64, "latent_channels": 8},  # the shipped one
    "64px-4ch": {"image_size": 64, "latent_channels": 4},
    "32px-8ch": {"image_size": 32, "latent_channels": 8},
    "32px-4ch": {"image_size": 32, "latent_channels": 4},
}
LOW_RES_VAE = "32px-8ch"  # the autoencoder of the 32-pixel transformer arm
TRANSFORMERS = {  # name -> (TransfusionConfig overrides of the `small` preset, autoencoder)
    "w256-d8-64px": ({"dim": 256, "n_layers": 8, "n_heads": 8}, None),  # the shipped shape
    "w384-d8-64px": ({"dim": 384, "n_layers": 8, "n_heads": 12}, None),
    "w256-d12-64px": ({"dim": 256, "n_layers": 12, "n_heads": 8}, None),
    "w256-d8-32px": ({"dim": 256, "n_layers": 8, "n_heads": 8}, LOW_RES_VAE),
}
ACCURACY_ARMS = ("w256-d8-64px", "w256-d8-32px")  # trained longer, then graded: what resolution buys
ACCURACY_GROUPS = ("draw", "caption")  # the evaluator's groups they are graded on


def run(cmd: list[str], log: Path) -> None:
    print("$", " ".join(cmd), flush=True)
    with log.open("w") as f:
        done = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    if done.returncode:
        sys.exit(f"failed ({done.returncode}); see {log}")


def log_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if line.strip()]


def seconds_a_step(out: Path) -> float:
    """From a probe's log: the seconds between its last two log lines, a step."""
    a, b = log_lines(out)[-2:]
    return (b["time"] - a["time"]) / (b["step"] - a["step"])


def minutes_run(lines: list[dict]) -> float:
    """The run's wall time, from its log lines' clock (the first line's steps counted at the run's pace)."""
    first, last = lines[0], lines[-1]
    return (last["time"] - first["time"]) / 60 * last["step"] / max(1, last["step"] - first["step"])


def last_tenth(lines: list[dict], key: str) -> float:
    tail = lines[-max(1, math.ceil(len(lines) / 10)):]
    return statistics.fmean(line[key] for line in tail)


def planned(module: str, args: list[str], out: Path, minutes: float) -> int:
    """Probe the arm's speed, then run it for `minutes`: the steps it plans."""
    cmd = [sys.executable, "-m", module, *args]
    run(cmd + ["--out", str(out / "probe"), "--steps", str(PROBE_STEPS), "--log-every", str(PROBE_STEPS // 2)],
        out / "probe.txt")
    steps = max(20, int(minutes * 60 / seconds_a_step(out / "probe")))
    run(cmd + ["--out", str(out), "--steps", str(steps), "--warmup", str(steps // 10),
               "--save-every", str(steps), "--time-limit", f"{minutes * 1.2:g}"], out / "train.txt")
    return steps


def autoencoder_args(config: Path) -> list[str]:
    """`transfusion.train_vae`'s flags for an arm whose VAEConfig is the JSON file `config`
    (--out, --steps and the schedule are `planned`'s)."""
    return ["--config", str(config), "--data", str(DATA), "--sample-every", "0", "--ema-decay", str(SHORT_EMA)]


def arm_vae(name: str) -> Path:
    """The autoencoder folder of the transformer arm `name`."""
    vae_name = TRANSFORMERS[name][1]
    return RUNS / f"vae-{vae_name}" / "vae" if vae_name else SHIPPED_VAE


def transformer_args(name: str) -> list[str]:
    """`transfusion.train`'s flags for the transformer arm `name` (--out, --steps and the schedule are `planned`'s)."""
    sizes = TRANSFORMERS[name][0]
    return ["--config", str(TRANSFORMER_BASE), "--vae", str(arm_vae(name)), "--data", str(DATA),
            "--model", json.dumps({**BASE_MODEL, **sizes}), "--pack", "512", "--balance-by", "emoji",
            "--eval-cases", "0", "--sample-every", "0", "--ema-decay", str(SHORT_EMA)]


def train_autoencoders(minutes: float) -> None:
    base = json.loads(VAE_BASE.read_text())
    for name, fields in AUTOENCODERS.items():
        out = RUNS / f"vae-{name}"
        out.mkdir(parents=True, exist_ok=True)
        config = out / "config.json"
        config.write_text(json.dumps({**base, **fields}))
        steps = planned("transfusion.train_vae", autoencoder_args(config), out, minutes)
        (out / "budget.json").write_text(json.dumps({"minutes": minutes, "steps": steps}))


def train_transformers(names, minutes: float, prefix: str, graded: bool = False) -> None:
    """Each arm of `names` into runs/budget/<prefix>-<name>; `graded`: then the evaluator's ACCURACY_GROUPS."""
    for name in names:
        out = RUNS / f"{prefix}-{name}"
        out.mkdir(parents=True, exist_ok=True)
        if not arm_vae(name).exists():
            sys.exit(f"{arm_vae(name)} is missing: run the autoencoders first")
        steps = planned("transfusion.train", transformer_args(name), out, minutes)
        (out / "budget.json").write_text(json.dumps({"minutes": minutes, "steps": steps}))
        if graded:
            run([sys.executable, "-m", "transfusion.folder.evaluate", "--model", str(out / "model"), "--data",
                 str(DATA), "--only", *ACCURACY_GROUPS, "--json", str(out / "evaluation.json")], out / "evaluate.txt")


def retrieval_rates(vae_folder: Path, size: int, folder, catalogue) -> tuple[dict, dict]:
    """(reconstructions, pictures merely shrunk to `size`): each {"training": tally, "held out": tally}."""
    from diffusers import AutoencoderKL

    from transfusion.evaluation.score import Tally
    from transfusion.folder.autoencoder import reconstruction_rates
    from transfusion.folder.source import load_picture
    from transfusion.vae import to_pil, to_tensor

    vae = AutoencoderKL.from_pretrained(vae_folder, use_safetensors=True, local_files_only=True).eval()
    rates, _ = reconstruction_rates(vae, catalogue, folder.held_out)
    shrunk = {"training": Tally(), "held out": Tally()}
    for i, entry in enumerate(catalogue.entries):
        small = to_pil(to_tensor([load_picture(entry.image)], size))[0]
        shrunk["held out" if entry.image in folder.held_out else "training"].add(catalogue.retrieves(small, i))
    return rates, {k: t.as_dict() for k, t in shrunk.items()}


def percent(tally: dict) -> str:
    return f"{100 * tally['accuracy']:.1f} % of {tally['total']}"


def autoencoder_table() -> str:
    from transfusion.config import VAEConfig
    from transfusion.folder.format import read_folder
    from transfusion.folder.retrieval import Catalogue

    folder = read_folder(DATA)
    catalogue = Catalogue(folder.entries)  # read once: every arm is graded against the same pictures
    rows = ["| autoencoder | latent | tokens a picture | pictures/s | steps (minutes) | pixel MSE (last tenth) "
            "| reconstructions retrieve their entry: training / held out | shrunk pictures retrieve theirs |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for name, fields in AUTOENCODERS.items():
        out = RUNS / f"vae-{name}"
        if not (out / "vae").exists():
            continue
        lines = log_lines(out)
        config = VAEConfig(**json.loads((out / "config.json").read_text()))
        side = config.latent_size
        rates, shrunk = retrieval_rates(out / "vae", config.image_size, folder, catalogue)
        rows.append(f"| {name} | {side} × {side} × {config.latent_channels} | {(side // PATCH) ** 2} "
                    f"| {statistics.median(line['images_per_s'] for line in lines):.1f} "
                    f"| {lines[-1]['step']} ({minutes_run(lines):.1f}) "
                    f"| {last_tenth(lines, 'mse'):.4f} | {percent(rates['training'])} / {percent(rates['held out'])} "
                    f"| {percent(shrunk['training'])} / {percent(shrunk['held out'])} |")
    return "\n".join(rows)


def transformer_table() -> str:
    rows = ["| transformer | parameters | tokens/s (median) | steps (minutes) | documents | LM loss (last tenth) "
            "| diffusion loss (last tenth) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    from transfusion.config import TransfusionConfig
    from transfusion.model import Transfusion

    batch = json.loads(TRANSFORMER_BASE.read_text())["batch_size"]  # documents a step
    for name in TRANSFORMERS:
        out = RUNS / f"tf-{name}"
        if not (out / "model").exists():
            continue
        params = Transfusion(TransfusionConfig.load(out / "model" / "config.json")).num_parameters()
        lines = log_lines(out)
        rows.append(f"| {name} | {params / 1e6:.2f}M | {statistics.median(line['tokens_per_s'] for line in lines):,.0f} "
                    f"| {lines[-1]['step']} ({minutes_run(lines):.1f}) | {lines[-1]['step'] * batch:,} | {last_tenth(lines, 'lm'):.3f} "
                    f"| {last_tenth(lines, 'diffusion'):.3f} |")
    return "\n".join(rows)


def accuracy_table() -> str:
    rows = ["| transformer | minutes | steps | draw exact | one of a kind | in families | right emoji | caption exact |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in ACCURACY_ARMS:
        out = RUNS / f"acc-{name}"
        if not (out / "evaluation.json").exists():
            continue
        lines, results = log_lines(out), json.loads((out / "evaluation.json").read_text())
        draw = results["draw"]
        rows.append(f"| {name} | {minutes_run(lines):.1f} | {lines[-1]['step']} | {percent(draw['exact'])} "
                    f"| {percent(draw['exact when']['emoji in one picture'])} "
                    f"| {percent(draw['exact when']['emoji in several pictures'])} | {percent(draw['emoji'])} "
                    f"| {percent(results['caption'])} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.emoji_budget", description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=("autoencoders", "transformers", "accuracy", "table"))
    p.add_argument("--minutes", type=float, default=6.0, help="wall-clock budget of each arm")
    args = p.parse_args(argv)
    if not (DATA / "captions.jsonl").exists():
        sys.exit(f"{DATA} is missing: python -m transfusion.emoji.prepare --out data/emoji")
    if args.what == "autoencoders":
        train_autoencoders(args.minutes)
    if args.what == "transformers":
        train_transformers(TRANSFORMERS, args.minutes, "tf")
    if args.what == "accuracy":
        train_transformers(ACCURACY_ARMS, args.minutes, "acc", graded=True)
    if args.what in ("autoencoders", "table"):
        print(autoencoder_table())
    if args.what in ("transformers", "table"):
        print(transformer_table())
    if args.what in ("accuracy", "table"):
        print(accuracy_table())


if __name__ == "__main__":
    main()
