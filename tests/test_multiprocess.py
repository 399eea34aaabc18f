"""Data-parallel training, run the way users run it: `accelerate launch --multi_gpu
--num_processes 2` (on this CPU the two processes join over gloo).

Two processes with half the batch each must end where one process with the whole batch ends
(the same documents, the same noise per document, the loss averaged over the whole batch, one
schedule step per optimizer step); the difference left is float summation order, about 2e-7 on
weights of size 1 after three steps, so the tolerance is 1e-5."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from training_helpers import train_args, train_tiny_vae
from transfusion import train
from transfusion.training.loop import micro_batch_indices

ROOT = Path(__file__).resolve().parents[1]
STATE_FILES = ("model.safetensors", "ema.safetensors", "optimizer.safetensors")
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def vae_dir(tmp_path_factory):
    return train_tiny_vae(tmp_path_factory.mktemp("vae"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(processes: int, args: list[str]) -> None:
    """`accelerate launch` of `transfusion.train` on `processes` processes of one thread each."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(free_port()), "-m", "transfusion.train", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"{processes} processes" in done.stdout, done.stdout[-2000:]  # they joined one run


def states(run: Path) -> dict[str, dict[str, torch.Tensor]]:
    return {name: load_file(run / "state" / name) for name in STATE_FILES}


def assert_close(a: dict, b: dict, names, atol: float, rtol: float = 0.0) -> None:
    for name in names:
        assert a[name].keys() == b[name].keys()
        for k in a[name]:
            diff = float((a[name][k] - b[name][k]).abs().max())
            assert torch.allclose(a[name][k], b[name][k], rtol=rtol, atol=atol), (name, k, diff)


def test_two_processes_with_half_the_batch_end_where_one_with_all_of_it_does(vae_dir, tmp_path):
    launch(2, train_args(vae_dir, tmp_path / "two", 3, batch_size=2))
    train.main(train_args(vae_dir, tmp_path / "one", 3, batch_size=4))
    two, one = states(tmp_path / "two"), states(tmp_path / "one")
    assert_close(two, one, ["model.safetensors", "ema.safetensors"], TOLERANCE)
    # Adam's moments: the second is a square of gradients, far smaller than the weights
    assert_close(two, one, ["optimizer.safetensors"], atol=TOLERANCE ** 2, rtol=1e-3)
    logged = [json.loads(line) for line in (tmp_path / "two" / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in logged] == [1, 2, 3]  # one process writes the log
    expected = [json.loads(line)["lr"] for line in (tmp_path / "one" / "log.jsonl").read_text().splitlines()]
    assert [row["lr"] for row in logged] == expected  # one schedule step per optimizer step
    meta = [json.loads((tmp_path / run / "state" / "state.json").read_text()) for run in ("one", "two")]
    assert meta[0]["step"] == meta[1]["step"] == 3 and meta[0]["scheduler"] == meta[1]["scheduler"]


def test_a_two_process_run_resumes_where_it_stopped(vae_dir, tmp_path):
    launch(2, train_args(vae_dir, tmp_path / "straight", 4, batch_size=2))
    launch(2, train_args(vae_dir, tmp_path / "broken", 2, batch_size=2))
    launch(2, train_args(vae_dir, tmp_path / "broken", 4, "--resume", batch_size=2))
    assert_close(states(tmp_path / "straight"), states(tmp_path / "broken"), STATE_FILES, atol=0.0)
    log = [json.loads(line)["step"] for line in (tmp_path / "broken" / "log.jsonl").read_text().splitlines()]
    assert log == [1, 2, 3, 4]


@pytest.mark.parametrize("world, grad_accum", [(1, 1), (2, 1), (3, 2), (4, 3)])
def test_the_processes_read_disjoint_parts_that_cover_the_stream(world, grad_accum):
    steps, batch = 5, 3
    read = [i for step in range(steps) for micro in range(grad_accum) for rank in range(world)
            for i in micro_batch_indices(step, micro, rank, world, batch, grad_accum)]
    assert sorted(read) == list(range(steps * grad_accum * world * batch))  # each index once, none skipped
    # two processes read, in a step, what one process reads with the whole batch
    if world == 2 and grad_accum == 1:
        for step in range(steps):
            halves = [*micro_batch_indices(step, 0, 0, 2, batch), *micro_batch_indices(step, 0, 1, 2, batch)]
            assert halves == list(micro_batch_indices(step, 0, 0, 1, 2 * batch))
