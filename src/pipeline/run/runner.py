"""How a job's steps are run: directly, with the reading spread over processes (the CLI), or as
Prefect tasks (the flows pass their own runner, which may hand the reading to a Dask cluster)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

Progress = Callable[[str, int, int], None]
T = TypeVar("T")
A = TypeVar("A")


class Runner:
    """Runs the steps of a job in this process; `each` spreads independent calls over `workers`
    processes (Polars and the readers release the GIL only in part, so threads would queue)."""

    # True when `each` sends its calls over the network to workers elsewhere (a Dask cluster): then
    # the calls carry no secrets, and the workers find the personal-data key themselves.
    remote = False

    def __init__(self, progress: Progress | None = None, workers: int = 1) -> None:
        self.progress = progress
        self.workers = workers

    def step(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    def _report(self, name: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(name, done, total)

    def each(self, name: str, fn: Callable[[A], T], calls: Sequence[A]) -> list[T]:
        """`fn(call)` for every call, in the order given. Results must be picklable."""
        self._report(name, 0, len(calls))
        if self.workers <= 1 or len(calls) <= 1:
            results = []
            for done, call in enumerate(calls, 1):
                results.append(fn(call))
                self._report(name, done, len(calls))
            return results
        # forkserver: workers start from a clean process, never from a copy of one with Polars' threads;
        # the server imports the main module and the readers once, and every worker inherits them.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["__main__", "pipeline.run.read"])
        found: dict[int, T] = {}
        with ProcessPoolExecutor(max_workers=min(self.workers, len(calls)), mp_context=context) as pool:
            futures = {pool.submit(fn, call): index for index, call in enumerate(calls)}
            for done, future in enumerate(as_completed(futures), 1):
                found[futures[future]] = future.result()
                self._report(name, done, len(calls))
        return [found[i] for i in range(len(calls))]
