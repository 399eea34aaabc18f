"""Streaming from callbacks: run a blocking call in a worker thread and iterate over what it
reports as it happens.

The pipeline reports progress through callbacks (`on_token`, `on_step`) while Gradio streams
by iterating a generator. `stream(work)` joins the two: `work(emit)` runs in a worker thread,
every `emit(value)` is yielded by the caller's generator as it comes, and the call's result
ends the stream as `Done(result)`. An exception in the worker is raised in the caller. If the
caller stops iterating (the browser went away, the user pressed stop), the next `emit` raises
`Cancelled` inside the worker, and the caller waits for the worker to end, so that the model
is never used by two calls at once. With a `time_limit`, the first `emit` past it raises
`TimeLimit` in the worker, and so in the caller.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator


@dataclass
class Done:
    """The last item of a stream: what the call returned."""

    result: Any


@dataclass
class _Failed:
    error: BaseException


class Cancelled(Exception):
    """Raised inside the worker by `emit` once the consumer has stopped listening."""


class TimeLimit(Exception):
    """Raised by `emit` once the call has run past its time limit."""

    def __init__(self, seconds: float):
        super().__init__(f"stopped after the time limit of {seconds:g} s")
        self.seconds = seconds


log = logging.getLogger("transfusion.app")


def stream(work: Callable[[Callable[[Any], None]], Any], time_limit: float | None = None) -> Iterator[Any]:
    """Yield every value that `work(emit)` emits, in order, then `Done(work's result)`."""
    for batch in stream_batches(work, time_limit, coalesce=False):
        yield from batch


def stream_batches(work: Callable[[Callable[[Any], None]], Any], time_limit: float | None = None,
                   coalesce: bool = True) -> Iterator[list]:
    """`stream`, a list at a time: each list holds everything emitted since the last one (at
    least one value). A consumer slower than the model (every update sent to a browser costs
    tens of milliseconds) then renders only the latest state of each burst and never falls
    behind the model. `coalesce=False` yields one value at a time (for tests that check every
    update)."""
    items: queue.Queue = queue.Queue()
    stop = threading.Event()
    started = time.monotonic()
    deadline = None if time_limit is None else started + time_limit
    emitted = 0

    def emit(value: Any) -> None:
        nonlocal emitted
        if stop.is_set():
            log.info("stopped after %d updates: nobody is listening any more", emitted)
            raise Cancelled()
        if deadline is not None and time.monotonic() > deadline:
            log.info("stopped after %d updates: past the time limit of %g s", emitted, time_limit)
            raise TimeLimit(time_limit)
        emitted += 1
        items.put(value)

    def target() -> None:
        try:
            result = work(emit)
            log.info("done: %d updates in %.2f s", emitted, time.monotonic() - started)
            items.put(Done(result))
        except BaseException as e:  # noqa: BLE001 (re-raised in the consumer's thread)
            items.put(_Failed(e))

    worker = threading.Thread(target=target, name="transfusion-stream", daemon=True)
    worker.start()
    try:
        while True:
            batch = [items.get()]
            while coalesce and not isinstance(batch[-1], (Done, _Failed)):
                try:
                    batch.append(items.get_nowait())
                except queue.Empty:
                    break
            if isinstance(batch[-1], _Failed):
                if batch[:-1]:
                    yield batch[:-1]
                raise batch[-1].error
            yield batch
            if isinstance(batch[-1], Done):
                return
    finally:
        stop.set()
        worker.join()
