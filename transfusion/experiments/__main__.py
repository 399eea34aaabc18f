"""The paper's experiments in miniature, one command:

    python -m transfusion.experiments list                     # every run of the plan, and which are done
    python -m transfusion.experiments run NAME [--budget cpu]  # train (resumable), grade, record one run
    python -m transfusion.experiments run all                  # every run not recorded yet, in order
    python -m transfusion.experiments report                   # rebuild docs/experiments.md from the results

Results are appended to docs/experiments/results.jsonl (one line a run); training goes to
runs/experiments/<budget>/<run>. `--time-limit` stops a run after so many minutes, saved: the
same command resumes it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .paths import PAGE, RESULTS, RUNS
from .plan import BUDGETS, find, plan


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m transfusion.experiments", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every run of the plan")
    run = sub.add_parser("run", help="train, grade and record a run (or 'all')")
    run.add_argument("name")
    run.add_argument("--budget", choices=sorted(BUDGETS), default="cpu")
    run.add_argument("--time-limit", type=float, default=0.0, help="minutes, then save and stop (0: none)")
    run.add_argument("--results", type=Path, default=RESULTS)
    run.add_argument("--runs", type=Path, default=RUNS)
    report = sub.add_parser("report", help="rebuild the page from the results")
    report.add_argument("--results", type=Path, default=RESULTS)
    report.add_argument("--page", type=Path, default=PAGE)
    args = p.parse_args(argv)

    if args.command == "list":
        from .report import read_results

        done = read_results(RESULTS) if RESULTS.exists() else {}
        for r in plan():
            mark = "done" if r.name in done else "    "
            print(f"{mark}  {r.name:24s} {r.arm:11s} {r.size}  {r.group}{f' (against {r.baseline})' if r.baseline else ''}")
        return
    if args.command == "report":
        from .report import build_page

        build_page(args.results, args.page)
        print(f"wrote {args.page}")
        return
    from .report import read_results
    from .run import execute

    try:
        todo = [find(args.name)] if args.name != "all" else plan()
    except ValueError as e:
        p.error(str(e))
    done = read_results(args.results) if args.results.exists() else {}
    for r in todo:
        if args.name == "all" and r.name in done:
            continue
        if execute(r, BUDGETS[args.budget], args.budget, args.runs, args.results, args.time_limit) is None:
            return  # stopped by the time limit: the same command goes on


if __name__ == "__main__":
    main()
