"""Each run's sampling settings, chosen on cases of its own before it is graded.

A sampler's knobs decide much of what a drawing row scores, and the two arms have different
ones. So that neither arm is graded at settings that suit only the other, each run tries a small
grid on the text -> image cases of a seed the evaluator never grades (`TUNE_SEED`), keeps the
settings that draw the most scenes exactly, writes them into its checkpoint's
`generation_config.json` (every later call on it samples so) and records the whole sweep in its
result line. Transfusion tries the text guidance scale; Chameleon tries the same scales, each with
a few code temperatures (the knob only token-by-token images have). The library's defaults come
first in the grid, so a tie keeps them.
"""

from __future__ import annotations

from pathlib import Path

from ..evaluation.cli import WithSettings
from ..generation_config import save_generation_config

TUNE_SEED = 1  # the evaluator's cases are those of seed 0
GUIDANCE = (3.0, 1.5, 5.0)  # the library's default first
CODE_TEMPERATURES = (1.0, 0.7, 0.4)


def candidates(discrete: bool) -> list[dict]:
    """The grid of setting overrides a run of that arm tries, the library's defaults first."""
    if discrete:
        return [{"guidance": g, "code_temperature": t} for t in CODE_TEMPERATURES for g in GUIDANCE]
    return [{"guidance": g} for g in GUIDANCE]


def exact_share(scores: dict) -> float:
    """The share of text -> image cases drawn exactly, over all of its groups."""
    rows = scores["text_to_image"].values()
    return sum(r["correct"] for r in rows) / max(sum(r["total"] for r in rows), 1)


def sweep(pipe, cases: int) -> tuple[dict, list[dict]]:
    """(the best overrides, every candidate with its exact share on `cases` cases a group)."""
    from ..evaluation import evaluate

    tried = []
    for overrides in candidates(pipe.checkpoint.config.discrete):
        scores = evaluate(WithSettings(pipe, **overrides), cases=cases, seed=TUNE_SEED, natural=False,
                          groups=("text_to_image",))
        tried.append({**overrides, "exact": exact_share(scores)})
    best = max(tried, key=lambda t: t["exact"])  # max keeps the first of equals: the defaults
    return {k: v for k, v in best.items() if k != "exact"}, tried


def keep(pipe, best: dict, model_folder: Path) -> None:
    """Make `best` the defaults of the checkpoint in `model_folder` (its generation_config.json),
    over the ones it had (`pipe.defaults`)."""
    save_generation_config(pipe.defaults.with_overrides(**best), model_folder)
