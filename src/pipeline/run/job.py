"""One run, in the order a delivery travels: plan, read, stage and merge, figures, ledger, publish.

Flows (`flows/`) and the CLI compose `run`; they hold no logic of their own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core import db
from pipeline.core.contract import Source
from pipeline.core.locking import writer_lock
from pipeline.core.periods import Partitions
from pipeline.core.settings import Settings
from pipeline.publish import publish
from pipeline.run import checks, landing, state
from pipeline.run.figures import compute
from pipeline.run.ledger import AFGEWEZEN, GENEGEERD, MISLUKT, VERVANGEN, VERWERKT, VOLTOOID, RunSummary, record_run
from pipeline.run.read import BatchRead, read_batch
from pipeline.run.runner import Progress, Runner
from pipeline.run.versions import current_versions
from pipeline.sources import SOURCES


@dataclass(frozen=True)
class Plan:
    """What one run will do: which files are new deliveries, which replace an earlier delivery."""

    run_id: str
    kind: str
    full: bool
    years: tuple[int, ...] | None
    files: list[landing.LandedFile]
    hashes: dict[str, str]
    new: dict[str, list[str]]
    replaced: dict[str, list[str]]
    ignored: list[landing.LandedFile]

    @property
    def has_work(self) -> bool:
        return self.full or any(self.new.values()) or any(self.replaced.values())


def plan(settings: Settings, con: duckdb.DuckDBPyConnection, kind: str, years: Iterable[int] | None = None) -> Plan:
    """Scan the landing folder and decide what is new. A backfill takes every delivery again."""
    files = landing.scan(settings.raw_dir)
    known = {
        (path, size, mtime): sha
        for path, size, mtime, sha in con.execute(
            "SELECT bestand, grootte_bytes, gewijzigd_ns, sha256 FROM leveringen"
        ).fetchall()
    }
    hashes = landing.content_hashes(settings.raw_dir, files, known)
    full = kind == "backfill"
    # What a path holds now, as far as the ledger knows. A path's content is new when it differs
    # from that, also when it returns to content the path held before (A -> B -> A).
    current = {
        path: sha
        for path, sha in con.execute("SELECT bestand, sha256 FROM leveringen WHERE status <> ?", [VERVANGEN]).fetchall()
    }
    new: dict[str, list[str]] = {name: [] for name in SOURCES}
    replaced: dict[str, list[str]] = {name: [] for name in SOURCES}
    for f in files:
        if f.source is None or not (full or current.get(f.path) != hashes[f.path]):
            continue
        new[f.source].append(f.path)
        if not full and f.path in current:
            replaced[f.source].append(f.path)
    ignored = [f for f in files if f.source is None and (full or current.get(f.path) != hashes[f.path])]
    return Plan(
        run_id=dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8],
        kind=kind,
        full=full,
        years=tuple(sorted(set(years))) if years is not None else None,
        files=files,
        hashes=hashes,
        new=new,
        replaced=replaced,
        ignored=ignored,
    )


def read_chunks(plan: Plan) -> list[tuple[str, str, list[str]]]:
    """New deliveries grouped per source and export year: coarse units of work, not one per file."""
    by_path = {f.path: f for f in plan.files}
    chunks: dict[tuple[str, str], list[str]] = {}
    for source, paths in plan.new.items():
        for path in paths:
            day = by_path[path].export_day
            chunks.setdefault((source, str(day.year) if day else "-"), []).append(path)
    return [(source, period, paths) for (source, period), paths in sorted(chunks.items())]


def read_source(settings: Settings, source: str, paths: list[str], key: bytes) -> BatchRead:
    """Read the new deliveries of one source (pure: reads files, writes nothing)."""
    return read_batch(SOURCES[source], settings.raw_dir, paths, key, settings.max_invalid_share)


def combine(reads: list[BatchRead]) -> dict[str, BatchRead]:
    """One read per source (every source present, empty if it had nothing new)."""
    combined = {}
    for name, source in SOURCES.items():
        mine = [r for r in reads if r.source == name]
        combined[name] = BatchRead.concat(name, mine) if mine else read_batch(source, Path("."), [], b"-", 1.0)
    return combined


def _merge(
    con: duckdb.DuckDBPyConnection, source: Source, read: BatchRead, replaced: list[str], full: bool
) -> Partitions:
    """Stage the new versions and bring the current records up to date; return the days touched."""
    versions, current, id_col = source.versions_table, source.current_table, source.id_column
    if full:
        before = db.frame(con, f"SELECT DISTINCT datum FROM {current}")
        con.execute(f"DELETE FROM {versions}")
        con.execute(f"DELETE FROM {current}")
        db.insert(con, versions, read.rows)
        after = current_versions(source, read.rows)
        db.insert(con, current, after)
        return Partitions.of(before["datum"]) | Partitions.of(after["datum"])

    with db.registered(con, "_replaced", db.paths(replaced)):
        old = db.frame(con, f"SELECT {id_col} FROM {versions} WHERE bestand IN (SELECT bestand FROM _replaced)")
        con.execute(f"DELETE FROM {versions} WHERE bestand IN (SELECT bestand FROM _replaced)")
    db.insert(con, versions, read.rows)
    ids = pl.concat([read.rows[id_col], old[id_col]])
    if ids.is_empty():
        return Partitions.of([])
    before = db.ids_in(con, current, id_col, ids)
    after = current_versions(source, db.ids_in(con, versions, id_col, ids))
    db.delete_ids(con, current, id_col, ids)
    db.insert(con, current, after)
    return Partitions.of(before["datum"]) | Partitions.of(after["datum"])


def _refresh_figures(con: duckdb.DuckDBPyConnection, source: Source, parts: Partitions) -> int:
    """Recompute the touched day, month and year partitions of one source's figures."""
    if not parts:
        return 0
    first = dt.date(min(parts.years), 1, 1) - dt.timedelta(days=source.lookback_days)
    last = dt.date(max(parts.years), 12, 31)
    records = db.frame(con, f"SELECT * FROM {source.current_table} WHERE datum BETWEEN ? AND ?", [first, last])
    keys: dict[str, list[dt.date] | list[int]] = {
        "dag": sorted(parts.days),
        "maand": sorted(y * 100 + m for y, m in parts.months),
        "jaar": sorted(parts.years),
    }
    for part in compute(source, records, parts):
        db.replace_partitions(con, part.table, part.grain, keys[part.grain], part.frame)
    return len(parts.days) + len(parts.months) + len(parts.years)


def _chosen_days(years: tuple[int, ...]) -> Partitions:
    days = []
    for year in years:
        day = dt.date(year, 1, 1)
        while day.year == year:
            days.append(day)
            day += dt.timedelta(days=1)
    return Partitions.of(days)


def commit(con: duckdb.DuckDBPyConnection, plan: Plan, reads: dict[str, BatchRead], summary: RunSummary) -> RunSummary:
    """Stage, merge and aggregate every source, and record the deliveries, in one transaction."""
    now = dt.datetime.now(dt.UTC)
    with db.transaction(con):
        if plan.full:
            for table in ("quarantaine", "leveringen"):
                con.execute(f"DELETE FROM {table}")
        for name, source in SOURCES.items():
            read = reads[name]
            replaced = plan.replaced[name]
            with db.registered(con, "_replaced", db.paths(replaced)):
                con.execute("DELETE FROM quarantaine WHERE bestand IN (SELECT bestand FROM _replaced)")
            db.insert(con, "quarantaine", read.quarantine.with_columns(pl.lit(name).alias("bron")))
            parts = _merge(con, source, read, replaced, plan.full).widened(source.lookback_days)
            if plan.years is not None:
                parts = Partitions.of(d for d in parts.days if d.year in plan.years) | _chosen_days(plan.years)
            summary.partitions += _refresh_figures(con, source, parts)
            summary.years_recomputed = sorted(set(summary.years_recomputed) | parts.years)

        ledger = _ledger(plan, reads, now)
        if not plan.full:
            # What these paths held before is superseded; content a path held before and holds
            # again is recorded anew.
            with db.registered(con, "_ledger", ledger.select("bestand", "sha256")):
                con.execute(
                    "UPDATE leveringen SET status = ? WHERE bestand IN (SELECT bestand FROM _ledger) AND status <> ?",
                    [VERVANGEN, VERVANGEN],
                )
                con.execute("DELETE FROM leveringen WHERE (bestand, sha256) IN (SELECT (bestand, sha256) FROM _ledger)")
        db.insert(con, "leveringen", ledger)

        summary.processed = ledger.filter(pl.col("status") == VERWERKT).height
        summary.rejected = ledger.filter(pl.col("status") == AFGEWEZEN).height
        summary.ignored = len(plan.ignored)
        summary.ignored_files = [f"{f.path} ({f.ignored_reason})" for f in plan.ignored]
        summary.rows_read = int(ledger["rijen"].fill_null(0).sum())
        summary.rows_valid = sum(r.rows.height for r in reads.values())
        summary.rows_quarantined = sum(r.quarantine.select("bestand", "regel").n_unique() for r in reads.values())
        summary.rejected_files = [
            (row["bestand"], row["reden"]) for row in ledger.filter(pl.col("status") == AFGEWEZEN).iter_rows(named=True)
        ]
        checks.reconcile(con)
        record_run(con, summary)
    return summary


def _ledger(plan: Plan, reads: dict[str, BatchRead], now: dt.datetime) -> pl.DataFrame:
    """One ledger row per file this run took in: deliveries read, and files that are not deliveries."""
    by_path = {f.path: f for f in plan.files}
    read = pl.concat([r.files.with_columns(pl.lit(n).alias("bron")) for n, r in reads.items()], how="diagonal")
    ignored = pl.DataFrame(
        {
            "bestand": [f.path for f in plan.ignored],
            "status": [GENEGEERD] * len(plan.ignored),
            "reden": [f.ignored_reason for f in plan.ignored],
        },
        schema={"bestand": pl.String, "status": pl.String, "reden": pl.String},
    )
    ledger = pl.concat([read, ignored], how="diagonal")
    return ledger.with_columns(
        pl.col("bestand").replace_strict(plan.hashes, return_dtype=pl.String).alias("sha256"),
        pl.Series("grootte_bytes", [by_path[p].size for p in ledger["bestand"]], dtype=pl.Int64),
        pl.Series("gewijzigd_ns", [by_path[p].mtime_ns for p in ledger["bestand"]], dtype=pl.Int64),
        pl.lit(plan.run_id).alias("run_id"),
        pl.lit(now).alias("gezien_op"),
    )


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
    runner = runner or Runner(progress)
    key = settings.hmac_key()
    with writer_lock(settings), state.connect(settings, rebuilding=kind == "backfill") as con:
        state.check_key(con, key)
        the_plan = runner.step("plan", plan, settings, con, kind, years)
        summary = RunSummary(the_plan.run_id, kind, dt.datetime.now(dt.UTC))
        try:
            if the_plan.has_work:
                chunks = read_chunks(the_plan)
                label = f"read {', '.join(sorted({c[0] for c in chunks}))}"
                reads = runner.each(label, read_source, [(settings, src, paths, key) for src, _, paths in chunks])
                runner.step("commit", commit, con, the_plan, combine(reads), summary)
            summary.status = VOLTOOID
        except Exception as problem:
            summary.status, summary.message = MISLUKT, f"{type(problem).__name__}: {problem}"[:1000]
            raise
        finally:
            summary.ended = dt.datetime.now(dt.UTC)
            record_run(con, summary)
        runner.step("publish", publish, con, settings.warehouse, settings.closed_days())
    return summary
