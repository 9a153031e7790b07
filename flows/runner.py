"""Run the library's job steps as Prefect tasks: coarse ones (plan, read, commit, publish), so ten
years of daily files do not become thousands of task runs. The reading is one task per chunk of
deliveries on a Dask cluster, or one task that spreads the chunks over local processes. Whatever
runs the reading, plan, commit and publish run in the flow's own process: the one writer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.cluster import DaskCluster, each_on_dask
from pipeline import status
from pipeline.core.settings import Settings
from pipeline.run import RunSummary, run
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
        self.local = Runner(None, workers)

    # Inputs are DataFrames and a DuckDB connection: nothing to cache on, and hashing them fails.
    def step(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        return task(name=name, cache_policy=NO_CACHE)(fn)(*args)

    # The commit runs in the flow itself, not as a task: it hands out the years of a backfill as
    # tasks of their own (a task started inside another would carry that one's DuckDB connection).
    def writer_step(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    def stream(self, name: str, fn: Callable[[A], T], calls: Sequence[A]) -> Iterator[T]:
        # Local processes: as the CLI reads, each chunk to the writer as it is read, so that the writer
        # stages a source while the next is read. A cluster: the chunks as tasks there.
        if self.cluster is None:
            return self.local.stream(name, fn, calls)
        return iter(self.each(name, fn, calls))

    def each(self, name: str, fn: Callable[[A], T], calls: Sequence[A]) -> list[T]:
        if self.cluster is None:
            return self.step(name, self.local.each, name, fn, calls)
        return each_on_dask(self.cluster, name, fn, calls)


class StatusProblems(Exception):
    """The run went through, but `pipeline status` finds the warehouse in a state to act on."""


def checked_run(
    settings: Settings,
    kind: str,
    years: Iterable[int] | None = None,
    cluster: DaskCluster | None = None,
    judge: bool = True,
    rebuild_from_archive: bool = False,
) -> RunSummary:
    """The run, then the judgement of `pipeline status` on the warehouse: the flow run's artifact shows
    both, and the flow run fails when the run failed or status finds a problem (a stale source, a
    rejected delivery, missing days), so that the Prefect UI shows what cron's exit code would.
    `judge=False`: the caller judges (the CLI, whose `pipeline status` is a command of its own)."""
    summary: RunSummary | None = None
    failure: Exception | None = None
    try:
        runner = PrefectRunner(settings.workers, cluster)
        summary = run(settings, kind, years, runner=runner, rebuild_from_archive=rebuild_from_archive)
    except Exception as problem:
        failure = problem
    health = status.check(settings) if judge else status.Health()
    for line in health.problems:
        print(f"problem: {line}")
    summary_artifact(kind, summary, failure, health.problems)
    if failure is not None:
        raise failure
    if health.problems:
        raise StatusProblems("; ".join(health.problems))
    assert summary is not None
    return summary


def summary_artifact(
    kind: str, summary: RunSummary | None, failure: Exception | None = None, problems: Sequence[str] = ()
) -> None:
    """The run ledger's row, why the run failed, and what `pipeline status` finds, as a Prefect artifact."""
    lines = []
    if summary is not None:
        lines += [
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
    if failure is not None:
        lines += [f"# {kind}: failed", "", f"{type(failure).__name__}: {failure}"]
    if problems:
        lines += ["", "## Problems (pipeline status)", "", *(f"- {line}" for line in problems)]
    create_markdown_artifact("\n".join(lines), key=f"run-{kind}", description="Run ledger and status")
