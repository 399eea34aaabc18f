"""The GPU check's dry run: `python -m benchmarks.gpu_check --tiny --device cpu` end to end on the
CPU, in a subprocess as the GPU machine runs it, and its report; and the report's guarding."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.check_report import ERROR, FAILED, PASSED, PENDING, SKIPPED, Report
from benchmarks.gpu_check import SECTIONS

REPO = Path(__file__).resolve().parents[1]


def dry_run_of(report: Path, blocked: str | None = None):
    """(the finished process, the Markdown report, the JSON report) of `python -m benchmarks.gpu_check
    --tiny --device cpu`; with `blocked`, that module cannot be imported (as on a machine without it)."""
    args = ["--tiny", "--device", "cpu", "--report", str(report)]
    program = ["-m", "benchmarks.gpu_check", *args] if blocked is None else \
        ["-c", f"import runpy, sys; sys.modules[{blocked!r}] = None; sys.argv = ['gpu_check', *{args!r}]; "
               "runpy.run_module('benchmarks.gpu_check', run_name='__main__')"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "GRADIO_ANALYTICS_ENABLED": "False"}
    # the timeout only bounds a hang; the run's speed is not what is tested
    proc = subprocess.run([sys.executable, *program], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    markdown = report.read_text() if report.exists() else ""
    data = json.loads(report.with_suffix(".json").read_text()) if report.with_suffix(".json").exists() else {}
    return proc, markdown, data


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    return dry_run_of(tmp_path_factory.mktemp("gpu-check") / "report.md")


def sections(data) -> dict:
    return {s["key"]: s for s in data["sections"]}


def test_the_dry_run_exits_cleanly_and_writes_both_reports(dry_run):
    proc, markdown, data = dry_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert markdown.startswith("# GPU check") and data["title"] == "GPU check"
    for n, (_, title) in enumerate(SECTIONS, 1):
        assert f"## {n}. {title}" in markdown
        assert f"[{n}/{len(SECTIONS)}] {title}: " in proc.stdout  # a one-line summary per section, as it went


def test_every_section_passed_or_was_skipped_with_a_reason(dry_run):
    _, _, data = dry_run
    found = sections(data)
    assert list(found) == [key for key, _ in SECTIONS]
    for key, s in found.items():
        assert s["status"] in (PASSED, SKIPPED), f"{key}: {s['status']}: {s['summary']}\n{s['traceback']}"
        assert not s["traceback"]
        if s["status"] == SKIPPED:
            assert s["reason"]
        assert s["seconds"] is not None


def test_flex_and_dense_were_compared_and_compiles_counted(dry_run):
    found = sections(dry_run[2])
    flex = found["flex"]["data"]
    if found["flex"]["status"] == PASSED:
        assert flex["batch"]["images"] > 0 and flex["batch"]["padding tokens"] > 0
        for output in ("logits", "image prediction"):
            assert flex[f"fp32 {output}"]["pass"] and flex[f"fp32 {output}"]["max abs dense"] > 0
    if found["compile"]["status"] == PASSED:
        calls = found["compile"]["data"]["calls"]
        assert [c["compiles"] for c in calls if c["call"] == 2] == [0] * 6  # no repeated shape compiled again


def test_the_training_burst_reports_speed_and_mfu(dry_run):
    train = sections(dry_run[2])["train"]
    assert train["status"] == PASSED
    assert train["data"]["tokens/s (model)"] > 0 and 0 < train["data"]["mfu"]
    assert train["data"]["timed steps"] >= 1 and "6 N + 12 L D T" in "\n".join(train["lines"])


def test_the_int8_table_has_an_fp32_and_an_int8_column(dry_run):
    _, markdown, data = dry_run
    int8 = sections(data)["int8"]
    assert int8["status"] == PASSED
    table = [line for line in int8["lines"] if line.startswith("| capability")]
    assert table == ["| capability | measure | fp32 | int8 | cases |"]
    rows = [line for line in int8["lines"] if line.startswith("| text → image | exact scene, 1 object")]
    assert len(rows) == 1 and rows[0].count("%") == 2  # a score in each column
    assert int8["data"]["int8"]["weight MiB"] < int8["data"]["fp32"]["weight MiB"]
    assert table[0] in markdown


def test_the_app_answered_a_chat_and_an_edit_with_images(dry_run):
    app = sections(dry_run[2])["app"]
    assert app["status"] == PASSED
    chat, edit = app["data"]["chat"], app["data"]["edit"]
    assert chat["role"] == "assistant" and chat["images"] >= 1 and chat["text"]
    assert edit["images"] == 1 and edit["image size"] == [64, 64] and edit["instruction"]


def test_a_section_that_raises_is_recorded_and_the_next_still_runs(tmp_path):
    report = Report(tmp_path / "r.md", "check", [("a", "First"), ("b", "Second"), ("c", "Third")])
    assert [s["status"] for s in json.loads((tmp_path / "r.json").read_text())["sections"]] == [PENDING] * 3
    with report.run("a") as s:
        s.data["partial"] = 1
        s.save()
        during = json.loads((tmp_path / "r.json").read_text())["sections"][0]  # as a run killed now would leave it
        raise ZeroDivisionError("broken check")
    assert during["status"] == "running" and during["data"] == {"partial": 1}
    with report.run("b") as s:
        s.skip("no GPU here")
    saved = json.loads((tmp_path / "r.json").read_text())["sections"]
    assert [s["status"] for s in saved] == [ERROR, SKIPPED, PENDING]
    assert "ZeroDivisionError: broken check" in saved[0]["traceback"] and saved[1]["reason"] == "no GPU here"
    assert "broken check" in (tmp_path / "r.md").read_text()


def test_without_a_package_the_report_still_names_the_machine_and_each_sections_error(tmp_path):
    """As on a GPU machine that lacks diffusers: the run still writes its report; section 1
    names what is missing and every section that needs it records the ImportError."""
    proc, _, data = dry_run_of(tmp_path / "report.md", blocked="diffusers")
    assert proc.returncode == 1
    found = sections(data)
    assert found["env"]["status"] == FAILED and "missing: diffusers" in found["env"]["summary"]
    assert found["env"]["data"]["torch"]
    for key in ("flex", "compile", "train", "int8", "app"):
        assert found[key]["status"] == ERROR and "diffusers" in found[key]["summary"]
        assert "Traceback" in found[key]["traceback"]
