"""How fast ShapesWorld renders, analyses and makes documents on ONE CPU core.

    python -m benchmarks.shapesworld_speed [--n 2000]     # from the repository root

Pins the process to one core and limits numpy's threads to one, so the figures say whether
a single data-loader worker keeps up with training.
"""

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported

import argparse  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from transfusion.shapesworld.analyse import analyse  # noqa: E402
from transfusion.shapesworld.documents import document  # noqa: E402
from transfusion.shapesworld.render import render, render_array  # noqa: E402
from transfusion.shapesworld.world import random_scene  # noqa: E402


def rate(fn, items) -> float:
    """Calls of fn per second over items."""
    t0 = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="items timed per figure")
    parser.add_argument("--seed", type=int, default=0, help="seed of the scenes and documents")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    rng = random.Random(args.seed)
    scenes = [random_scene(rng) for _ in range(args.n)]
    arrays = [render_array(s) for s in scenes]
    noise = np.random.default_rng(args.seed)
    noisy = [np.clip(np.rint(a + noise.normal(0, 10, a.shape)), 0, 255).astype(np.uint8) for a in arrays]
    render(scenes[0]), analyse(arrays[0]), document(0)  # warm caches

    print(f"one core, n = {args.n}")
    print(f"renders/s            {rate(render, scenes):10,.0f}")
    print(f"analyses/s (clean)   {rate(analyse, arrays):10,.0f}")
    print(f"analyses/s (sigma10) {rate(analyse, noisy):10,.0f}")
    print(f"documents/s          {rate(lambda i: document(i, args.seed), range(args.n)):10,.0f}")


if __name__ == "__main__":
    main()
