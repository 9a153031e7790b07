"""One run, in the order a delivery travels: start, plan, read (in parallel), commit (one writer), publish.

Flows (`flows/`) and the CLI compose `run`; they hold no logic of their own.

    run
      check_inputs            the landing folder is a folder; nothing is created before
      refuse_without_state    a lost state database is noticed, not built over (or rebuilt from the archive)
      recover.start           the run is recorded as started (`loopt`), before it reads anything
      recover.recover         earlier runs that never ended are recorded; what they left is removed
      plan.make_plan          what this run reads: the landing folder against the ledger
      tasks -> read_chunk     the deliveries in chunks, read side by side (processes or a Dask cluster)
      commit                  the unit of work: stage every source, record, commit in one transaction
      manifest.write          the archive's manifest: what a lost state database is rebuilt from
      publish                 a new BI file, switched in atomically
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from pipeline.core.landing import LandingFolderError, Scan, scan
from pipeline.core.ledger_values import RunKind, RunStatus, english
from pipeline.core.locking import writer_lock
from pipeline.core.settings import Settings
from pipeline.publish import LayoutError, check_layout, publish
from pipeline.run import manifest, recover, stage, state
from pipeline.run.errors import DiskFull, PipelineError, is_disk_full, one_line
from pipeline.run.ledger import RunSummary, record_run
from pipeline.run.plan import Plan, make_plan
from pipeline.run.read import ChunkResult, ChunkTask, chunks, read_chunk
from pipeline.run.runner import Progress, Runner
from pipeline.run.state import StateError
from pipeline.run.uow import UnitOfWork
from pipeline.run.versions import YearResult, YearTask, stage_year
from pipeline.sources import SOURCES

MB = 1 << 20


def check_inputs(settings: Settings) -> None:
    """Refuse a run before anything is written: the landing folder must be a readable folder, and
    everything the run would publish must be declared (`check_layout`)."""
    try:
        check_layout(state.SCHEMA)
    except LayoutError as problem:
        raise PipelineError(str(problem)) from None
    raw = settings.raw_dir
    if not raw.exists():
        raise PipelineError(f"landing folder {raw} does not exist")
    if not raw.is_dir():
        raise PipelineError(f"landing folder {raw} is a file, not a folder")
    # Its own files (key, lock, archive) would show up as deliveries, and the landing folder is the
    # source systems' (they clean it up): the warehouse lives elsewhere.
    landing, warehouse = Path(os.path.realpath(raw)), Path(os.path.realpath(settings.warehouse))
    if warehouse == landing or landing in warehouse.parents:
        raise PipelineError(
            f"the warehouse {settings.warehouse} is inside the landing folder {raw}: its own files (key, lock, "
            "archive) would be taken for deliveries; give a warehouse outside the landing folder"
        )


def tasks(settings: Settings, plan: Plan, key: bytes | None) -> list[ChunkTask]:
    """The plan's deliveries in chunks of about `chunk_mb`, one task each (`key` None: workers find it),
    the smallest source first: the writer stages it while the readers read the next, and the largest,
    staged last, has the machine's memory to itself.

    Paths are absolute: a worker on another machine, started in another folder, finds them the same
    (on shared storage mounted at the same place)."""
    found = [
        ChunkTask(
            chunk_id=f"{n:05d}-{items[0].source}",
            run_id=plan.run_id,
            source=items[0].source,
            items=tuple(items),
            raw_dir=settings.raw_dir.absolute(),
            archive_dir=settings.archive_dir.absolute(),
            versions_dir=settings.versions_dir.absolute(),
            warehouse=settings.warehouse.absolute(),
            key=key,
            max_invalid_share=settings.max_invalid_share,
            max_delivery_bytes=settings.max_delivery_mb * MB,
            read_timeout_s=settings.read_timeout_s,
        )
        for n, items in enumerate(chunks(plan.items, settings.chunk_mb * MB))
    ]
    size: Counter[str] = Counter()
    for item in plan.items:
        size[item.source] += item.size
    return sorted(found, key=lambda task: (size[task.source], list(SOURCES).index(task.source)))


def checked_keys(results: Iterable[ChunkResult], key: bytes) -> Iterator[ChunkResult]:
    """The chunks as they come, each checked to be pseudonymised with the writer's key: hashes from two
    keys never meet."""
    mine = state.key_fingerprint(key)
    for result in results:
        if result.key_fingerprint != mine:
            raise PipelineError(
                f"chunk {result.chunk_id} was read with another personal-data key than this run's: give every "
                "worker the same PIPELINE_PII_KEY, PIPELINE_PII_KEY_BLOCK or key file as the machine that commits"
            )
        yield result


def commit(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    plan: Plan,
    results: Iterable[ChunkResult],
    expected: Mapping[str, int],
    summary: RunSummary,
    key: bytes,
    each_year: stage.EachYear = stage.in_this_process,
) -> RunSummary:
    """Stage, merge and aggregate every source and record the deliveries, in one transaction.

    `results` may still be coming in (`expected` chunks per source): a source is staged as soon as
    all its chunks are read, while the readers go on with the next source. The last source is staged
    once the readers have ended (the loop asks `results` once more), so that their memory is not
    held beside the writer's largest year."""
    with UnitOfWork(con, settings, plan, expected, summary, key, each_year) as work:
        for result in results:
            work.add(result)
            if work.reading:
                work.stage_complete()
        work.stage_rest()
        return work.commit()


def run(
    settings: Settings,
    kind: RunKind | str,
    years: Iterable[int] | None = None,
    progress: Progress | None = None,
    runner: Runner | None = None,
    rebuild_from_archive: bool = False,
) -> RunSummary:
    """One whole run (nightly or backfill) under the writer lock: plan, read, commit, publish.

    A failed run is recorded in the run ledger and leaves the data and the published file as they were.
    `rebuild_from_archive` (a backfill): a new state database's ledger comes from the archive's manifest.
    `kind` is a `RunKind` or its command's name (`nightly`, `backfill`).
    """
    kind = RunKind.of(kind)
    check_inputs(settings)
    manifest.refuse_without_state(settings, rebuild_from_archive)
    runner = runner or Runner(progress, settings.workers)
    key = settings.hmac_key()
    with writer_lock(settings), state.connect(settings, rebuilding=kind is RunKind.BACKFILL) as con:
        summary = recover.start(con, kind)
        with _recorded(con, summary):
            plan = _plan(con, settings, summary, key, years, runner, rebuild_from_archive)
            chunked = tasks(settings, plan, None if runner.remote else key)
            results = checked_keys(runner.stream("read", read_chunk, chunked), key)
            expected = Counter(task.source for task in chunked)
            each_year = _years_on(runner)
            runner.writer_step("commit", commit, con, settings, plan, results, expected, summary, key, each_year)
        manifest.write(con, settings, summary.run_id, state.key_fingerprint(key))
        _publish(con, settings, summary, runner)
    return summary


def _plan(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    summary: RunSummary,
    key: bytes,
    years: Iterable[int] | None,
    runner: Runner,
    rebuild_from_archive: bool,
) -> Plan:
    """Check the state database, clean up after earlier runs, and decide what this run reads."""
    state.check_key(con, key)
    state.limit_memory(con, settings)
    if rebuild_from_archive:
        manifest.seed(con, settings, state.key_fingerprint(key))
    recover.recover(con, settings, summary, key)
    plan = runner.step("plan", make_plan, con, _scan(settings), summary.kind, years, settings, summary.run_id)
    if not plan.full and _missing_staged(con, settings):
        raise StateError(
            "staged files the state database names are missing: run a whole 'pipeline backfill' (without "
            "--from/--to) to stage every delivery anew from the archive"
        )
    return plan


@contextmanager
def _recorded(con: duckdb.DuckDBPyConnection, summary: RunSummary) -> Iterator[None]:
    """The run's end in the run ledger: completed, or failed and why (a full disk named as one)."""
    try:
        yield
        summary.status = RunStatus.DONE
    except Exception as problem:
        summary.status, summary.message = RunStatus.FAILED, f"{type(problem).__name__}: {problem}"[:1000]
        if is_disk_full(problem) and not isinstance(problem, PipelineError):
            raise DiskFull(f"{english(summary.kind)} failed, nothing was changed: {one_line(problem)}") from problem
        raise
    finally:
        summary.ended = dt.datetime.now(dt.UTC)
        with suppress(Exception):  # a database that cannot take the row has failed the run itself
            record_run(con, summary)


def _missing_staged(con: duckdb.DuckDBPyConnection, settings: Settings) -> bool:
    named = con.execute("SELECT bestand FROM partities").fetchall()
    return any(not (settings.versions_dir / path).is_file() for (path,) in named)


def _years_on(runner: Runner) -> stage.EachYear:
    """Years of a whole backfill decided side by side, where the readers read."""

    def each_year(tasks: Sequence[YearTask]) -> list[YearResult]:
        return runner.each("decide", stage_year, tasks)

    return each_year


def _publish(con: duckdb.DuckDBPyConnection, settings: Settings, summary: RunSummary, runner: Runner) -> None:
    try:
        runner.step("publish", publish, con, settings)
    except Exception as problem:
        reason = one_line(problem)
        summary.status, summary.message = RunStatus.NOT_PUBLISHED, f"publishing failed: {reason}"[:1000]
        with suppress(Exception):  # the disk may be full: the ledger says what it can
            record_run(con, summary)
        raise PublishFailed(
            f"the run's deliveries and figures are committed to {settings.state_db.name}, but publishing "
            f"{settings.warehouse} failed ({reason}); the published file is as it was: run again to publish"
        ) from problem


def _scan(settings: Settings) -> Scan:
    try:
        return scan(settings.raw_dir)
    except LandingFolderError as problem:
        raise PipelineError(str(problem)) from None


class PublishFailed(PipelineError):
    """The run committed its work but could not switch in a new published file."""
