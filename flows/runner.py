"""Run the library's job steps as Prefect tasks: coarse ones (plan, read, commit, publish), so ten
years of daily files do not become thousands of task runs. The reading is one task per chunk of
deliveries on a Dask cluster, or one task that spreads the chunks over local processes. Whatever
runs the reading, plan, commit and publish run in the flow's own process: the one writer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.cluster import DaskCluster, each_on_dask
from pipeline.run.ledger import RunSummary
from pipeline.run.runner import Runner

T = TypeVar("T")
A = TypeVar("A")


class PrefectRunner(Runner):
    """Steps as tasks. With a Dask `cluster`, each call of `each` becomes a task of its own there
    (and carries no secrets); else one task runs them over `workers` local processes."""

    def __init__(self, workers: int = 1, cluster: DaskCluster | None = None) -> None:
        super().__init__(None, workers)
        self.cluster = cluster
        self.remote = cluster is not None

    # Inputs are DataFrames and a DuckDB connection: nothing to cache on, and hashing them fails.
    def step(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        return task(name=name, cache_policy=NO_CACHE)(fn)(*args)

    def each(self, name: str, fn: Callable[[A], T], calls: Sequence[A]) -> list[T]:
        if self.cluster is None:
            return self.step(name, super().each, name, fn, calls)
        return each_on_dask(self.cluster, name, fn, calls)


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
