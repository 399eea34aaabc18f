"""Helpers for the app's tests: a tiny checkpoint whose replies are scripted, the real server
started in a subprocess (optionally on a stubbed model speed, see tests/stub_app.py), and the
settings in the order the app's events take them.

A tiny random model (two layers, width 64) draws noise and, decoding greedily, may never
emit BOI, so a test could not count on an image in a reply. `scripted_checkpoint` keeps the
tiny random transformer but sets a few embedding rows and LM-head columns so that greedy
decoding always answers `[image, words]`: the assistant marker leads to BOI, EOI to the first
word, each word to the next, the last one to EOS. Every code path of the real model still
runs (attention, the KV cache, guidance, the VAE); only the choice of tokens is scripted.

    python -m tests.app_helpers /tmp/tiny     # from the repository root; then: python app.py --checkpoint /tmp/tiny

The tests import this module as `app_helpers` (pytest puts tests/ on the path); scripts run from
the repository root import it as `tests.app_helpers` (benchmarks/load.py).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import torch

from transfusion.checkpoint import Checkpoint
from transfusion.config import preset
from transfusion.model import Transfusion
from transfusion.tokenizer import train_tokenizer
from transfusion.vae import build_vae

WORDS = ("a small large red blue green yellow orange purple pink cyan circle square triangle diamond "
         "in the top left right corner at bottom center on white black gray background how many shapes "
         "are there what color is where make it move remove add bigger smaller change to one two three").split()
SCRIPTED_REPLY = "a red circle"
REPO = Path(__file__).resolve().parents[1]
# seconds each denoising step of a stubbed server takes on top of its own time: the tests mean the
# same with it 10x smaller or larger (APP_TEST_STEP_DELAY=0.003 or 0.3), as on faster or slower hardware
STEP_DELAY = float(os.environ.get("APP_TEST_STEP_DELAY", "0.03"))


def scripted_checkpoint(path: str | Path, reply: str = SCRIPTED_REPLY, seed: int = 0) -> Path:
    """Save a tiny checkpoint (random weights) to `path` whose greedy reply to anything is an
    image, then `reply`."""
    rng = random.Random(seed)
    tokenizer = train_tokenizer([" ".join(rng.choice(WORDS) for _ in range(10)) for _ in range(2000)], vocab_size=320)
    torch.manual_seed(seed)
    config = preset("tiny", vocab_size=tokenizer.vocab_size)
    model = Transfusion(config).eval()
    words = tokenizer.encode(reply)
    if len(set(words)) != len(words):
        raise ValueError(f"the scripted reply {reply!r} must not repeat a token")
    chain = [tokenizer.assistant_id, tokenizer.eoi_id, *words]  # token k is followed by token k + 1
    targets = [tokenizer.boi_id, *words, tokenizer.eos_id]
    with torch.no_grad():
        model.lm_head.weight[:, :len(chain)] = 0
        for k, (token, target) in enumerate(zip(chain, targets)):
            # a large one-hot embedding dominates the residual stream (the random blocks add ~0.2),
            # so the final norm gives ~sqrt(D) * e_k and only `target` has a weight on e_k
            model.embed.weight[token] = 0
            model.embed.weight[token, k] = 10.0
            model.lm_head.weight[target, k] = 1.0
    Checkpoint(model, tokenizer, build_vae(config.vae).eval()).save_pretrained(path)
    return Path(path)


def resend(history: list) -> list:
    """A chat history that gradio_client returned, ready to send back: its files wrapped with
    `handle_file` (the client uploads them again)."""
    from gradio_client import handle_file

    out = []
    for m in history:
        content = []
        for p in m["content"]:
            if p.get("type") == "component":
                p = {**p, "value": handle_file(p["value"]["path"] if isinstance(p["value"], dict) else p["value"])}
            elif p.get("type") == "file":
                p = {**p, "file": handle_file(p["file"]["path"] if isinstance(p["file"], dict) else p["file"])}
            content.append(p)
        out.append({"role": m["role"], "content": content})
    return out


def setting_values(names: tuple[str, ...], settings: dict) -> list:
    """The values of `settings` in the order of `names` (`CHAT_SETTINGS` or `EDIT_SETTINGS` of
    transfusion/app/handlers.py): what the app's events take after the seed and "randomize"."""
    return [settings[name] for name in names]


def wait_until(condition, what: str, timeout: float = 60.0) -> None:
    """Poll `condition()` until it holds; `timeout` only bounds a hang (then TimeoutError names `what`)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.02)


class Gate:
    """A file that a stubbed server's model stalls on while it exists (tests/stub_app.py)."""

    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def closed(self):
        """Inside the block, the model stalls after the step it is on (and keeps reporting that step,
        so the app can still stop it); when the block ends it moves on."""
        self.path.touch()
        try:
            yield
        finally:
            self.path.unlink(missing_ok=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """`python app.py ARGS` on a free local port, in a subprocess; a context manager.

        with AppServer(["--checkpoint", ckpt]) as server:
            Client(server.url)

    With `stub=True` it runs `python -m tests.stub_app ARGS` instead: the same app, on a model
    whose every denoising step takes `STEP_DELAY` seconds longer, is logged as "stub: step i/n",
    and stalls while `server.gate` is closed.
    """

    def __init__(self, args: list[str], timeout: float = 120.0, env: dict | None = None, stub: bool = False):
        self.args, self.timeout, self.env, self.stub = [str(a) for a in args], timeout, env or {}, stub
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"

    @property
    def log(self) -> str:
        """What the server has printed so far (stdout and stderr)."""
        return Path(self.log_file.name).read_text(errors="replace")

    def wait_for(self, text: str, start: int = 0, timeout: float = 60.0) -> None:
        """Wait until the log shows `text` after its first `start` characters; `timeout` only bounds a hang."""
        deadline = time.monotonic() + timeout
        while text not in self.log[start:]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{text!r} is not in the server's log:\n{self.log[start:][-3000:]}")
            time.sleep(0.02)

    def __enter__(self) -> "AppServer":
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1", **self.env}
        # a file, not a pipe: a pipe nobody reads fills up and stops the server
        self.log_file = tempfile.NamedTemporaryFile("w+", prefix="app-", suffix=".log", delete=False)
        program = [str(REPO / "app.py")]
        if self.stub:
            self.gate = Gate(Path(self.log_file.name).with_suffix(".gate"))
            env |= {"APP_TEST_STEP_DELAY": str(STEP_DELAY), "APP_TEST_GATE": str(self.gate.path)}
            program = ["-m", "tests.stub_app"]  # from the repository root, as a namespace package
        self.proc = subprocess.Popen([sys.executable, *program, *self.args, "--host", "127.0.0.1",
                                      "--port", str(self.port)], cwd=REPO, env=env,
                                     stdout=self.log_file, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.proc.returncode}:\n{self.log}")
            try:
                with urllib.request.urlopen(self.url + "config", timeout=2):
                    return self
            except OSError:
                time.sleep(0.3)
        self.__exit__(None, None, None)
        raise TimeoutError(f"app.py did not answer on {self.url} within {self.timeout:.0f} s:\n{self.log}")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()

    def rss_mib(self) -> float:
        """The server's resident memory now, in MiB (Linux)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc: resident memory is measured on Linux only")


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a tiny checkpoint whose replies are scripted (for trying the app's wiring).")
    parser.add_argument("out", help="folder to write the checkpoint to")
    parser.add_argument("--reply", default=SCRIPTED_REPLY, help="the words that follow the image in every reply")
    args = parser.parse_args()
    print(scripted_checkpoint(args.out, args.reply))


if __name__ == "__main__":
    main()
