"""Run the library's job steps as Prefect tasks: coarse ones (plan, read, commit, publish), so ten
years of daily files do not become thousands of task runs. The reading is one task per chunk of
deliveries on a Dask cluster, or one task that spreads the chunks over local processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from pipeline.run.ledger import RunSummary
from pipeline.run.runner import Runner

T = TypeVar("T")
A = TypeVar("A")


class PrefectRunner(Runner):
    """Steps as tasks. `distributed`: the flow's task runner is a Dask cluster, so each call of
    `each` becomes a task of its own there; else one task runs them over `workers` local processes."""

    def __init__(self, workers: int = 1, distributed: bool = False) -> None:
        super().__init__(None, workers)
        self.distributed = distributed
        self.local = Runner(None, workers)

    # Inputs are DataFrames and a DuckDB connection: nothing to cache on, and hashing them fails.
    def step(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        return task(name=name, cache_policy=NO_CACHE)(fn)(*args)

    def stream(self, name: str, fn: Callable[[A], T], calls: Sequence[A]) -> Iterator[T]:
        yield from self.each(name, fn, calls)

    def each(self, name: str, fn: Callable[[A], T], calls: Sequence[A]) -> list[T]:
        if not self.distributed:
            return self.step(name, self.local.each, name, fn, calls)
        as_task = task(name=name, cache_policy=NO_CACHE)(fn)
        futures = [
            as_task.with_options(task_run_name=f"{name} {getattr(call, 'chunk_id', index)}").submit(call)
            for index, call in enumerate(calls)
        ]
        return [future.result() for future in futures]


def summary_artifact(summary: RunSummary) -> None:
    """The run ledger's row, as a Prefect artifact of the flow run."""
    lines = [
        f"# {summary.kind} {summary.run_id}: {summary.status}",
        "",
        "| | |",
        "|---|---:|",
        f"| deliveries processed | {summary.processed} |",
        f"| deliveries rejected | {summary.rejected} |",
        f"| files ignored | {summary.ignored} |",
        f"| rows read | {summary.rows_read} |",
        f"| valid rows | {summary.rows_valid} |",
        f"| rows quarantined | {summary.rows_quarantined} |",
        f"| partitions recomputed | {summary.partitions} |",
    ]
    lines += [f"\nRejected `{name}`: {reason}" for name, reason in summary.rejected_files]
    create_markdown_artifact("\n".join(lines), key=f"run-{summary.kind}", description="Run ledger")
