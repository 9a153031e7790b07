"""Run one task in a child process and measure it: wall time, and the peak memory of its process tree.

The pipeline reads with worker processes (a forkserver and its workers are the child's descendants),
so the memory that matters is the sum over the whole tree, not the child's own. A thread here samples
the resident set size (RSS) of the child and every descendant every `interval` seconds (psutil, which
reads /proc/<pid>/statm) and keeps the largest sum. Two things to know when reading the figure:

- RSS counts pages shared between processes once per process (a forkserver's imported modules in
  every worker, shared libraries), so the sum overstates what the tree holds; for a ceiling such as
  "under 4 GiB" it errs on the safe side.
- a peak shorter than the interval can fall between samples. As a check the kernel's own high-water
  mark of the largest single process (`ru_maxrss` from `wait4`) is kept beside it: the tree's peak can
  never really be below it, and where the sampled sum is, the sampling missed a spike.

The same samples give the tree's CPU time (user + system of every process as last seen, or the
kernel's account from `wait4` where that is larger): on a busy machine it moves less than wall time
does, so it helps to read a noisy run.

Wall time runs from starting the child to reaping it: interpreter start and imports included, as a
user waits for them. The child reports the time of the measured call alone (`work_s`) besides.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import psutil

from bench.cases import ROOT

GIB: Final = 1 << 30
INTERVAL_S: Final = 0.05


@dataclass
class Measurement:
    """One child process: what it reported and what was measured from outside."""

    label: str
    wall_s: float
    peak_rss: int  # bytes: the largest sum of RSS over the process tree in one sample
    peak_processes: int  # processes in the tree at that sample
    max_process_rss: int  # bytes: the kernel's high-water mark of the largest single process
    cpu_s: float  # user + system time of every process in the tree, as last sampled
    samples: int
    sample_cost_s: float  # mean time one sample took (the sampler's own cost, on the same cores)
    returncode: int
    result: dict[str, Any] = field(default_factory=dict)
    log: Path | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and "error" not in self.result

    @property
    def work_s(self) -> float | None:
        value = self.result.get("work_s")
        return float(value) if value is not None else None

    @property
    def error(self) -> str | None:
        if self.ok:
            return None
        return str(self.result.get("error") or f"exit code {self.returncode} (see {self.log})")

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "wall_s": self.wall_s,
            "work_s": self.work_s,
            "peak_rss": self.peak_rss,
            "peak_processes": self.peak_processes,
            "max_process_rss": self.max_process_rss,
            "cpu_s": self.cpu_s,
            "samples": self.samples,
            "sample_cost_s": self.sample_cost_s,
            "returncode": self.returncode,
            "error": self.error,
            "result": self.result,
        }


def _children_proc(pid: int) -> list[int] | None:
    """The pids of `pid`'s children from /proc/<pid>/task/<tid>/children (every thread's: a child
    belongs to the thread that forked it); None where the kernel has no such file."""
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []  # gone
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found += [int(child) for child in handle.read().split()]
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue  # the thread ended
            return None
        except OSError:
            continue
    return found


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and its descendants until stopped.

    Descendants are found through the children files of /proc, which costs a few reads per process
    in the tree; psutil's `children(recursive=True)` reads the status of every process on the
    machine instead, some 20 ms a sample on a busy one (where it is needed, it is the fallback)."""

    def __init__(self, pid: int, interval: float = INTERVAL_S) -> None:
        super().__init__(daemon=True, name=f"rss-{pid}")
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.peak_processes = 0
        self.samples = 0
        self.busy_s = 0.0
        self._stop_event = threading.Event()
        self._known: dict[int, psutil.Process] = {pid: self.root}
        self._cpu: dict[int, float] = {}
        self._proc_children = _children_proc(pid) is not None

    @property
    def cpu_s(self) -> float:
        return sum(self._cpu.values())

    def _tree(self) -> list[psutil.Process]:
        if not self._proc_children:
            return [self.root, *self.root.children(recursive=True)]
        pids, tree = [self.root.pid], []
        while pids:
            pid = pids.pop()
            process = self._known.get(pid)
            if process is None:
                try:
                    process = self._known[pid] = psutil.Process(pid)
                except psutil.NoSuchProcess:
                    continue
            tree.append(process)
            pids += _children_proc(pid) or []
        return tree

    def sample(self) -> None:
        started = time.perf_counter()
        try:
            tree = self._tree()
        except psutil.NoSuchProcess:
            return
        total = processes = 0
        for process in tree:
            # a known Process object is checked against pid reuse by psutil (its creation time)
            known = self._known.setdefault(process.pid, process)
            try:
                total += known.memory_info().rss
                times = known.cpu_times()
                self._cpu[process.pid] = times.user + times.system
                processes += 1
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
        if total > self.peak:
            self.peak, self.peak_processes = total, processes
        self.samples += 1
        self.busy_s += time.perf_counter() - started

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_task(
    task: dict[str, Any],
    work: Path,
    label: str,
    interval: float = INTERVAL_S,
    command: Sequence[str] | None = None,
) -> Measurement:
    """Run `python -m bench.child` on `task` (or `command`) in a new process and measure it; its output
    goes to `work/<label>.log`, the measurement to `work/<label>.measured.json`."""
    work.mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
    task_file, result_file, log = work / f"{slug}.task.json", work / f"{slug}.result.json", work / f"{slug}.log"
    task_file.write_text(json.dumps(task, default=str))
    result_file.unlink(missing_ok=True)
    env = os.environ | {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    # Linux hands a child this process's high-water mark when it starts: below it, the child's own
    # figure cannot be told from ours, and is not reported (0).
    inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with log.open("wb") as out:
        started = time.perf_counter()
        child = subprocess.Popen(
            command or [sys.executable, "-m", "bench.child", str(task_file), str(result_file)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        sampler = TreeSampler(child.pid, interval)
        sampler.start()
        # wait4, not wait: its resource usage carries the kernel's high-water mark of the largest
        # process among the child and the descendants it reaped
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        sampler.stop()
    child.returncode = os.waitstatus_to_exitcode(status)
    try:
        result: dict[str, Any] = json.loads(result_file.read_text())
    except (OSError, ValueError):
        result = (
            {} if command and child.returncode == 0 else {"error": f"no result (exit {child.returncode}); see {log}"}
        )
    measured = Measurement(
        label=label,
        wall_s=wall,
        peak_rss=sampler.peak,
        peak_processes=sampler.peak_processes,
        max_process_rss=usage.ru_maxrss * 1024 if usage.ru_maxrss * 1024 > inherited else 0,  # KiB on Linux
        cpu_s=max(sampler.cpu_s, usage.ru_utime + usage.ru_stime),
        samples=sampler.samples,
        sample_cost_s=sampler.busy_s / max(sampler.samples, 1),
        returncode=child.returncode,
        result=result,
        log=log,
    )
    (work / f"{slug}.measured.json").write_text(json.dumps(measured.as_dict() | {"task": task}, default=str))
    return measured
