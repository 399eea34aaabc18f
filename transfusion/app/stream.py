"""Streaming from callbacks: run a blocking call in a worker thread and iterate over what it
reports as it happens.

The pipeline reports progress through callbacks (`on_token`, `on_step`) while Gradio streams
by iterating a generator. `stream(work)` joins the two: `work(emit)` runs in a worker thread,
every `emit(value)` is yielded by the caller's generator as it comes, and the call's result
ends the stream as `Done(result)`. An exception in the worker is raised in the caller. If the
caller stops iterating (the browser went away, the user pressed stop), the next `emit` raises
`Cancelled` inside the worker, and the caller waits for the worker to end, so that the model
is never used by two calls at once.
"""

from __future__ import annotations

import queue
import threading
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


def stream(work: Callable[[Callable[[Any], None]], Any]) -> Iterator[Any]:
    """Yield every value that `work(emit)` emits, in order, then `Done(work's result)`."""
    items: queue.Queue = queue.Queue()
    stop = threading.Event()

    def emit(value: Any) -> None:
        if stop.is_set():
            raise Cancelled()
        items.put(value)

    def target() -> None:
        try:
            items.put(Done(work(emit)))
        except BaseException as e:  # noqa: BLE001 (re-raised in the consumer's thread)
            items.put(_Failed(e))

    worker = threading.Thread(target=target, name="transfusion-stream", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if isinstance(item, _Failed):
                raise item.error
            yield item
            if isinstance(item, Done):
                return
    finally:
        stop.set()
        worker.join()
