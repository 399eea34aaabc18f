"""Load on the real demo server: requests/s and latency at 1, 4 and 8 concurrent clients, and
the server's resident memory over a long run of requests.

    python -m benchmarks.load                        # from the repository root: starts `app.py` on the built-in model
    python -m benchmarks.load --url http://host:7860/ --soak 0   # a running server (no memory figures)

Every client is its own gradio_client session and alternates a chat turn ("draw ...") and an
edit of an example picture, at the app's default settings unless --steps is given. Latency is
a request's whole round trip as the client sees it (queueing included). The server runs every
model call one at a time, so requests/s stays near 1 / (time of one call) while latency grows
with the number of clients.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import threading
import time

from gradio_client import Client, handle_file

from tests.app_helpers import AppServer, setting_values
from transfusion.shapesworld.app import EDITS, chat_examples, example_images
from transfusion.app.handlers import CHAT_SETTINGS, EDIT_SETTINGS
from transfusion.app.settings import DEFAULT_SAMPLER, controls_for
from transfusion.generation_config import load_generation_config
from transfusion.pipeline import BUILT_IN


def settings(checkpoint: str | None, steps: int | None) -> dict:
    """The controls' starting values for `checkpoint` (its generation_config.json), as a user sends them."""
    controls = controls_for(load_generation_config(checkpoint or BUILT_IN))
    values = {name: c.value for name, c in controls.items()} | {"sampler": DEFAULT_SAMPLER}
    if steps:
        values["steps"] = steps
    return values


def one_request(client: Client, k: int, s: dict) -> None:
    """Request k of a client: even k a chat turn, odd k an edit."""
    if k % 2 == 0:
        example = chat_examples()[k // 2 % len(chat_examples())]  # drawing, questions and edits of a picture
        message = {"text": example["text"], "files": [handle_file(f) for f in example["files"]]}
        client.predict(message, [], k, False, *setting_values(CHAT_SETTINGS, s), api_name="/chat")
    else:
        picture, instruction = EDITS[k // 2 % len(EDITS)]
        client.predict(handle_file(str(example_images()[picture])), instruction, k, False,
                       *setting_values(EDIT_SETTINGS, s), api_name="/edit")


def run_level(url: str, clients: int, per_client: int, s: dict) -> dict:
    """`clients` sessions at once, each sending `per_client` requests back to back."""
    sessions = [Client(url, verbose=False) for _ in range(clients)]
    latencies: list[float] = []
    errors: list[str] = []
    start = threading.Barrier(clients + 1)

    def user(c: Client, offset: int) -> None:
        start.wait()
        for k in range(per_client):
            t = time.perf_counter()
            try:
                one_request(c, offset + k, s)
                latencies.append(time.perf_counter() - t)
            except Exception as e:  # noqa: BLE001 (counted and reported)
                errors.append(str(e)[:200])

    threads = [threading.Thread(target=user, args=(c, i)) for i, c in enumerate(sessions)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
    return {"clients": clients, "requests": len(latencies), "errors": len(errors), "wall_s": wall,
            "req_per_s": len(latencies) / wall, "p50_s": statistics.median(latencies), "p95_s": q[18],
            "first_error": errors[0] if errors else None}


def soak(url: str, server: AppServer | None, n: int, s: dict) -> dict:
    """`n` requests in a row from one client; the server's resident memory before and after."""
    client = Client(url, verbose=False)
    for k in range(4):  # warm: every code path has run once
        one_request(client, k, s)
    before = server.rss_mib() if server else None
    readings = []
    for k in range(n):
        one_request(client, k, s)
        if server and (k + 1) % 50 == 0:
            readings.append(round(server.rss_mib(), 1))
    after = server.rss_mib() if server else None
    return {"requests": n, "rss_before_mib": before, "rss_after_mib": after, "rss_every_50": readings}


def model_seconds(server: AppServer | None, skip: int = 0) -> list[float]:
    """The model time of each request the server finished, from its log ("done: ... in X s")."""
    if server is None:
        return []
    return [float(m) for m in re.findall(r"done: \d+ updates in ([0-9.]+) s", server.log)][skip:]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running server (default: start app.py here)")
    p.add_argument("--checkpoint", help="checkpoint for the started server, and whose default settings to send "
                                        "(default: the built-in model)")
    p.add_argument("--levels", default="1,4,8", help="concurrent clients, comma-separated")
    p.add_argument("--per-client", type=int, default=6, help="requests each client sends at each level")
    p.add_argument("--steps", type=int, default=None, help="denoising steps (default: the app's)")
    p.add_argument("--soak", type=int, default=200, help="requests in a row for the memory figure (0: skip)")
    args = p.parse_args()
    s = settings(args.checkpoint, args.steps)
    server_args = ["--checkpoint", args.checkpoint] if args.checkpoint else []
    with (contextlib.nullcontext() if args.url else AppServer(server_args, timeout=300)) as server:
        url = args.url or server.url
        print(f"server {url}  settings {s}")
        print("| clients | requests | errors | requests/s | p50 latency | p95 latency |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in (int(x) for x in args.levels.split(",")):
            done = len(model_seconds(server))
            r = run_level(url, n, args.per_client, s)
            model = model_seconds(server, done)
            inside = f" (model time a request: median {statistics.median(model):.2f} s)" if model else ""
            print(f"| {n} | {r['requests']} | {r['errors']} | {r['req_per_s']:.2f} | {r['p50_s']:.2f} s | {r['p95_s']:.2f} s |"
                  f"{inside}", flush=True)
            if r["first_error"]:
                print(f"  first error: {r['first_error']}")
        if args.soak:
            m = soak(url, server, args.soak, s)
            if m["rss_before_mib"] is None:
                print(f"{m['requests']} requests in a row: done (memory is measured only for a server started here)")
            else:
                print(f"{m['requests']} requests in a row: server resident memory {m['rss_before_mib']:.1f} MiB before, "
                      f"{m['rss_after_mib']:.1f} MiB after (every 50: {m['rss_every_50']})")


if __name__ == "__main__":
    main()
