"""The package installs like one: every console script in pyproject.toml names a callable that
imports, the dependencies are requirements.txt's pins, and the evaluator runs as a module."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SCRIPTS = PYPROJECT["project"]["scripts"]


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_console_script_names_an_importable_callable(name):
    module_name, _, attr = SCRIPTS[name].partition(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attr, None)), f"{name} = {SCRIPTS[name]!r}: no callable {attr!r}"


def test_dependencies_are_requirements_txt():
    """One place for the pins: pyproject reads requirements.txt, whose first pin is torch's."""
    assert "dependencies" in PYPROJECT["project"]["dynamic"]
    assert "dependencies" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}
    pins = [line for line in (REPO / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert pins[0].startswith("torch==")
    assert all("==" in pin and not pin.startswith("-") for pin in pins)  # setuptools reads no pip options


def test_licence_file_is_shipped():
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]


@pytest.mark.parametrize("module", ["transfusion.evaluation", "transfusion.evaluation.vae"])
def test_evaluators_run_as_modules(module):
    proc = subprocess.run([sys.executable, "-m", module, "--help"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: python -m {module} ")
