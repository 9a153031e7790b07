"""One run, in the order a delivery travels: plan, read (in parallel), commit (one writer), publish.

Flows (`flows/`) and the CLI compose `run`; they hold no logic of their own.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterable, Sequence
from contextlib import suppress
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core import archive, db
from pipeline.core.landing_files import LandingFolderError, scan
from pipeline.core.locking import writer_lock
from pipeline.core.settings import Settings
from pipeline.publish import publish
from pipeline.run import checks, stage, state
from pipeline.run.ledger import (
    AFGEWEZEN,
    GENEGEERD,
    MISLUKT,
    OVERGESLAGEN,
    VOLTOOID,
    Identity,
    RunSummary,
    record_deliveries,
    record_quarantine,
    record_run,
)
from pipeline.run.plan import BACKFILL, Plan, make_plan
from pipeline.run.read import FILE_SCHEMA, QUARANTINE_SCHEMA, ChunkResult, ChunkTask, chunks, read_chunk
from pipeline.run.runner import Progress, Runner
from pipeline.run.state import PipelineError

MB = 1 << 20
RUN_FOLDER = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")  # a run's staging folder is named by its run_id


def check_inputs(settings: Settings) -> None:
    """Refuse a run before anything is written: the landing folder must be a readable folder."""
    raw = settings.raw_dir
    if not raw.exists():
        raise PipelineError(f"landing folder {raw} does not exist")
    if not raw.is_dir():
        raise PipelineError(f"landing folder {raw} is a file, not a folder")


def tasks(settings: Settings, plan: Plan, key: bytes | None) -> list[ChunkTask]:
    """The plan's deliveries in chunks of about `chunk_mb`, one task each (`key` None: workers find it).

    Paths are absolute: a worker on another machine, started in another folder, finds them the same
    (on shared storage mounted at the same place)."""
    stage_dir = (settings.staging_dir / plan.run_id).absolute()
    return [
        ChunkTask(
            chunk_id=f"{n:05d}-{items[0].source}",
            source=items[0].source,
            items=tuple(items),
            raw_dir=settings.raw_dir.absolute(),
            archive_dir=settings.archive_dir.absolute(),
            stage_dir=stage_dir,
            warehouse=settings.warehouse.absolute(),
            key=key,
            max_invalid_share=settings.max_invalid_share,
            max_delivery_bytes=settings.max_delivery_mb * MB,
            read_timeout_s=settings.read_timeout_s,
        )
        for n, items in enumerate(chunks(plan.items, settings.chunk_mb * MB))
    ]


def _read_files(plan: Plan, results: Sequence[ChunkResult]) -> pl.DataFrame:
    """One row per content read, with its source and whether its bytes came from the landing folder."""
    from_landing = {i.path for i in plan.items if i.entry is not None}
    parts = [r.files.with_columns(pl.lit(r.source).alias("bron")) for r in results]
    files = pl.concat([pl.DataFrame(schema=FILE_SCHEMA | {"bron": pl.String}), *parts], how="diagonal")
    return files.with_columns(pl.col("bestand").is_in(list(from_landing)).alias("van_landing"))


def check_keys(results: Sequence[ChunkResult], key: bytes) -> None:
    """Every chunk was pseudonymised with the writer's key: hashes from two keys never meet."""
    other = sorted(r.chunk_id for r in results if r.key_fingerprint != state.key_fingerprint(key))
    if other:
        raise PipelineError(
            f"{len(other)} of {len(results)} chunks were read with another personal-data key than this "
            f"run's (first: {other[0]}): give every worker the same PIPELINE_PII_KEY, PIPELINE_PII_KEY_BLOCK "
            "or key file as the machine that commits"
        )


def _quarantine(results: Sequence[ChunkResult]) -> pl.DataFrame:
    parts = [r.quarantine.with_columns(pl.lit(r.source).alias("bron")) for r in results]
    return pl.concat([pl.DataFrame(schema=QUARANTINE_SCHEMA | {"bron": pl.String}), *parts], how="diagonal")


def commit(
    con: duckdb.DuckDBPyConnection, settings: Settings, plan: Plan, results: list[ChunkResult], summary: RunSummary
) -> RunSummary:
    """Stage, merge and aggregate every source and record the deliveries, in one transaction."""
    now = dt.datetime.now(dt.UTC)
    quarantine = _quarantine(results)
    unreadable = [(path, reason) for r in results for path, reason in r.unreadable]
    decision = stage.decide(plan, _read_files(plan, results))
    landing = {path: Identity(e.size, e.mtime_ns) for path, e in plan.landing.items()}
    not_read = [(n.path, GENEGEERD, n.reason) for n in plan.notices if n.kind == "genegeerd"]
    not_read += [(n.path, OVERGESLAGEN, n.reason) for n in plan.notices if n.kind == "overgeslagen"]
    not_read += [(path, OVERGESLAGEN, reason) for path, reason in unreadable]
    archive.sync()  # the blobs the readers kept are on disk before the ledger refers to them
    with db.transaction(con):
        outcome = stage.apply(con, plan, decision, results)
        record_quarantine(con, decision.ledger, quarantine)
        record_deliveries(con, plan.run_id, now, decision.ledger, decision.superseded, landing, not_read)
        summary.partitions, summary.years_recomputed = outcome.partitions, sorted(outcome.years)
        if settings.retention_days is not None:
            horizon = now.date() - dt.timedelta(days=settings.retention_days)
            summary.retention_days = settings.retention_days
            summary.pseudonyms_removed = stage.erase_pseudonyms(con, horizon)
        _summarise(summary, plan, decision.ledger, quarantine, unreadable)
        summary.rows_valid = sum(r.rows for r in results)
        checks.reconcile(con)
        record_run(con, summary)
    return summary


def _summarise(
    summary: RunSummary, plan: Plan, read: pl.DataFrame, quarantine: pl.DataFrame, unreadable: list[tuple[str, str]]
) -> None:
    statuses = read["status"].to_list()
    summary.processed = sum(s != AFGEWEZEN for s in statuses)
    summary.rejected = statuses.count(AFGEWEZEN)
    summary.rows_read = int(read["rijen"].fill_null(0).sum())
    summary.rows_quarantined = quarantine.select("bestand", "sha256", "regel").n_unique()
    summary.rejected_files = [
        (row["bestand"], row["reden"]) for row in read.filter(pl.col("status") == AFGEWEZEN).iter_rows(named=True)
    ]
    notices = [(n.kind, n.path, n.reason) for n in plan.notices]
    notices += [("afgewezen", path, reason or "") for path, reason in summary.rejected_files]
    notices += [("overgeslagen", path, reason) for path, reason in unreadable]
    summary.notices = notices
    summary.ignored_files = [f"{path} ({reason})" for kind, path, reason in notices if kind == "genegeerd"]
    summary.ignored = len(summary.ignored_files)
    summary.skipped = sum(kind == "overgeslagen" for kind, _, _ in notices)


def run(
    settings: Settings,
    kind: str,
    years: Iterable[int] | None = None,
    progress: Progress | None = None,
    runner: Runner | None = None,
) -> RunSummary:
    """One whole run (nightly or backfill) under the writer lock: plan, read, commit, publish.

    A failed run is recorded in the run ledger and leaves the data and the published file as they were.
    """
    check_inputs(settings)
    runner = runner or Runner(progress, settings.workers)
    key = settings.hmac_key()
    with writer_lock(settings), state.connect(settings, rebuilding=kind == BACKFILL) as con:
        state.check_key(con, key)
        state.limit_memory(con, settings)
        try:
            found = scan(settings.raw_dir)
        except LandingFolderError as problem:
            raise PipelineError(str(problem)) from None
        plan = runner.step("plan", make_plan, con, found, kind, years)
        summary = RunSummary(plan.run_id, kind, dt.datetime.now(dt.UTC))
        stage_dir = settings.staging_dir / plan.run_id
        _remove_leftovers(settings.staging_dir)
        try:
            work = tasks(settings, plan, None if runner.remote else key)
            results = runner.each("read", read_chunk, work) if plan.items else []
            check_keys(results, key)
            runner.step("commit", commit, con, settings, plan, results, summary)
            summary.status = VOLTOOID
        except Exception as problem:
            summary.status, summary.message = MISLUKT, f"{type(problem).__name__}: {problem}"[:1000]
            raise
        finally:
            summary.ended = dt.datetime.now(dt.UTC)
            record_run(con, summary)
            _remove(stage_dir)
        try:
            runner.step("publish", publish, con, settings)
        except Exception as problem:
            reason = f"{type(problem).__name__}: {problem}".splitlines()[0]
            summary.message = f"publishing failed: {reason}"[:1000]
            with suppress(Exception):  # the disk may be full: the ledger says what it can
                record_run(con, summary)
            raise PublishFailed(
                f"the run's deliveries and figures are committed to {settings.state_db.name}, but publishing "
                f"{settings.warehouse} failed ({reason}); the published file is as it was: run again to publish"
            ) from problem
    return summary


class PublishFailed(PipelineError):
    """The run committed its work but could not switch in a new published file."""


def _remove_leftovers(staging: Path) -> None:
    """Staging folders of earlier runs (a killed run, or a chunk a failed run could not stop on a
    cluster): under the writer lock no other run is using them. DuckDB's spill folder stays."""
    if staging.is_dir():
        for folder in staging.iterdir():
            if RUN_FOLDER.fullmatch(folder.name):
                shutil.rmtree(folder, ignore_errors=True)


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    if folder.parent.is_dir() and not any(folder.parent.iterdir()):
        folder.parent.rmdir()
