"""How a job's steps are run: directly, with the reading spread over processes (the CLI), or as
Prefect tasks (the flows pass their own runner, which may hand the reading to a Dask cluster)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, TypeVar

Progress = Callable[[str, int, int], None]
T = TypeVar("T")
A = TypeVar("A")


class Runner:
    """Runs the steps of a job in this process; `stream` spreads independent calls over `workers`
    processes (Polars and the readers release the GIL only in part, so threads would queue)."""

    # True when `each` sends its calls over the network to workers elsewhere (a Dask cluster): then
    # the calls carry no secrets, and the workers find the personal-data key themselves.
    remote = False

    def __init__(self, progress: Progress | None = None, workers: int = 1) -> None:
        self.progress = progress
        self.workers = workers

    def step(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    def writer_step(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        """A step of the one writer that may hand work out itself (through `each`)."""
        return fn(*args)

    def _report(self, name: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(name, done, total)

    def stream(self, name: str, fn: Callable[[A], T], calls: Sequence[A]) -> Iterator[T]:
        """`fn(call)` for every call, yielded as each completes, so the caller can go on with the first
        results while the rest are computed. Calls and results must be picklable."""
        self._report(name, 0, len(calls))
        if self.workers <= 1 or len(calls) <= 1:
            for done, call in enumerate(calls, 1):
                yield fn(call)
                self._report(name, done, len(calls))
            return
        # forkserver: workers start from a clean process, never from a copy of one with Polars' threads;
        # the server imports the main module and the readers once, and every worker inherits them
        # (so a script that runs the pipeline needs the usual `if __name__ == "__main__":` guard).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["__main__", "pipeline.run.read", "pipeline.run.versions"])
        workers = min(self.workers, len(calls))
        with _polars_threads(workers):  # the forkserver, started by the first pool, keeps this setting
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
            futures = [pool.submit(fn, call) for call in calls]
        try:
            for done, future in enumerate(as_completed(futures), 1):
                yield future.result()
                self._report(name, done, len(calls))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # a failure stops what has not started

    def each(self, name: str, fn: Callable[[A], T], calls: Sequence[A]) -> list[T]:
        """`fn(call)` for every call; the results in the order of the calls."""
        indexed = [(index, call) for index, call in enumerate(calls)]
        found = dict(self.stream(name, _Indexed(fn), indexed))
        return [found[index] for index in range(len(calls))]


@contextmanager
def _polars_threads(workers: int) -> Iterator[None]:
    """Worker processes started here share the machine's cores between them: each Polars thread
    pool as wide as the whole machine makes the workers' threads queue on one another (the sample's
    backfill over 2 workers on 2 cores: 55 -> 51 CPU s; over 1 process with 1 thread 52 -> 46).
    `POLARS_MAX_THREADS` set by the operator wins."""
    if "POLARS_MAX_THREADS" in os.environ:
        yield
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    os.environ["POLARS_MAX_THREADS"] = str(max(1, cores // max(workers, 1)))
    try:
        yield
    finally:
        del os.environ["POLARS_MAX_THREADS"]


class _Indexed:
    """`fn` that returns its call's index with its result (picklable, unlike a closure)."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, indexed: tuple[int, Any]) -> tuple[int, Any]:
        index, call = indexed
        return index, self.fn(call)
