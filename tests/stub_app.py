"""`app.py` on a stubbed model speed, for the tests whose meaning depends on it: a request that is
still running when the client goes away, one past the time limit, a model busy while the queue
fills. `AppServer(..., stub=True)` (tests/app_helpers.py) runs it from the repository root:

    APP_TEST_STEP_DELAY=0.03 APP_TEST_GATE=/tmp/gate python -m tests.stub_app --checkpoint /tmp/tiny

Every denoising step of the pipeline (an image in a chat reply, an edit) takes APP_TEST_STEP_DELAY
seconds more and prints "stub: step i/n". While the file APP_TEST_GATE exists, the model makes no
progress: it stays after its current step and reports that step again every 20 ms, as a model
that is slow at every step would, so the app can still stop it at the next report. A test that
closes the gate thus holds a request that cannot finish before the gate opens, whatever the
hardware; its assertions are on events (log lines, errors, outputs), never on durations.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

REPORT_EVERY = 0.02  # seconds between the reports of a stalled step


def scripted(on_step, delay: float, gate: Path):
    """`on_step`, after `delay` seconds more of every step, and held while `gate` exists."""
    def step(i, total, latents):
        time.sleep(delay)
        print(f"stub: step {i}/{total}", flush=True)
        if on_step:
            on_step(i, total, latents)
        while gate.exists():
            time.sleep(REPORT_EVERY)
            if on_step:
                on_step(i, total, latents)  # the app raises here once it stops the request
    return step


def stubbed(method, delay: float, gate: Path):
    """A pipeline method that takes `on_step=`, running every denoising step through `scripted`."""
    @functools.wraps(method)
    def wrapper(self, *args, on_step=None, **kwargs):
        return method(self, *args, on_step=scripted(on_step, delay, gate), **kwargs)
    return wrapper


def main() -> None:
    from transfusion.app.demo import main as serve
    from transfusion.pipeline import TransfusionPipeline

    delay, gate = float(os.environ["APP_TEST_STEP_DELAY"]), Path(os.environ["APP_TEST_GATE"])
    for name in ("chat", "edit_with_progress"):  # the app's model calls, both with on_step
        setattr(TransfusionPipeline, name, stubbed(getattr(TransfusionPipeline, name), delay, gate))
    print(f"stub: every denoising step {delay:g} s slower; stalled while {gate} exists", flush=True)
    serve(prog="app.py")  # parses sys.argv as `python app.py` does


if __name__ == "__main__":
    main()
