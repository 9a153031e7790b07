"""What the benchmark found, on the terminal and in `BENCHMARKS.md`: the machine, each case's table,
the targets and whether they were met."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import psutil

from bench.cases import ROOT
from bench.measure import GIB

LIBRARIES: Final = ("polars", "duckdb", "pandas", "pyarrow", "numpy", "prefect", "pandera", "psutil")
# Environment variables that change what the runs do or cost (keys and secrets are never shown).
ENVIRONMENT: Final = ("PIPELINE_", "POLARS_", "PYTHON", "OMP_", "DUCKDB_")
CHANGES_HEADING: Final = "## What each change bought"
CHANGES_PLACEHOLDER: Final = f"""{CHANGES_HEADING}

Profile before optimising; one line per change, with the run (date, commit) before and after, on the
same quiet machine. This section is kept when `make bench` rewrites the file.

- _(change)_: _(case, figure before -> after)_
- _(change)_: _(case, figure before -> after)_
"""


@dataclass
class Table:
    """A titled table, printed as aligned text and written as Markdown."""

    title: str
    header: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        widths = [max(len(str(cell)) for cell in column) for column in zip(self.header, *self.rows, strict=True)]

        def line(cells: Sequence[str]) -> str:
            first, *rest = cells
            return "  " + "  ".join(
                [str(first).ljust(widths[0]), *(str(c).rjust(w) for c, w in zip(rest, widths[1:], strict=True))]
            )

        out = [self.title, line(self.header), *(line(row) for row in self.rows)]
        return "\n".join(out + [f"  {note}" for note in self.notes])

    def markdown(self) -> str:
        out = [f"### {self.title}", "", "| " + " | ".join(self.header) + " |"]
        out.append("|" + "|".join(["---"] + ["---:"] * (len(self.header) - 1)) + "|")
        out += ["| " + " | ".join(str(c) for c in row) + " |" for row in self.rows]
        if self.notes:
            out += [""] + [f"{note}  " for note in self.notes]
        return "\n".join(out)


@dataclass(frozen=True)
class Check:
    """One target of the issue and what this run measured."""

    target: str
    measured: str
    met: bool | None  # None: could not be measured (a run failed or was left out)

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "MISS", None: "n/a"}[self.met]


def gib(value: float) -> str:
    return f"{value / GIB:.2f} GiB"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return f"{line.split('=', 1)[1].strip(chr(34))}, kernel {platform.release()}"
    except OSError:
        pass
    return platform.platform()


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def load_average() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def machine() -> list[tuple[str, str]]:
    """The machine the run is on, as (what, value) pairs; taken at the start of the run."""
    memory = psutil.virtual_memory()
    logical, physical = os.cpu_count() or 0, psutil.cpu_count(logical=False)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} -")
    settings = [
        f"{k}={v}"
        for k, v in sorted(os.environ.items())
        if k.startswith(ENVIRONMENT) and "KEY" not in k and k != "PYTHONPATH"
    ]
    dirty = " (with uncommitted changes)" if _git("status", "--porcelain", "--untracked-files=no") else ""
    return [
        ("date", dt.datetime.now().astimezone().isoformat(timespec="seconds")),
        ("commit", f"{_git('rev-parse', '--short', 'HEAD')} on {_git('rev-parse', '--abbrev-ref', 'HEAD')}{dirty}"),
        ("CPU", _cpu_model()),
        ("cores", f"{logical} logical, {physical} physical, {usable} usable by this process"),
        ("memory", f"{gib(memory.total)} total, {gib(memory.available)} available at the start"),
        ("OS", _os_name()),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("libraries", ", ".join(versions)),
        ("load average at the start (1 / 5 / 15 min)", load_average()),
        ("environment that changes the runs", ", ".join(settings) or "none (defaults)"),
    ]


def warnings_at_start() -> list[str]:
    """What makes this run's timings less telling: other work on the same cores, or imports compiled
    anew by every process."""
    found = []
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load >= max(1.0, cores / 2):
        found.append(
            f"The machine was busy (load average {load:.1f} on {cores} cores): other work shared the cores, so "
            "timings and ratios are noisy. Run again on a quiet machine before quoting them."
        )
    return found


def checks_table(checks: Sequence[Check]) -> Table:
    return Table("Targets", ("", "target", "measured"), [(c.verdict, c.target, c.measured) for c in checks])


def _kept_changes(path: Path) -> str:
    """The 'what each change bought' section of an earlier BENCHMARKS.md, else the placeholder."""
    if path.exists():
        text = path.read_text(encoding="utf-8")
        at = text.find(CHANGES_HEADING)
        if at >= 0:
            return text[at:].rstrip() + "\n"
    return CHANGES_PLACEHOLDER


def write_markdown(
    path: Path,
    command: str,
    facts: Sequence[tuple[str, str]],
    warnings: Sequence[str],
    tables: Sequence[Table],
    checks: Sequence[Check],
    how: str,
    ended_load: str,
) -> None:
    out = [
        "# Benchmarks",
        "",
        f"Written by `{command}` (`bench/`); every figure below is from that one run. "
        "Ratios are measured in the same run, on the same files, so the machine's speed cancels out; "
        "the load average says how much else the machine was doing.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {what} | {value} |" for what, value in facts),
        f"| load average at the end | {ended_load} |",
        "",
    ]
    out += [f"> **{w}**\n" for w in warnings]
    out += ["## Targets", "", "| | target | measured |", "|---|---|---|"]
    out += [f"| {c.verdict} | {c.target} | {c.measured} |" for c in checks]
    out += ["", "## Cases", ""]
    for table in tables:
        out += [table.markdown(), ""]
    out += ["## How it is measured", "", how.strip(), "", _kept_changes(path)]
    path.write_text("\n".join(out), encoding="utf-8")
