"""The pipeline's steps, in the order a delivery travels: plan, read, commit, publish.

Flows (`flows/`) and the CLI compose these steps; they hold no logic of their own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl

from pipeline import aggregate, checks, landing, rules, store
from pipeline.periods import Partitions
from pipeline.reading import AFGEWEZEN, GENEGEERD, VERVANGEN, VERWERKT, BatchRead, read_batch
from pipeline.settings import Settings
from pipeline.sources import SOURCES, Source
from pipeline.sources.common import local_day

Progress = Callable[[str, int, int], None]
T = TypeVar("T")

VERSIONS_TABLE = {"telefonie": "gesprek_versies", "afspraken": "afspraak_versies"}
CURRENT_TABLE = {"telefonie": "gesprekken", "afspraken": "afspraken"}


class PipelineError(Exception):
    """A run could not be done; the message is the one line the operator sees."""


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


@dataclass
class RunSummary:
    run_id: str
    kind: str
    started: dt.datetime
    ended: dt.datetime | None = None
    status: str = "bezig"
    processed: int = 0
    rejected: int = 0
    ignored: int = 0
    rows_read: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    partitions: int = 0
    years_recomputed: list[int] = field(default_factory=list)
    rejected_files: list[tuple[str, str]] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    message: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in vars(self).items()}


def key_fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"fingerprint:" + key).hexdigest()[:16]


def check_key(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Hashes from two keys cannot be compared: refuse to mix them in one warehouse."""
    found = store.first(con, "SELECT waarde FROM meta WHERE sleutel = 'hmac_key_fingerprint'")
    fingerprint = key_fingerprint(key)
    if found is None:
        con.execute("INSERT INTO meta VALUES ('hmac_key_fingerprint', ?)", [fingerprint])
    elif found[0] != fingerprint:
        raise PipelineError(
            "the personal-data key differs from the one this warehouse was built with; "
            "restore PIPELINE_PII_KEY (or the .key file) or run a backfill into a new warehouse"
        )


def plan(settings: Settings, con: duckdb.DuckDBPyConnection, kind: str, years: Iterable[int] | None = None) -> Plan:
    """Scan the landing folder and decide what is new. A backfill takes every delivery again."""
    files = landing.scan(settings.raw_dir)
    known = {
        (pad, size, mtime): sha
        for pad, size, mtime, sha in con.execute(
            "SELECT bestand, grootte_bytes, gewijzigd_ns, sha256 FROM leveringen"
        ).fetchall()
    }
    hashes = landing.content_hashes(settings.raw_dir, files, known)
    full = kind == "backfill"
    # What a path holds now, as far as the ledger knows. A path's content is new when it differs
    # from that, also when it returns to content the path held before (A -> B -> A).
    current = {
        pad: sha
        for pad, sha in con.execute("SELECT bestand, sha256 FROM leveringen WHERE status <> ?", [VERVANGEN]).fetchall()
    }
    new: dict[str, list[str]] = {name: [] for name in SOURCES}
    replaced: dict[str, list[str]] = {name: [] for name in SOURCES}
    for f in files:
        if f.bron is None or not (full or current.get(f.pad) != hashes[f.pad]):
            continue
        new[f.bron].append(f.pad)
        if not full and f.pad in current:
            replaced[f.bron].append(f.pad)
    ignored = [f for f in files if f.bron is None and (full or current.get(f.pad) != hashes[f.pad])]
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


def read_source(settings: Settings, source: str, paths: list[str], key: bytes) -> BatchRead:
    """Read the new deliveries of one source (pure: reads files, writes nothing)."""
    return read_batch(SOURCES[source], settings.raw_dir, paths, key, settings.max_invalid_share)


def _with_day(source: Source, rows: pl.DataFrame) -> pl.DataFrame:
    if source.name == "telefonie":
        return rows.with_columns(local_day(pl.col("gestart_op")).alias("datum"))
    return rows


def _merge(
    con: duckdb.DuckDBPyConnection, source: Source, read: BatchRead, replaced: list[str], full: bool
) -> Partitions:
    """Stage the new versions and bring the current records up to date; return the days touched."""
    versions, current = VERSIONS_TABLE[source.name], CURRENT_TABLE[source.name]
    id_col = source.id_column
    if full:
        before = store.frame(con, f"SELECT DISTINCT datum FROM {current}")
        con.execute(f"DELETE FROM {versions}")
        con.execute(f"DELETE FROM {current}")
        store.insert(con, versions, read.rows)
        after = _with_day(source, rules.current_versions(source, read.rows))
        store.insert(con, current, after)
        return Partitions.of(before["datum"]) | Partitions.of(after["datum"])

    with store.registered(con, "_replaced", store.paths(replaced)):
        old = store.frame(con, f"SELECT {id_col} FROM {versions} WHERE bestand IN (SELECT bestand FROM _replaced)")
        con.execute(f"DELETE FROM {versions} WHERE bestand IN (SELECT bestand FROM _replaced)")
    store.insert(con, versions, read.rows)
    ids = pl.concat([read.rows[id_col], old[id_col]])
    if ids.is_empty():
        return Partitions.of([])
    before = store.ids_in(con, current, id_col, ids)
    after = _with_day(source, rules.current_versions(source, store.ids_in(con, versions, id_col, ids)))
    store.delete_ids(con, current, id_col, ids)
    store.insert(con, current, after)
    return Partitions.of(before["datum"]) | Partitions.of(after["datum"])


def _figures(source: Source, records: pl.DataFrame, parts: Partitions) -> list[aggregate.Partitioned]:
    if source.name == "telefonie":
        return aggregate.telefonie_figures(records, parts)
    return aggregate.afspraken_figures(records, parts)


def ensure_figure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create each source's figure tables (empty) so a warehouse without data still has every view."""
    for name, source in SOURCES.items():
        if store.table_exists(con, f"{name}_uitsplitsing_dag"):  # the last one a source creates
            continue
        empty = store.frame(con, f"SELECT * FROM {CURRENT_TABLE[name]} LIMIT 0")
        for part in _figures(source, empty, Partitions.of([])):
            store.replace_partitions(con, part.table, part.grain, [], part.frame)


def _refresh_figures(con: duckdb.DuckDBPyConnection, source: Source, parts: Partitions) -> int:
    """Recompute the touched day, month and year partitions of one source's figures."""
    if not parts:
        return 0
    first = dt.date(min(parts.years), 1, 1) - dt.timedelta(days=aggregate.REPEAT_WINDOW_DAYS)
    last = dt.date(max(parts.years), 12, 31)
    records = store.frame(con, f"SELECT * FROM {CURRENT_TABLE[source.name]} WHERE datum BETWEEN ? AND ?", [first, last])
    figures = _figures(source, records, parts)
    keys: dict[str, list[dt.date] | list[int]] = {
        "dag": sorted(parts.days),
        "maand": sorted(y * 100 + m for y, m in parts.months),
        "jaar": sorted(parts.years),
    }
    for part in figures:
        store.replace_partitions(con, part.table, part.grain, keys[part.grain], part.frame)
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
    with store.transaction(con):
        if plan.full:
            for table in ("quarantaine", "leveringen"):
                con.execute(f"DELETE FROM {table}")
        for name, source in SOURCES.items():
            read = reads[name]
            replaced = plan.replaced[name]
            with store.registered(con, "_replaced", store.paths(replaced)):
                con.execute("DELETE FROM quarantaine WHERE bestand IN (SELECT bestand FROM _replaced)")
            store.insert(con, "quarantaine", read.quarantine.with_columns(pl.lit(name).alias("bron")))
            parts = _merge(con, source, read, replaced, plan.full)
            if name == "telefonie":
                parts = parts.widened(aggregate.REPEAT_WINDOW_DAYS)
            if plan.years is not None:
                parts = Partitions.of(d for d in parts.days if d.year in plan.years) | _chosen_days(plan.years)
            summary.partitions += _refresh_figures(con, source, parts)
            summary.years_recomputed = sorted(set(summary.years_recomputed) | parts.years)

        ledger = _ledger(plan, reads, now)
        if not plan.full:
            # What these paths held before is superseded; content a path held before and holds
            # again is recorded anew.
            with store.registered(con, "_ledger", ledger.select("bestand", "sha256")):
                con.execute(
                    "UPDATE leveringen SET status = ? WHERE bestand IN (SELECT bestand FROM _ledger) AND status <> ?",
                    [VERVANGEN, VERVANGEN],
                )
                con.execute("DELETE FROM leveringen WHERE (bestand, sha256) IN (SELECT (bestand, sha256) FROM _ledger)")
        store.insert(con, "leveringen", ledger)

        summary.processed = ledger.filter(pl.col("status") == VERWERKT).height
        summary.rejected = ledger.filter(pl.col("status") == AFGEWEZEN).height
        summary.ignored = len(plan.ignored)
        summary.ignored_files = [f"{f.pad} ({f.reden_genegeerd})" for f in plan.ignored]
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
    by_path = {f.pad: f for f in plan.files}
    read = pl.concat([r.files.with_columns(pl.lit(n).alias("bron")) for n, r in reads.items()], how="diagonal")
    ignored = pl.DataFrame(
        {
            "bestand": [f.pad for f in plan.ignored],
            "status": [GENEGEERD] * len(plan.ignored),
            "reden": [f.reden_genegeerd for f in plan.ignored],
        },
        schema={"bestand": pl.String, "status": pl.String, "reden": pl.String},
    )
    ledger = pl.concat([read, ignored], how="diagonal")
    return ledger.with_columns(
        pl.col("bestand").replace_strict(plan.hashes, return_dtype=pl.String).alias("sha256"),
        pl.Series("grootte_bytes", [by_path[p].grootte for p in ledger["bestand"]], dtype=pl.Int64),
        pl.Series("gewijzigd_ns", [by_path[p].gewijzigd_ns for p in ledger["bestand"]], dtype=pl.Int64),
        pl.lit(plan.run_id).alias("run_id"),
        pl.lit(now).alias("gezien_op"),
    )


def record_run(con: duckdb.DuckDBPyConnection, summary: RunSummary) -> None:
    con.execute("DELETE FROM runs WHERE run_id = ?", [summary.run_id])
    con.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            summary.run_id,
            summary.kind,
            summary.started,
            summary.ended,
            summary.status,
            summary.processed,
            summary.rejected,
            summary.ignored,
            summary.rows_read,
            summary.rows_valid,
            summary.rows_quarantined,
            None,
            summary.partitions,
            ", ".join(str(y) for y in summary.years_recomputed) or None,
            summary.message,
        ],
    )


class Runner:
    """Runs the steps of a job. This one calls them directly; flows pass one that makes them tasks."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.progress = progress

    def step(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    def each(self, name: str, fn: Callable[..., T], calls: list[tuple[Any, ...]]) -> list[T]:
        results = []
        for done, args in enumerate(calls):
            if self.progress:
                self.progress(name, done, len(calls))
            results.append(fn(*args))
        if self.progress:
            self.progress(name, len(calls), len(calls))
        return results


def read_chunks(plan: Plan) -> list[tuple[str, str, list[str]]]:
    """New deliveries grouped per source and export year: coarse units of work, not one per file."""
    by_path = {f.pad: f for f in plan.files}
    chunks: dict[tuple[str, str], list[str]] = {}
    for source, paths in plan.new.items():
        for pad in paths:
            day = by_path[pad].export_datum
            chunks.setdefault((source, str(day.year) if day else "-"), []).append(pad)
    return [(source, period, paths) for (source, period), paths in sorted(chunks.items())]


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
    from pipeline import publish  # imported late: the CLI's other commands start faster without it
    from pipeline.locking import writer_lock

    runner = runner or Runner(progress)
    key = settings.hmac_key()
    with writer_lock(settings), store.connect(settings.state_db) as con:
        check_key(con, key)
        ensure_figure_tables(con)
        the_plan = runner.step("plan", plan, settings, con, kind, years)
        summary = RunSummary(the_plan.run_id, kind, dt.datetime.now(dt.UTC))
        try:
            if the_plan.has_work:
                chunks = read_chunks(the_plan)
                label = f"read {', '.join(sorted({c[0] for c in chunks}))}"
                reads = runner.each(label, read_source, [(settings, src, paths, key) for src, _, paths in chunks])
                runner.step("commit", commit, con, the_plan, combine(reads), summary)
            summary.status = "voltooid"
        except Exception as problem:
            summary.status, summary.message = "mislukt", f"{type(problem).__name__}: {problem}"[:1000]
            raise
        finally:
            summary.ended = dt.datetime.now(dt.UTC)
            record_run(con, summary)
        runner.step("publish", publish.publish, con, settings.warehouse)
    return summary


def combine(reads: list[BatchRead]) -> dict[str, BatchRead]:
    """One read per source (every source present, empty if it had nothing new)."""
    combined = {}
    for name, source in SOURCES.items():
        mine = [r for r in reads if r.source == name]
        combined[name] = BatchRead.concat(name, mine) if mine else read_batch(source, Path("."), [], b"-", 1.0)
    return combined
