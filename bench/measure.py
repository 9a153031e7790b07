"""Run one task in a child process and measure it: wall time, and the peak memory of its process tree.

The pipeline reads with worker processes (a forkserver and its workers are the child's descendants),
so the memory that matters is the sum over the whole tree, not the child's own. A thread here samples
the child and every descendant every `interval` seconds and keeps the largest sums of two figures:

- the resident set size (RSS, psutil from /proc/<pid>/statm). It counts pages shared between
  processes once per process (a forkserver's imported modules in every worker, shared libraries),
  so the sum overstates what the tree holds.
- the proportional set size (PSS, psutil from /proc/<pid>/smaps_rollup): each resident page divided
  by the number of processes that map it, so that summed over the tree a page it shares counts once.
  That is what the tree takes of the machine's memory. The kernel walks a process's page tables to
  give it (about 2 ms of CPU per GiB), so it is read at most every `PSS_INTERVAL_S`, and only when
  the sample's RSS sum is above the largest PSS sum so far: a process's PSS is never above its RSS,
  so no other sample can be a new peak.

A peak shorter than the interval can fall between samples. As a check the kernel's own high-water
mark of the largest single process (`ru_maxrss` from `wait4`) is kept beside it: the tree's peak RSS
can never really be below it, and where the sampled sum is, the sampling missed a spike. The peak of
every process of the tree (its role, RSS and PSS) and the RSS of each over time are kept with the
measurement (`<label>.timeline.json`), to see which process holds what when.

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
# PSS costs the kernel a walk of every page table (~2 ms of CPU per GiB mapped, on the cores the
# measured run uses): read at most this often. The peaks that matter last seconds (a year staged).
PSS_INTERVAL_S: Final = 0.2


@dataclass
class Measurement:
    """One child process: what it reported and what was measured from outside."""

    label: str
    wall_s: float
    peak_rss: int  # bytes: the largest sum of RSS over the process tree in one sample
    peak_processes: int  # processes in the tree at that sample
    peak_pss: int  # bytes: the largest sum of PSS over the process tree in one sample (0: not readable)
    max_process_rss: int  # bytes: the kernel's high-water mark of the largest single process
    cpu_s: float  # user + system time of every process in the tree, as last sampled
    samples: int
    sample_cost_s: float  # mean time one sample took (the sampler's own cost, on the same cores)
    returncode: int
    result: dict[str, Any] = field(default_factory=dict)
    log: Path | None = None
    processes: list[dict[str, Any]] = field(default_factory=list)  # per process: role, pid, peak RSS and PSS

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
            "peak_pss": self.peak_pss,
            "max_process_rss": self.max_process_rss,
            "cpu_s": self.cpu_s,
            "samples": self.samples,
            "sample_cost_s": self.sample_cost_s,
            "returncode": self.returncode,
            "error": self.error,
            "result": self.result,
            "processes": self.processes,
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


def _pss(process: psutil.Process) -> int | None:
    """The process's PSS in bytes, None where the kernel does not give it (no smaps)."""
    try:
        return int(process.memory_full_info().pss)
    except (AttributeError, psutil.AccessDenied):
        return None


def _role(process: psutil.Process, root: int) -> str:
    """What a process of the tree is, for the per-process peaks: the case's own process, the
    multiprocessing forkserver, a worker it forked (its command line is the forkserver's), ..."""
    if process.pid == root:
        return "main"
    try:
        line = " ".join(process.cmdline())
        parent = process.ppid()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return "?"
    if "resource_tracker" in line:
        return "resource tracker"
    if "forkserver" in line:
        return "forkserver" if parent == root else "worker"
    return process.name()


class TreeSampler(threading.Thread):
    """Samples the summed RSS and PSS of a process and its descendants until stopped.

    Descendants are found through the children files of /proc, which costs a few reads per process
    in the tree; psutil's `children(recursive=True)` reads the status of every process on the
    machine instead, some 20 ms a sample on a busy one (where it is needed, it is the fallback)."""

    def __init__(self, pid: int, interval: float = INTERVAL_S) -> None:
        super().__init__(daemon=True, name=f"rss-{pid}")
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.peak_processes = 0
        self.peak_pss = 0
        self.pss_readable = True
        self._pss_read_at = -PSS_INTERVAL_S
        self.samples = 0
        self.busy_s = 0.0
        self.started = time.perf_counter()
        self.timeline: list[tuple[float, dict[int, int]]] = []  # (seconds since start, RSS per pid)
        self.per_process: dict[int, dict[str, Any]] = {}  # pid: role, peak RSS, peak PSS
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

    def _seen(self, process: psutil.Process, rss: int, pss: int | None) -> None:
        mine = self.per_process.get(process.pid)
        if mine is None:
            mine = self.per_process[process.pid] = {"pid": process.pid, "role": _role(process, self.root.pid)}
            mine |= {"peak_rss": 0, "peak_pss": 0}
        mine["peak_rss"] = max(mine["peak_rss"], rss)
        if pss is not None:
            mine["peak_pss"] = max(mine["peak_pss"], pss)

    def sample(self) -> None:
        started = time.perf_counter()
        try:
            tree = self._tree()
        except psutil.NoSuchProcess:
            return
        resident: list[tuple[psutil.Process, int]] = []
        for process in tree:
            # a known Process object is checked against pid reuse by psutil (its creation time)
            known = self._known.setdefault(process.pid, process)
            try:
                resident.append((known, known.memory_info().rss))
                times = known.cpu_times()
                self._cpu[process.pid] = times.user + times.system
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
        total = sum(rss for _, rss in resident)
        if total > self.peak:
            self.peak, self.peak_processes = total, len(resident)
        # PSS <= RSS for every process: a sample whose RSS sum is not above the PSS peak cannot raise it
        proportional: dict[int, int | None] = {}
        if self.pss_readable and total > self.peak_pss and started - self._pss_read_at >= PSS_INTERVAL_S:
            self._pss_read_at = started
            for known, _ in resident:
                try:
                    proportional[known.pid] = _pss(known)
                except (psutil.NoSuchProcess, psutil.ZombieProcess):
                    proportional[known.pid] = 0  # gone since its RSS was read: it holds nothing now
            if any(value is None for value in proportional.values()):
                self.pss_readable, self.peak_pss = False, 0
            else:
                self.peak_pss = max(self.peak_pss, sum(v or 0 for v in proportional.values()))
        for known, rss in resident:
            self._seen(known, rss, proportional.get(known.pid))
        self.timeline.append((round(started - self.started, 3), {known.pid: rss for known, rss in resident}))
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
        peak_pss=sampler.peak_pss,
        max_process_rss=usage.ru_maxrss * 1024 if usage.ru_maxrss * 1024 > inherited else 0,  # KiB on Linux
        cpu_s=max(sampler.cpu_s, usage.ru_utime + usage.ru_stime),
        samples=sampler.samples,
        sample_cost_s=sampler.busy_s / max(sampler.samples, 1),
        returncode=child.returncode,
        result=result,
        log=log,
        processes=sorted(sampler.per_process.values(), key=lambda p: -int(p["peak_rss"])),
    )
    timeline = {"roles": {p["pid"]: p["role"] for p in measured.processes}, "samples": sampler.timeline}
    (work / f"{slug}.timeline.json").write_text(json.dumps(timeline))
    (work / f"{slug}.measured.json").write_text(json.dumps(measured.as_dict() | {"task": task}, default=str))
    return measured
