"""Where the experiments keep their results, their page and their training runs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "experiments" / "results.jsonl"  # one line a graded run
PAGE = ROOT / "docs" / "experiments.md"  # rebuilt from RESULTS by `report`
RUNS = ROOT / "runs" / "experiments"  # runs/experiments/<budget>/<run>
