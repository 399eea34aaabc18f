"""A report of guarded sections, written as Markdown and JSON after every change.

`benchmarks/gpu_check.py` runs on a borrowed GPU under a hard time limit, so the report must
survive the run being killed and one check breaking: every section is listed from the start
(status "pending" until it runs), each runs inside `Report.run`, which records an exception
with its traceback instead of letting it end the run, and the files are rewritten (atomically)
whenever a section starts, finishes or saves a partial result.

    report = Report(path, "GPU check", [("env", "Environment"), ("flex", "Flex against dense")])
    with report.run("env") as s:
        s.data["torch"] = torch.__version__
        s.done("torch 2.13")          # or s.fail("why"), s.skip("why"); an exception: "error"
"""

from __future__ import annotations

import json
import os
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable

PENDING, RUNNING, PASSED, FAILED, ERROR, SKIPPED = "pending", "running", "passed", "failed", "error", "skipped"
STATUSES = (PENDING, RUNNING, PASSED, FAILED, ERROR, SKIPPED)
# what each status means, printed at the top of the Markdown report
MEANINGS = {
    PENDING: "not reached: the run ended before this section",
    RUNNING: "started, not finished: the run ended inside this section",
    PASSED: "ran, and its checks held",
    FAILED: "ran, and a check did not hold (see the summary)",
    ERROR: "raised an exception (traceback below)",
    SKIPPED: "not run here, for the reason given",
}


@dataclass
class Section:
    """One check: its status, a one-line summary, its data (JSON values) and Markdown lines."""

    key: str
    title: str
    status: str = PENDING
    summary: str = ""
    reason: str = ""  # why it was skipped
    seconds: float | None = None
    data: dict = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # the section's Markdown body
    traceback: str = ""
    on_change: Callable[[], None] | None = field(default=None, repr=False, compare=False)  # the report's save

    def done(self, summary: str) -> None:
        self.status, self.summary = PASSED, summary

    def fail(self, summary: str) -> None:
        self.status, self.summary = FAILED, summary

    def skip(self, reason: str) -> None:
        self.status, self.reason, self.summary = SKIPPED, reason, f"skipped: {reason}"

    def save(self) -> None:
        """Write the report now, with what this section holds so far."""
        if self.on_change is not None:
            self.on_change()

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "on_change"}


class Report:
    def __init__(self, path: str | Path, title: str, sections: list[tuple[str, str]], header: dict | None = None):
        self.path = Path(path)
        self.json_path = self.path.with_suffix(".json")
        self.title = title
        self.header = dict(header or {})
        self.sections = {key: Section(key, name, on_change=self.save) for key, name in sections}
        self.started = time.time()
        self.save()

    def __getitem__(self, key: str) -> Section:
        return self.sections[key]

    @contextmanager
    def run(self, key: str):
        """Run one section: time it, keep any exception (and its traceback) in the report,
        write the report, and print the section's one-line summary."""
        s = self.sections[key]
        s.status = RUNNING
        self.save()
        t0 = time.perf_counter()
        try:
            yield s
            if s.status == RUNNING:
                raise RuntimeError("the section ended without a verdict (done, fail or skip)")
        except Exception as e:  # noqa: BLE001: a broken section is recorded, and the others still run
            s.status, s.summary, s.traceback = ERROR, f"{type(e).__name__}: {e}", traceback.format_exc()
        finally:
            s.seconds = round(time.perf_counter() - t0, 2)
            self.save()
            number = list(self.sections).index(key) + 1
            print(f"[{number}/{len(self.sections)}] {s.title}: {s.status} ({s.seconds:.1f} s) {s.summary}", flush=True)

    def to_dict(self) -> dict:
        return {"title": self.title, "header": self.header, "seconds": round(time.time() - self.started, 1),
                "sections": [s.to_dict() for s in self.sections.values()]}

    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        out += [f"- {k}: {v}" for k, v in self.header.items()]
        out += [f"- wall time so far: {time.time() - self.started:.0f} s", ""]
        out += ["| # | section | status | seconds | summary |", "| --- | --- | --- | ---: | --- |"]
        for n, s in enumerate(self.sections.values(), 1):
            seconds = "" if s.seconds is None else f"{s.seconds:.1f}"
            out.append(f"| {n} | {s.title} | {s.status} | {seconds} | {s.summary.replace('|', '/')} |")
        out += ["", "Statuses: " + "; ".join(f"**{k}** {v}" for k, v in MEANINGS.items()) + ".", ""]
        for n, s in enumerate(self.sections.values(), 1):
            out += [f"## {n}. {s.title}", "", f"**{s.status}**" + (f": {s.summary}" if s.summary else ""), ""]
            if s.lines:
                out += [*s.lines, ""]
            if s.traceback:
                out += ["```", s.traceback.rstrip(), "```", ""]
        return "\n".join(out)

    def save(self) -> None:
        """Write both files, each through a temporary file, so a killed run leaves whole ones."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for path, text in ((self.path, self.markdown()), (self.json_path, json.dumps(self.to_dict(), indent=2, default=str))):
            staging = path.with_name(path.name + ".part")
            staging.write_text(text + "\n")
            os.replace(staging, path)
