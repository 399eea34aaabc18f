"""Two evaluations side by side: every row of both, and the difference with its 95 % interval.

    python -m transfusion.evaluation.compare before.json after.json [--names "stage 7" "stage 8"]

The JSON files are what `python -m transfusion.evaluation --json FILE` writes. A row is any tally
({"correct", "total"}) found in both; the difference's interval is the normal approximation for
two independent proportions, and a row whose interval leaves out 0 is marked.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from pathlib import Path

Z95 = 1.959964


def tallies(results: dict, path: tuple[str, ...] = ()) -> Iterator[tuple[str, dict]]:
    """(row name, tally) of every tally in an evaluation's results, in their order."""
    for key, value in results.items():
        if not isinstance(value, dict):
            continue
        if {"correct", "total"} <= value.keys():
            yield " / ".join((*path, key)), value
        else:
            yield from tallies(value, (*path, key))


def difference(a: dict, b: dict) -> tuple[float, float, float]:
    """b − a as a proportion, with the low and high ends of its 95 % interval."""
    pa, pb = a["correct"] / a["total"], b["correct"] / b["total"]
    se = math.sqrt(pa * (1 - pa) / a["total"] + pb * (1 - pb) / b["total"])
    d = pb - pa
    return d, d - Z95 * se, d + Z95 * se


def compare_table(a: dict, b: dict, names: tuple[str, str] = ("before", "after")) -> str:
    rows_b = dict(tallies(b))
    lines = [f"| row | {names[0]} | {names[1]} | {names[1]} − {names[0]} (95 %) |", "| --- | ---: | ---: | ---: |"]
    for name, ta in tallies(a):
        tb = rows_b.get(name)
        if tb is None or not ta["total"] or not tb["total"]:
            continue
        d, low, high = difference(ta, tb)
        mark = " *" if low > 0 or high < 0 else ""
        lines.append(f"| {name} | {100 * ta['correct'] / ta['total']:.1f} % | {100 * tb['correct'] / tb['total']:.1f} % "
                     f"| {100 * d:+.1f} ({100 * low:+.1f} to {100 * high:+.1f}){mark} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    p.add_argument("--names", nargs=2, default=("before", "after"), help="the two columns' names")
    args = p.parse_args(argv)
    a, b = (json.loads(f.read_text()) for f in (args.before, args.after))
    print(compare_table(a, b, tuple(args.names)))
    print("\n* the difference's 95 % interval leaves out 0")


if __name__ == "__main__":
    main()
