"""One run, in the order a delivery travels: plan, read (in parallel), commit (one writer), publish.

Flows (`flows/`) and the CLI compose `run`; they hold no logic of their own.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core import archive, db
from pipeline.core.landing_files import LandingFolderError, Scan, scan
from pipeline.core.locking import writer_lock
from pipeline.core.privacy import screen_message, screen_messages, screen_name, screen_names
from pipeline.core.settings import Settings
from pipeline.publish import LayoutError, check_layout, publish
from pipeline.run import checks, stage, state
from pipeline.run.ledger import (
    AFGEWEZEN,
    GENEGEERD,
    MISLUKT,
    NIET_GEPUBLICEERD,
    OVERGESLAGEN,
    VOLTOOID,
    Identity,
    RunSummary,
    record_deliveries,
    record_identities,
    record_quarantine,
    record_run,
)
from pipeline.run.plan import BACKFILL, KEEPS_COUNTING, WITHDRAWN_PRESENT, Plan, make_plan
from pipeline.run.read import FILE_SCHEMA, QUARANTINE_SCHEMA, ChunkResult, ChunkTask, chunks, read_chunk
from pipeline.run.runner import Progress, Runner
from pipeline.run.state import PipelineError
from pipeline.sources import SOURCES

MB = 1 << 20
RUN_FOLDER = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")  # a run's staging folder is named by its run_id


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


def _quarantine(results: Sequence[ChunkResult]) -> pl.DataFrame:
    parts = [r.quarantine.with_columns(pl.lit(r.source).alias("bron")) for r in results]
    return pl.concat([pl.DataFrame(schema=QUARANTINE_SCHEMA | {"bron": pl.String}), *parts], how="diagonal")


def commit(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    plan: Plan,
    results: Iterable[ChunkResult],
    expected: Mapping[str, int],
    summary: RunSummary,
) -> RunSummary:
    """Stage, merge and aggregate every source and record the deliveries, in one transaction.

    `results` may still be coming in (`expected` chunks per source): a source is staged as soon as
    all its chunks are read, while the readers go on with the next source."""
    now = dt.datetime.now(dt.UTC)
    done: list[ChunkResult] = []
    waiting = dict(expected)
    outcome = stage.Outcome()
    decisions: list[stage.Decision] = []
    withdrawn: list[tuple[str, str]] = []

    def stage_source(name: str) -> None:
        mine = [r for r in done if r.source == name]
        files = _read_files(plan, mine)
        decision = stage.decide(plan, files)
        # Withdrawn content read again because its file was touched: not counted, reported, and
        # recognised from now on without reading it.
        withdrawn.extend(
            (path, sha)
            for path, sha, here in files.select("bestand", "sha256", "van_landing").iter_rows()
            if here and (path, sha) in plan.withdrawn
        )
        stage.apply_source(con, plan, decision, SOURCES[name], mine, outcome)
        decisions.append(decision)

    with db.transaction(con):
        read: list[str] = []  # sources whose chunks are all in, not staged yet
        for result in results:
            done.append(result)
            waiting[result.source] -= 1
            if waiting[result.source] == 0:
                read.append(result.source)
            # The last source is staged once the readers have ended (the loop asks `results` once
            # more), so that their memory is not held beside the writer's largest year.
            if any(waiting.values()):
                while read:
                    stage_source(read.pop(0))
        for name in [*read, *(name for name in SOURCES if name not in expected)]:
            stage_source(name)
        decision = stage.Decision.combine(decisions)
        quarantine = _quarantine(done)
        unreadable = [(path, reason) for r in done for path, reason in r.unreadable]
        landing = {path: Identity(e.size, e.mtime_ns) for path, e in plan.landing.items()}
        not_read = [(n.path, GENEGEERD, n.reason) for n in plan.notices if n.kind == "genegeerd"]
        not_read += [(n.path, OVERGESLAGEN, n.reason) for n in plan.notices if n.kind == "overgeslagen"]
        not_read += [(path, OVERGESLAGEN, reason) for path, reason in unreadable]
        archive.sync()  # the blobs the readers kept are on disk before the ledger refers to them
        record_quarantine(con, decision.ledger, quarantine)
        record_deliveries(con, plan.run_id, now, decision.ledger, decision.superseded, landing, not_read)
        record_identities(con, [*withdrawn, *plan.same_content], landing)
        summary.partitions, summary.years_recomputed = outcome.partitions, sorted(outcome.years)
        if settings.retention_days is not None:
            horizon = now.date() - dt.timedelta(days=settings.retention_days)
            summary.retention_days = settings.retention_days
            summary.pseudonyms_removed = stage.erase_pseudonyms(con, horizon)
        _summarise(summary, plan, decision.ledger, quarantine, unreadable)
        summary.notices += [("ingetrokken_aanwezig", path, WITHDRAWN_PRESENT) for path, _ in withdrawn]
        _screen(summary, settings.hmac_key(create=False))  # the run's key: no task carries it
        summary.rows_valid = sum(r.rows for r in done)
        checks.reconcile(con, None if plan.full else outcome.touched)
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
    counted = {path: c.sha256 for path, c in plan.counted.items()}
    summary.rejected_files = [
        (path, (reason or "") + (KEEPS_COUNTING if counted.get(path, sha) != sha else ""))
        for path, sha, reason in read.filter(pl.col("status") == AFGEWEZEN)
        .select("bestand", "sha256", "reden")
        .iter_rows()
    ]
    notices = [(n.kind, n.path, n.reason) for n in plan.notices]
    notices += [("afgewezen", path, reason) for path, reason in summary.rejected_files]
    notices += [("overgeslagen", path, reason) for path, reason in unreadable]
    summary.notices = notices
    summary.ignored_files = [f"{path} ({reason})" for kind, path, reason in notices if kind == "genegeerd"]
    summary.ignored = len(summary.ignored_files)
    summary.skipped = sum(kind == "overgeslagen" for kind, _, _ in notices)


def _screen(summary: RunSummary, key: bytes) -> None:
    """What the run says of files, printed and kept in `meldingen`, with names screened for personal
    data (`bron_20200108_0611112222.csv`); the ledger keeps the real paths it recognises files by."""
    names = screen_names([path for _, path, _ in summary.notices], key)
    reasons = screen_messages([reason for _, _, reason in summary.notices], key)
    summary.notices = [(kind, names[path], reasons[reason]) for kind, path, reason in summary.notices]
    summary.rejected_files = [
        (screen_name(path, key), screen_message(reason, key)) for path, reason in summary.rejected_files
    ]
    summary.ignored_files = [screen_message(line, key) for line in summary.ignored_files]


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
        try:
            state.check_key(con, key)
            state.limit_memory(con, settings)
            plan = runner.step("plan", make_plan, con, _scan(settings), kind, years, settings)
        except Exception as problem:
            _record_refusal(con, kind, problem)
            raise
        summary = RunSummary(plan.run_id, kind, dt.datetime.now(dt.UTC))
        stage_dir = settings.staging_dir / plan.run_id
        _remove_leftovers(settings.staging_dir)
        try:
            chunked = tasks(settings, plan, None if runner.remote else key)
            expected = Counter(task.source for task in chunked)
            size: Counter[str] = Counter()
            for item in plan.items:
                size[item.source] += item.size
            # The smallest source first: the writer stages it while the readers read the next, and
            # the largest, staged last, has the machine's memory to itself.
            chunked.sort(key=lambda task: (size[task.source], list(SOURCES).index(task.source)))
            results = checked_keys(runner.stream("read", read_chunk, chunked), key)
            runner.step("commit", commit, con, settings, plan, results, expected, summary)
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
            summary.status, summary.message = NIET_GEPUBLICEERD, f"publishing failed: {reason}"[:1000]
            with suppress(Exception):  # the disk may be full: the ledger says what it can
                record_run(con, summary)
            raise PublishFailed(
                f"the run's deliveries and figures are committed to {settings.state_db.name}, but publishing "
                f"{settings.warehouse} failed ({reason}); the published file is as it was: run again to publish"
            ) from problem
    return summary


def _scan(settings: Settings) -> Scan:
    try:
        return scan(settings.raw_dir)
    except LandingFolderError as problem:
        raise PipelineError(str(problem)) from None


def _record_refusal(con: duckdb.DuckDBPyConnection, kind: str, problem: Exception) -> None:
    """A run that stops before its plan (another personal-data key, say) is in the run ledger too, so
    that `pipeline status` reports it instead of the last run that went well."""
    now = dt.datetime.now(dt.UTC)
    summary = RunSummary(now.strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8], kind, now, ended=now)
    summary.status, summary.message = MISLUKT, f"{type(problem).__name__}: {problem}"[:1000]
    with suppress(Exception):  # a database that cannot take the row has failed the run itself
        record_run(con, summary)


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
