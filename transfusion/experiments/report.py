"""The experiments page, rebuilt from the results file alone: `python -m transfusion.experiments report`.

For each metric, its value against training FLOPs for both arms (a plot, and a table), and the
parity FLOP ratio as the paper computes it (section 4.2): fit log(metric) against log(FLOPs)
for each arm, then ask what share of Chameleon's FLOPs Transfusion needs to equal Chameleon at
its largest budget. An accuracy is fitted as its error rate (1 - accuracy, lower is better,
like the paper's FID and perplexity), clamped at half a case so that a perfect score stays on
the log scale. The pixel error (mean squared, against the render of the asked scene) is the
graded image score, FID's part: it still ranks drawings that no exact row counts. Then each
ablation against its baseline, with the 95 % interval of each difference. The latest line of
each run counts.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..evaluation.cases import TEXT_TO_IMAGE_GROUPS
from ..evaluation.compare import difference
from .plan import ARMS

# the paper's parity ratios at 7B (arXiv 2408.11039, figure 2 and table 3)
PAPER_PARITY = {"FID": 0.029, "CLIP": 0.319, "captioning CIDEr": 0.218, "C4 perplexity": 0.489,
                "Wikipedia perplexity": 0.526, "Llama eval accuracy": 0.600}
# what the paper's ablations found at 0.76B (section 4.3, tables 5, 6 and 8), by the plan's group names
PAPER_ABLATIONS = {
    "attention": "bidirectional attention inside an image beat causal: with linear patches FID 61.3 → 20.3 and "
                 "CIDEr 12.7 → 16.0; with U-Net blocks FID 16.8 → 16.7 and CIDEr 23.3 → 25.4. U-Net blocks beat "
                 "linear ones either way (bidirectional: FID 20.3 → 16.7, CIDEr 16.0 → 25.4)",
    "patch size": "linear patches got worse as they grew (2×2 → 4×4: FID 20.3 → 25.6, CIDEr 16.0 → 14.3; 1×1 "
                  "without an encoder: FID 21.0, CIDEr 12.0); U-Net patches did not (2×2 → 4×4: FID 16.7 → 16.0, "
                  "CIDEr 25.4 → 29.9); text perplexity rose a little with larger patches either way",
    "noise limit": "limiting t ≤ 500 for a picture before its caption raised CIDEr 25.4 → 29.4 (at 7B 33.7 → 35.2); "
                   "other metrics moved under 1 %",
    "lambda": "not ablated (the paper fixed λ = 5 and left it to future work)",
    "objective": "not ablated (the paper trained DDPM ε-prediction only)",
}
# (name, where in a result line, lower is better); accuracies are tallies of the evaluator
METRICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    *((f"text → image, {g}", ("scores", "text_to_image", g)) for g in TEXT_TO_IMAGE_GROUPS[:3]),
    ("caption exact", ("scores", "caption", "exact")),
    ("questions", ("scores", "question", "all")),
    ("caption perplexity", ("perplexity",)),
    ("text → image, pixel error", ("scores", "pixel error", "mean squared")),
)
HEADLINE = "text → image, pixel error"  # the graded image score: FID, the paper's headline, plays this part


def read_results(path: Path) -> dict[str, dict]:
    """name -> the latest line of that run."""
    latest: dict[str, dict] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{number}: not JSON ({e.msg})") from None
            latest[row["name"]] = row
    return latest


def value(row: dict, where: tuple[str, ...]):
    """The metric at `where` in a result line; None in a line written before it was measured."""
    for key in where:
        if key not in row:
            return None
        row = row[key]
    return row


def loss_form(row: dict, where: tuple[str, ...]) -> float:
    """The metric as something to minimise, > 0: an error rate (clamped at half a case) or the perplexity."""
    v = value(row, where)
    if isinstance(v, dict):
        return max(1 - v["accuracy"], 0.5 / max(v["total"], 1))
    return float(v)


def points(runs: list[dict], where: tuple[str, ...], arm: str) -> list[tuple[float, float]]:
    """(FLOPs, the metric as a loss) of an arm's runs that measured it."""
    return [(r["flops"], loss_form(r, where)) for r in runs if r["arm"] == arm and value(r, where) is not None]


def shown(row: dict, where: tuple[str, ...]) -> str:
    v = value(row, where)
    if v is None:
        return "–"
    return f"{100 * v['accuracy']:.1f} %" if isinstance(v, dict) else f"{v:.4f}"


def sampling(row: dict) -> str:
    """The settings a run was graded at, and the sweep's best exact share ('library defaults' before sweeps)."""
    if "sampling" not in row:
        return "library defaults (no sweep)"
    best = max(t["exact"] for t in row["sweep"])
    return ", ".join(f"{k} {v}" for k, v in row["sampling"].items()) + f" ({100 * best:.0f} %)"


def fit(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Least squares of log(y) = a + b log(x); None with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    xs, ys = [math.log(x) for x, _ in points], [math.log(y) for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


def parity_ratio(transfusion: list[tuple[float, float]], chameleon: list[tuple[float, float]]) -> float | None:
    """The share of Chameleon's largest budget at which Transfusion's fit reaches Chameleon's
    fitted value there; None where a fit is missing or Transfusion does not improve with compute."""
    ft, fc = fit(transfusion), fit(chameleon)
    if ft is None or fc is None or ft[1] >= 0:
        return None
    top = max(x for x, _ in chameleon)
    target = fc[0] + fc[1] * math.log(top)  # log of Chameleon's fitted metric at its top budget
    return math.exp((target - ft[0]) / ft[1]) / top


def shown_ratio(ratio: float | None, transfusion: list[tuple[float, float]], chameleon: list[tuple[float, float]]) -> str:
    """A parity ratio for the table. Where the FLOPs it names lie below Transfusion's smallest run,
    what the runs measured is a bound (that run already does better: the ratio is under its share
    of Chameleon's top budget), and the fit's figure, read beyond its points, comes second."""
    if ratio is None:
        return "n/a (too few sizes, or no gain with compute)"
    top = max(x for x, _ in chameleon)
    at = ratio * top
    xs = [x for x, _ in transfusion]
    text = f"{ratio:.3g}"
    if at < min(xs):
        text = (f"< {min(xs) / top:.3g} (Transfusion's smallest run, {min(xs):.1e} FLOPs, already does better;"
                f" the fit, extrapolated, says {ratio:.3g})")
    elif at > max(xs):
        text += f" (extrapolated: beyond Transfusion's largest run, {max(xs):.1e} FLOPs)"
    return text


def comparison(rows: dict[str, dict]) -> tuple[list[dict], str]:
    """The comparison runs, and their tables: metrics by arm and size, then the parity ratios."""
    runs = sorted((r for r in rows.values() if r["group"] == "comparison"), key=lambda r: (r["flops"], r["arm"]))
    if not runs:
        return [], "No comparison run has finished yet."
    lines = ["| arm | size | N | tokens | FLOPs | " + " | ".join(m for m, _ in METRICS) + " | autoencoder read back | sampling |",
             "| --- | --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in METRICS) + " | ---: | --- |"]
    for r in runs:
        ceiling = f"{100 * r['autoencoder read back']:.1f} %" if "autoencoder read back" in r else ""
        lines.append(f"| {r['arm']} | {r['size']} | {r['params']:,} | {r['tokens']:,} | {r['flops']:.2e} | "
                     + " | ".join(shown(r, w) for _, w in METRICS) + f" | {ceiling} | {sampling(r)} |")
    lines += ["", "The last column is the share of random renders (the budget's `read_back_scenes`) that the"
              " analyser reads back exactly after a round trip through the run's autoencoder (the VAE, or"
              " the Chameleon arm's VQ tokenizer): a ceiling on that run's exact scenes. The sampling"
              " column gives the settings the run was graded at, chosen by a sweep on cases of another seed"
              " (`transfusion/experiments/tune.py`; the best share of that sweep's scenes drawn exactly in brackets).",
              "", "| metric | parity FLOP ratio (Transfusion / Chameleon) |", "| --- | ---: |"]
    for name, where in METRICS:
        ours, theirs = points(runs, where, "transfusion"), points(runs, where, "chameleon")
        lines.append(f"| {name} | {shown_ratio(parity_ratio(ours, theirs), ours, theirs)} |")
    lines += ["", "The paper's at 7B: " + ", ".join(f"{k} {v}" for k, v in PAPER_PARITY.items()) + "."]
    return runs, "\n".join(lines)


def ablations(rows: dict[str, dict]) -> str:
    out = ["| group | run | against | " + " | ".join(m for m, _ in METRICS) + " |",
           "| --- | --- | --- | " + " | ".join("---:" for _ in METRICS) + " |"]
    for r in ablation_rows(rows):
        base = rows[r["baseline"]]
        cells = []
        for _, where in METRICS:
            a, b = value(base, where), value(r, where)
            if a is None or b is None:
                cells.append("–")
            elif isinstance(a, dict):
                d, low, high = difference(a, b)
                cells.append(f"{100 * b['accuracy']:.1f} % ({100 * d:+.1f}; {100 * low:+.1f} to {100 * high:+.1f})")
            else:
                cells.append(f"{b:.3f} ({b - a:+.3f})")
        out.append(f"| {r['group']} | {r['name']} | {base['name']} | " + " | ".join(cells) + " |")
    return "\n".join(out) if len(out) > 2 else "No ablation has finished with its baseline yet."


def paper_ablations(rows: dict[str, dict]) -> str:
    """What the paper found for each ablation group that has a finished row, to read the table against."""
    groups = dict.fromkeys(r["group"] for r in ablation_rows(rows) if r["group"] in PAPER_ABLATIONS)
    if not groups:
        return ""
    return "What the paper found (0.76B):\n\n" + "\n".join(f"- {g}: {PAPER_ABLATIONS[g]}." for g in groups)


def plot(runs: list[dict], folder: Path) -> list[Path]:
    """One PNG per metric: the metric (as a loss) against FLOPs, both arms, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for k, (name, where) in enumerate(METRICS):
        fig, ax = plt.subplots(figsize=(4.8, 3.4), dpi=100)
        for arm, style in zip(ARMS, ("o-", "s--")):
            pts = sorted(points(runs, where, arm))
            if pts:
                ax.plot([x for x, _ in pts], [y for _, y in pts], style, label=arm)
        ax.set_xscale("log")
        ax.set_yscale("log")
        # ticks at each size's planned budget (both arms of a pair share it), labelled by the size:
        # log axes narrower than a decade otherwise crowd their minor labels
        budgets = {r["planned flops"]: r["size"] for r in runs}
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(sorted(budgets), [f"{budgets[x]}\n{x:.1e}" for x in sorted(budgets)])
        ax.set_xlabel("training FLOPs (6 N D)")
        ax.set_ylabel("perplexity" if "perplexity" in name else "mean squared error" if "pixel" in name else "error rate")
        ax.set_title(name)
        ax.legend()
        fig.tight_layout()
        path = folder / f"metric{k}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def ablation_rows(rows: dict[str, dict]) -> list[dict]:
    """The ablation runs whose baseline has a result, in the plan's order of the file."""
    return [r for r in rows.values() if r["group"] != "comparison" and r["baseline"] in rows]


def ablation_plot(rows: dict[str, dict], folder: Path) -> Path | None:
    """One PNG: for each graded accuracy that some ablation run or its baseline scored above 0,
    each run's difference from its baseline with the 95 % interval; None without an ablation."""
    runs = ablation_rows(rows)
    panels = [(name, where) for name, where in METRICS
              if isinstance(value(runs[0], where) if runs else None, dict)
              and any(value(r, where)["accuracy"] or value(rows[r["baseline"]], where)["accuracy"] for r in runs)]
    if not panels:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels) + 1.6, 0.45 * len(runs) + 1.4), dpi=100,
                             sharey=True, squeeze=False)
    for ax, (name, where) in zip(axes[0], panels):
        for y, r in enumerate(runs):
            d, low, high = difference(value(rows[r["baseline"]], where), value(r, where))
            ax.errorbar([100 * d], [y], xerr=[[100 * (d - low)], [100 * (high - d)]], fmt="o", capsize=3)
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("points against its baseline", fontsize=8)
    axes[0][0].set_yticks(range(len(runs)), [f"{r['name']} (vs {r['baseline']})" for r in runs], fontsize=8)
    axes[0][0].invert_yaxis()
    fig.tight_layout()
    path = folder / "ablations.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def build_page(results: Path, page: Path) -> str:
    """Write `page` (Markdown) and its plots beside it, from `results`; returns the page."""
    rows = read_results(results)
    runs, table = comparison(rows)
    ablated = ablation_plot(rows, page.parent / "experiments")
    plots = plot(runs, page.parent / "experiments") if runs else []
    headline = next((p for p, (name, _) in zip(plots, METRICS) if name == HEADLINE), None)
    pictures = "\n".join(f"![{name}](experiments/{p.name})" for p, (name, _) in zip(plots, METRICS) if p != headline)
    text = f"""# Experiments: Transfusion against a Chameleon baseline, in miniature

Rebuilt by `python -m transfusion.experiments report` from `{results.name}` ({len(rows)} runs);
each run by `python -m transfusion.experiments run NAME` (`list` names them). Compute is
C = 6 N D (`transfusion/experiments/flops.py`: N without the token embedding, D every token
trained on, attention's own FLOPs left out as in the paper).

## The comparison

{table}

{f"![{HEADLINE}](experiments/{headline.name})" if headline else ""}

{pictures}

## The ablations

Each run changes one setting of the run it is read against, at size S; a cell gives the run's
figure, then (the difference; its 95 % interval). The `seed` group's run changes nothing but the
seed: what one run moves by chance alone.

{ablations(rows)}

{paper_ablations(rows)}
{f"{chr(10)}![each ablation's difference from its baseline, with its 95 % interval](experiments/{ablated.name}){chr(10)}" if ablated else ""}"""
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text)
    return text
