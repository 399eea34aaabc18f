"""How every benchmark times a call: the median seconds of `repeats` calls, after a warm-up call
unless the caller has just made one (a warm-up is where lazy work, compiling among it, happens).

Stdlib only: `peer_child.py`, which runs in the peer's environment, imports it too.
"""

from __future__ import annotations

import statistics
import time


def timed(fn, repeats: int, warm_up: bool = True) -> float:
    if warm_up:
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
