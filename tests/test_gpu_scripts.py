"""The GPU lease scripts' training commands, read before a lease rather than during it: each script
is run here with a stand-in `python3` and `nvidia-smi` on PATH that record what they were asked,
and the recorded `transfusion.train` command is parsed by train.py's own parser and its mixture
checked against the world's tasks. A renamed flag or task then fails here, not on the GPU."""

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from transfusion import train
from transfusion.folder.source import FOLDER_MIXTURE
from transfusion.shapesworld import check_mixture

REPO = Path(__file__).resolve().parents[1]

STAND_IN = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["CALLS"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
"""  # not `env python3`: that would find itself


def calls_of(script: str, tmp_path: Path, env: dict[str, str]) -> list[list[str]]:
    """Every `python3` command line `script` ran, in a copy of what the device machine is given."""
    work, bin_dir, out = tmp_path / "work", tmp_path / "bin", tmp_path / "out"
    for folder in (work / "benchmarks", work / ".whl", work / ".whl-train", work / "data", bin_dir, out):
        folder.mkdir(parents=True)
    for shell_script in (REPO / "benchmarks").glob("*.sh"):  # the script and what it sources
        shutil.copy(shell_script, work / "benchmarks" / shell_script.name)
    with tarfile.open(work / "data" / "emoji.tgz", "w:gz"):
        pass  # an empty archive: the script unpacks it
    for tool in ("python3", "nvidia-smi"):
        (bin_dir / tool).write_text(STAND_IN)
        (bin_dir / tool).chmod(0o755)
    calls = tmp_path / "calls.jsonl"
    run_env = {**os.environ, **env, "PATH": f"{bin_dir}:{os.environ['PATH']}", "OUT": str(out), "CALLS": str(calls)}
    proc = subprocess.run(["bash", f"benchmarks/{script}"], cwd=work, env=run_env, capture_output=True, text=True, timeout=60)
    assert "train exit 0" in proc.stdout, proc.stdout + proc.stderr
    return [json.loads(line) for line in calls.read_text().splitlines()]


def train_args(calls: list[list[str]]):
    (command,) = [c for c in calls if c[:2] == ["-m", "transfusion.train"]]
    return train.parse_args(command[2:])


@pytest.mark.parametrize("grow", ["default", ""])
def test_the_shapesworld_lease_trains_with_flags_and_tasks_train_py_knows(tmp_path, monkeypatch, grow):
    env = {"CHECK_SECONDS": "0"} | ({} if grow == "default" else {"GROW": grow})
    calls = calls_of("gpu_run.sh", tmp_path, env)
    monkeypatch.chdir(REPO)  # the command's paths are the repository's
    args = train_args(calls)
    check_mixture(args.mixture)  # the parser built the source with it too
    assert args.init_from == Path("assets/model") and args.precision == "bf16" and args.time_limit == 4.0
    assert args.model == ({"dim": 384, "n_heads": 12, "n_layers": 10} if grow == "default" else {})
    assert not any(c[:2] == ["-m", "benchmarks.gpu_check"] for c in calls)  # CHECK_SECONDS=0 skips the check
    assert ["-m", "transfusion.reshard", "/tmp/stage/model", "/tmp/stage/half", "--dtype", "float16", "--max-shard-mb", "9"] in calls


def test_the_emoji_lease_trains_with_flags_and_tasks_train_py_knows(tmp_path, monkeypatch):
    calls = calls_of("gpu_run_emoji.sh", tmp_path, {"TRAIN_MINUTES": "6"})
    monkeypatch.chdir(REPO)
    asked = []  # the prepared folder is not here: what the parser would build the source from, instead
    monkeypatch.setattr(train, "make_source", lambda *a: asked.append(a))
    args = train_args(calls)
    assert asked == [("data/emoji", 4, args.mixture, "emoji")]
    assert set(args.mixture) <= set(FOLDER_MIXTURE)
    assert args.data == "data/emoji" and args.balance_by == "emoji" and args.time_limit == 6.0
    assert args.model == {"dim": 384, "n_heads": 12, "n_layers": 10}
