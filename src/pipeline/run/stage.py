"""The one writer: what was read becomes what counts.

Per path below the landing folder one content counts at a time. `decide` says which (pure: the plan
and what the readers found in, every content's status out). The staged versions are exactly the
rows of the contents that count, in the Parquet partitions the snapshot names (`partitions`); the
current records follow from them by the version rule (`versions`); the figures of every partition
whose records changed are recomputed. Memory is bounded by a year's records of one source, not by the
history.

- A whole backfill decides every year of a source on its own (`versions.stage_year`), after the few
  ids whose versions span years have been decided together.
- A nightly run takes out the rows of contents that no longer count, adds what was read, decides
  again the ids these touch (wherever their versions lie) and rewrites the current files of the
  years their records were and are in; then it recomputes the days touched, and the months and years
  above them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core import db
from pipeline.core.ledger_values import DeliveryStatus, NoticeKind
from pipeline.core.periods import Partitions
from pipeline.kit.contract import Source
from pipeline.kit.figures import Partitioned
from pipeline.run import partitions
from pipeline.run.figures import compute
from pipeline.run.ledger import AFGEWEZEN, VERVANGEN, VERWERKT
from pipeline.run.partitions import CURRENT, VERSIONS, PartFile, Snapshot
from pipeline.run.plan import Plan
from pipeline.run.versions import YearResult, YearTask, decide, stage_year, whole_years, year_of

# Runs year tasks (in this process, or spread over processes or a cluster); results in task order.
EachYear = Callable[[Sequence[YearTask]], list[YearResult]]


def in_this_process(tasks: Sequence[YearTask]) -> list[YearResult]:
    return [stage_year(task) for task in tasks]


# --- which contents count -------------------------------------------------------------------------


@dataclass
class Decision:
    """What a run changes in what counts (for one source, or combined)."""

    keep: pl.DataFrame  # (bestand, sha256) read in this run that count from now on
    unstage: list[str]  # paths whose staged rows go (replaced, read again, or no longer counting)
    ledger: pl.DataFrame  # one row per delivery read, with the status it now has
    replaced: pl.DataFrame  # (bestand, sha256, status) in the ledger, not read, whose status becomes `vervangen`

    @staticmethod
    def combine(parts: Sequence[Decision]) -> Decision:
        return Decision(
            pl.concat([p.keep for p in parts]),
            [path for p in parts for path in p.unstage],
            pl.concat([p.ledger for p in parts], how="diagonal_relaxed"),
            pl.concat([p.replaced for p in parts]),
        )


def decide_contents(plan: Plan, files: pl.DataFrame) -> Decision:
    """Which contents count after this run, and the status every content read now has (the one
    place a delivery's status is decided). `files` has one row per content read, with the status
    reading gave it (`verwerkt` or `afgewezen`)."""
    counted = {path: c.sha256 for path, c in plan.counted.items()}
    withdrawn = [(p, s) in plan.withdrawn for p, s in files.select("bestand", "sha256").iter_rows()]
    files = files.filter(~pl.Series(withdrawn, dtype=pl.Boolean))  # withdrawn content stays withdrawn
    was = pl.Series("vorige", [counted.get(p) for p in files["bestand"]], dtype=pl.String)
    files = files.with_columns(was)
    new_accepted = files.filter((pl.col("status") == VERWERKT) & (pl.col("sha256") != pl.col("vorige").fill_null("")))
    # A path's new accepted content counts; else the content that counted, if it was read again and still passes.
    winners = pl.concat(
        [
            new_accepted.select("bestand", "sha256"),
            files.filter((pl.col("status") == VERWERKT) & (pl.col("sha256") == pl.col("vorige")))
            .join(new_accepted.select("bestand"), on="bestand", how="anti")
            .select("bestand", "sha256"),
        ]
    ).unique()
    ledger = files.join(winners.with_columns(pl.lit(True).alias("telt")), on=["bestand", "sha256"], how="left")
    ledger = ledger.with_columns(
        pl.when((pl.col("status") == VERWERKT) & pl.col("telt").is_null())
        .then(pl.lit(VERVANGEN))
        .otherwise(pl.col("status"))
        .alias("status")
    ).drop("telt", "vorige")
    reread_rejected = files.filter((pl.col("sha256") == pl.col("vorige")) & (pl.col("status") == AFGEWEZEN))
    unstage = sorted(set(winners["bestand"].to_list()) | set(reread_rejected["bestand"].to_list()))
    # Replaced: the content that counted for a path with new accepted content, and a rejected content
    # once its path delivers another file. Reading the counted content again from the archive (a
    # backfill) delivers nothing new, so a rejection stays on record.
    superseded = [(p, counted[p]) for p in new_accepted["bestand"].to_list() if p in counted]
    delivered = ledger.filter(pl.col("van_landing") & (pl.col("status") != VERVANGEN)).select("bestand", "sha256")
    delivered_paths = set(delivered["bestand"].to_list())
    delivered_now = set(delivered.iter_rows())
    history = [(p, sha) for p, sha in plan.rejected if p in delivered_paths and (p, sha) not in delivered_now]
    replaced = pl.DataFrame(
        sorted(set(superseded) | set(history)), schema={"bestand": pl.String, "sha256": pl.String}, orient="row"
    ).with_columns(pl.lit(VERVANGEN, pl.String).alias("status"))
    return Decision(winners, unstage, ledger, replaced)


def not_read(plan: Plan, unreadable: Iterable[tuple[str, str]]) -> list[tuple[str, DeliveryStatus, str]]:
    """(path, status, reason) of the entries of the landing folder that were not read: not a delivery
    (`genegeerd`), or not safe to read or unreadable when read (`overgeslagen`)."""
    ignored = [(n.path, DeliveryStatus.IGNORED, n.reason) for n in plan.notices if n.kind is NoticeKind.IGNORED]
    skipped = [(n.path, DeliveryStatus.SKIPPED, n.reason) for n in plan.notices if n.kind is NoticeKind.SKIPPED]
    return ignored + skipped + [(path, DeliveryStatus.SKIPPED, reason) for path, reason in unreadable]


def staged_not_counting(read: pl.DataFrame, keep: pl.DataFrame) -> pl.DataFrame:
    """The contents whose rows the readers staged (every accepted one) and that do not count."""
    staged = read.filter(pl.col("status") == VERWERKT).select("bestand", "sha256")
    return staged.join(keep, on=["bestand", "sha256"], how="anti")


# --- the partitions of one source --------------------------------------------------------------------


@dataclass
class Outcome:
    partitions: int = 0
    years: set[int] = field(default_factory=set)
    touched: dict[str, pl.Series] = field(default_factory=dict)  # per source, the ids decided again
    records: dict[str, int] = field(default_factory=dict)  # per source after a whole backfill: records
    ids: dict[str, int] = field(default_factory=dict)  # ... and the distinct ids they were decided from


@dataclass
class Staging:
    """What one run's staging works on: the snapshot of the files that count, and the run."""

    root: Path
    run_id: str
    snapshot: Snapshot
    each_year: EachYear = in_this_process
    written: int = 0

    def label(self, kind: str) -> str:
        self.written += 1
        return f"{kind}{self.written:04d}"

    def without(self, source: Source, files: Sequence[PartFile], dropped: pl.DataFrame) -> list[PartFile]:
        """`files` with the rows of the contents `dropped` (bestand, sha256) taken out: the files that
        hold some are written again without them (a replaced or withdrawn delivery)."""
        hit = set(dropped["bestand"].to_list())
        kept = [f for f in files if not hit.intersection(f.deliveries)]
        for part in (f for f in files if hit.intersection(f.deliveries)):
            rows = partitions.scan(self.root, source, [part]).join(dropped.lazy(), on=["bestand", "sha256"], how="anti")
            rewritten = rows.collect()
            if rewritten.height:
                new = partitions.write(self.root, source, VERSIONS, part.year, self.run_id, self.label("w"), rewritten)
                kept.append(new if part.erased_before is None else _erased(new, part.erased_before))
        return kept


def _erased(part: PartFile, before: dt.date) -> PartFile:
    return replace(part, erased_before=before)


def apply_source(
    con: duckdb.DuckDBPyConnection,
    staging: Staging,
    plan: Plan,
    decision: Decision,
    source: Source,
    read: pl.DataFrame,
    new_files: Sequence[PartFile],
    outcome: Outcome,
) -> None:
    """Stage, merge and recompute one source (inside the caller's transaction). `read` has a row per
    content the run read of this source, `new_files` are the version files its readers wrote."""
    not_counting = staged_not_counting(read, decision.keep)
    files = staging.without(source, new_files, not_counting) if not_counting.height else list(new_files)
    if plan.full:
        _rebuild(con, staging, source, files, outcome)
        return
    merged, outcome.touched[source.name] = _merge(staging, source, files, decision.unstage)
    parts = merged.widened(source.lookback_days)
    if plan.years is not None:
        parts = parts | whole_years(plan.years)
    outcome.partitions += refresh_figures(con, staging, source, parts)
    outcome.years |= set(parts.years)


def _rebuild(
    con: duckdb.DuckDBPyConnection, staging: Staging, source: Source, files: list[PartFile], outcome: Outcome
) -> None:
    """A whole backfill of one source: every year decided on its own, then its figures replaced.

    The figure rows of all years are small (days, not records) and replace the source's figure
    tables in one statement per table."""
    root, id_col = staging.root, source.rows.id_column
    spanning = _spanning(root, source, files)
    across = partitions.scan(root, source, files).join(spanning.lazy(), on=id_col, how="semi").collect()
    settled = decide(source, across)
    years = sorted({f.year for f in files})
    tasks = [
        YearTask(
            source.name,
            year,
            root,
            staging.run_id,
            tuple(f for f in files if f.year == year),
            tuple(f for f in files if f.year == year - 1),
            spanning,
            settled,
        )
        for year in years
    ]
    results = staging.each_year(tasks)
    staging.snapshot.replace_source(source.name, [*files, *(r.current for r in results if r.current)])
    computed: dict[tuple[str, str], list[pl.DataFrame]] = {}
    for result in results:
        for part in result.figures:
            computed.setdefault((part.table, part.grain), []).append(part.frame)
    for table in (*(source.figure_table(g) for g in ("dag", "maand", "jaar")), source.breakdown_table):
        con.execute(f"DELETE FROM {table}")
    for (table, grain), frames in computed.items():
        db.insert(con, table, Partitioned(table, grain, pl.concat(frames)).frame)
    outcome.partitions += sum(len(whole_years([year]).days) + 12 + 1 for year in years)
    outcome.years |= set(years)
    outcome.records[source.name] = sum(r.records for r in results)
    outcome.ids[source.name] = sum(r.ids for r in results)


def _spanning(root: Path, source: Source, files: Sequence[PartFile]) -> pl.DataFrame:
    """Ids whose versions fall in more than one year (a correction that moved a record past New Year):
    only an id found in the files of two years can be one.

    A version file holds the rows of its year only, so each year's distinct ids are found on their
    own, as 64-bit hashes (a set of numbers per year, not one of millions of strings with their
    years: 0.80 -> 0.32 CPU s for the sample's appointments); an id whose hash lies in two years is a
    candidate, and the candidates are checked on the ids themselves (a collision is no spanning id)."""
    id_col = source.rows.id_column
    by_year: dict[int, list[PartFile]] = {}
    for f in files:
        by_year.setdefault(f.year, []).append(f)
    if len(by_year) < 2:
        return pl.DataFrame(schema={id_col: pl.String})
    hashed = pl.col(id_col).hash().alias("_h")
    per_year = [partitions.scan(root, source, mine).select(hashed).unique() for mine in by_year.values()]
    candidates = pl.concat(per_year).group_by("_h").len().filter(pl.col("len") > 1).collect()["_h"]
    pairs = (
        partitions.scan(root, source, files)
        .filter(pl.col(id_col).hash().is_in(candidates.implode()))
        .select(id_col, pl.col("datum").dt.year().alias("_jaar"))
        .unique()
    )
    return pairs.group_by(id_col).agg(pl.len().alias("_n")).filter(pl.col("_n") > 1).select(id_col).collect()


def _merge(
    staging: Staging, source: Source, new_files: Sequence[PartFile], unstage: Sequence[str]
) -> tuple[Partitions, pl.Series]:
    """Take out the staged rows of `unstage`, add the new version files, and decide again every id
    they touch; the days touched are those of the records before and after."""
    root, snapshot, id_col = staging.root, staging.snapshot, source.rows.id_column
    holding = snapshot.holding(source.name, unstage)
    removed = partitions.scan(root, source, holding).filter(pl.col("bestand").is_in(list(unstage))).collect()
    kept = staging.without(source, holding, removed.select("bestand", "sha256").unique())
    added = partitions.scan(root, source, new_files).select(id_col).collect()
    ids = pl.concat([removed[id_col], added[id_col]]).unique()
    snapshot.remove(holding)
    snapshot.add([*kept, *new_files])
    if ids.is_empty():
        return Partitions.of([]), ids
    partitions.merge_small(root, source, snapshot, staging.run_id, sorted({f.year for f in new_files}))
    touched_ids = ids.to_frame(id_col)
    touched = touched_ids.lazy()
    winners = decide(source, partitions.rows_of(root, source, snapshot.files(source.name, VERSIONS), touched_ids))
    before = partitions.rows_of(root, source, snapshot.files(source.name, CURRENT), touched_ids).select("datum")
    years = sorted(set(before["datum"].dt.year().to_list()) | set(winners["datum"].dt.year().to_list()))
    for year in years:
        old = snapshot.files(source.name, CURRENT, [year])
        rows = pl.concat(
            [
                partitions.scan(root, source, old).join(touched, on=id_col, how="anti").collect(),
                winners.filter(year_of(year)),
            ]
        )
        snapshot.remove(old)
        if rows.height:
            snapshot.add(
                [partitions.write(root, source, CURRENT, year, staging.run_id, staging.label("actueel"), rows)]
            )
    return Partitions.of(before["datum"]) | Partitions.of(winners["datum"]), ids


# --- figures ------------------------------------------------------------------------------------


def _per_year(parts: Partitions) -> Iterable[tuple[int, Partitions]]:
    for year in sorted(parts.years):
        yield year, Partitions.of(d for d in parts.days if d.year == year)


def refresh_figures(con: duckdb.DuckDBPyConnection, staging: Staging, source: Source, parts: Partitions) -> int:
    """Recompute the touched day, month and year partitions of one source's figures, a year at a time."""
    for year, mine in _per_year(parts):
        first = dt.date(year, 1, 1) - dt.timedelta(days=source.lookback_days)
        files = staging.snapshot.files(source.name, CURRENT, [year - 1, year])
        records = (
            partitions.scan(staging.root, source, files)
            .filter(pl.col("datum").is_between(first, dt.date(year, 12, 31)))
            .collect()
        )
        keys: dict[str, list[dt.date] | list[int]] = {
            "dag": sorted(mine.days),
            "maand": sorted(y * 100 + m for y, m in mine.months),
            "jaar": [year],
        }
        for part in compute(source, records, mine):
            db.replace_partitions(con, part.table, part.grain, keys[part.grain], part.frame)
    return len(parts.days) + len(parts.months) + len(parts.years)


# --- withdrawal ----------------------------------------------------------------------------------------------


def withdraw(
    con: duckdb.DuckDBPyConnection, staging: Staging, source: Source, path: str
) -> tuple[Partitions, pl.Series]:
    """Take a delivery's rows out of what counts and recompute what they touched; the partitions and
    the ids decided again."""
    merged, ids = _merge(staging, source, [], [path])
    parts = merged.widened(source.lookback_days)
    refresh_figures(con, staging, source, parts)
    return parts, ids
