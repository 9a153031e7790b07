"""Reading on a Dask cluster: the task runner of a run, and the one Prefect API its workers report to.

prefect-dask sends Prefect's settings context along with every task. A worker whose context names
no API (`PREFECT_API_URL`) starts a temporary Prefect server of its own, which costs each worker
process half a minute and leaves its task runs where no one sees them. So the flow makes sure the
context names the API the flow run itself uses: a real server (set `PREFECT_API_URL`), or else the
temporary server of its own process (started once by `prefect_api`, or by Prefect for a flow called
without an API). That temporary server listens on 127.0.0.1 only: workers on other machines need a
real server.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import as_completed
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect_dask.task_runners import DaskTaskRunner

T = TypeVar("T")
A = TypeVar("A")

# Prefect's own default (20 s) is not enough for its temporary server on a busy machine.
SERVER_STARTUP_TIMEOUT_S = 120


class ClusterChoice(ValueError):
    """Both an existing cluster and a local one were asked for, or a number of workers below 1."""


@dataclass(frozen=True)
class DaskCluster:
    """Where the reading runs: an existing scheduler (`address`, e.g. tcp://host:8786), or a cluster
    of `workers` local processes started for the run and stopped after it."""

    address: str | None = None
    workers: int | None = None

    @staticmethod
    def of(address: str | None, workers: int | None) -> DaskCluster | None:
        """The cluster asked for, or None: read in local processes as without Dask."""
        if address and workers is not None:
            raise ClusterChoice("give either a Dask scheduler's address or a number of local Dask workers, not both")
        if workers is not None and workers < 1:
            raise ClusterChoice(f"a local Dask cluster needs at least 1 worker, not {workers}")
        return DaskCluster(address or None, workers) if address or workers is not None else None

    def task_runner(self) -> DaskTaskRunner:
        if self.address:
            # By address, never `cluster=`: prefect-dask then fails to pickle the tasks.
            return DaskTaskRunner(address=self.address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": self.workers,
                "threads_per_worker": 1,  # a reader holds the GIL part of the time: processes, not threads
                "processes": True,
                "dashboard_address": None,
            }
        )


@contextmanager
def prefect_api(startup_timeout_s: int = SERVER_STARTUP_TIMEOUT_S) -> Iterator[str]:
    """A Prefect API for the flow runs in this block and for their tasks on Dask workers.

    With `PREFECT_API_URL` set (a real server): that one. Else Prefect's temporary server, started
    here once (with a startup timeout a busy machine survives) and named in `PREFECT_API_URL` for
    the block, so that the flow and every worker use it instead of starting their own.
    """
    found = PREFECT_API_URL.value()
    if found:
        yield str(found)
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start(timeout=startup_timeout_s)
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            try:
                yield server.api_url
            finally:
                # Hand over the last logs and events while the server still listens: after it has
                # stopped, Prefect would retry them for more than a minute at exit.
                APILogWorker.drain_all(timeout=10)
                EventsWorker.drain_all(timeout=10)
    finally:
        server.stop()


@contextmanager
def api_for_workers() -> Iterator[None]:
    """Inside a flow run: name the run's own API in the settings that travel with each task, also
    when this process found it without `PREFECT_API_URL` (Prefect's temporary server)."""
    if PREFECT_API_URL.value():
        yield
        return
    context = FlowRunContext.get()
    if context is None:
        yield
        return
    with temporary_settings(updates={PREFECT_API_URL: str(context.client.api_url)}):
        yield


def each_on_dask(cluster: DaskCluster, name: str, fn: Callable[[A], T], calls: Sequence[A]) -> list[T]:
    """`fn(call)` for every call as a Prefect task on the cluster, results in the order given.

    The first call that fails stops the rest and is raised here as it was raised on its worker.
    """
    (parameter,) = inspect.signature(fn).parameters
    as_task = task(name=name, cache_policy=NO_CACHE)(fn)
    with api_for_workers(), cluster.task_runner() as runner:
        futures = [
            runner.submit(
                as_task.with_options(task_run_name=f"{name} {getattr(call, 'chunk_id', index)}"), {parameter: call}
            )
            for index, call in enumerate(calls)
        ]
        try:
            for future in as_completed(futures):
                future.result()
        except Exception:
            _stop_the_rest(runner.client, [future.wrapped_future for future in futures])
            raise
        except BaseException:
            for future in futures:
                future.wrapped_future.cancel()
            raise
        return [future.result() for future in futures]


def _stop_the_rest(client: Any, futures: list[Any]) -> None:
    """Calls not yet handed to a worker never start; those a worker holds are waited for (a running
    call cannot be stopped), so that none writes into the run's staging folder after it is removed.
    (`client` and `futures`: Dask's, whose methods carry no types.)"""
    held = {key for keys in client.processing().values() for key in keys}
    for future in futures:
        if future.key not in held:
            future.cancel()
    for future in futures:
        if future.key in held:
            with suppress(Exception):
                future.result()
