"""The machine a benchmark ran on, named in its output: CPUs differ between these machines (an
Intel part with AVX-512 and AMX, an AMD EPYC with AVX2 only) and so do the figures."""

from __future__ import annotations

import contextlib
import platform
from pathlib import Path

import torch


def cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def describe() -> str:
    """'<CPU model>, <torch's CPU capability>, <threads> threads', e.g. for a benchmark's first line."""
    return f"{cpu_name()}, {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads"
