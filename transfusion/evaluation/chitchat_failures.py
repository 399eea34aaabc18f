"""Why chitchat fails: every wrong reply to the evaluator's chitchat cases, by message.

    python -m transfusion.evaluation.chitchat_failures --model assets/model

It replays the chitchat rows of `python -m transfusion.evaluation` (the same cases and sampling
seeds, so its counts are that table's), and for each message that got a wrong reply prints how
often, what was wrong (`chitchat.reply_fault`: a picture, cut at the token budget, too long, no
shape named, no request suggested) and the first wrong reply in full. A model that answers
"how does this work?" with "two" shows here as that message, 13 times, "no shape".
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from ..shapesworld.chitchat import reply_fault
from .harness import DEFAULT_CASES
from .natural import PHRASINGS, NaturalCases, chitchat_cases, chitchat_replies


def _said(reply: list) -> str:
    return " ".join(p if isinstance(p, str) else "<picture>" for p in reply)


def diagnose(model, cases: int, seed: int) -> dict:
    """For each phrasing (seen, held-out): its case count, wrong count, and per wrong message
    its kind, count, faults and first wrong reply. JSON-ready."""
    report = {p: {"cases": 0, "wrong": 0, "messages": {}} for p in PHRASINGS}
    chitchat = chitchat_cases(cases, seed)
    if hasattr(model, "prepare"):  # the oracle looks its replies up, as in the evaluator
        model.prepare(None, NaturalCases((), (), (), chitchat))
    for case, reply, ended in chitchat_replies(model, chitchat, seed):
        row = report[PHRASINGS[case.held_out]]
        row["cases"] += 1
        fault = reply_fault(reply, ended)
        if fault is None:
            continue
        row["wrong"] += 1
        m = row["messages"].setdefault(case.message, {"kind": case.kind, "wrong": 0, "faults": Counter(),
                                                      "example": _said(reply)})
        m["wrong"] += 1
        m["faults"][fault] += 1
    for row in report.values():
        row["messages"] = dict(sorted(row["messages"].items(), key=lambda kv: -kv[1]["wrong"]))
        for m in row["messages"].values():
            m["faults"] = dict(m["faults"])
    return report


def format_report(report: dict) -> str:
    lines = []
    for phrasing, row in report.items():
        lines += [f"{phrasing}: {row['wrong']} of {row['cases']} replies wrong", ""]
        if not row["messages"]:
            continue
        lines += ["| message | kind | wrong | what was wrong | first wrong reply |", "| --- | --- | ---: | --- | --- |"]
        for message, m in row["messages"].items():
            faults = ", ".join(f"{f} {n}" for f, n in m["faults"].items())
            example = m["example"] if len(m["example"]) <= 120 else m["example"][:117] + "..."
            lines.append(f"| {message} | {m['kind']} | {m['wrong']} | {faults} | {example.replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines).rstrip()


def main(argv=None) -> None:
    from .cli import MODEL_HELP, add_model_args, model_from_args

    p = argparse.ArgumentParser(prog="python -m transfusion.evaluation.chitchat_failures", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--cases", type=int, default=DEFAULT_CASES,
                   help="chitchat cases per phrasing, as the evaluator's --cases (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="case and sampling seed, as the evaluator's (default 0)")
    add_model_args(p)
    p.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = p.parse_args(argv)
    if args.cases < 1:
        p.error("--cases must be at least 1")
    report = diagnose(model_from_args(args), args.cases, args.seed)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
