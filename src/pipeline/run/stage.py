"""The one writer: what was read becomes what counts, in one transaction with the ledger.

Per path below the landing folder one content counts at a time. Content read in this run counts
when it is new and accepted; a rejected re-delivery leaves the content accepted before counting.
Staged versions (`<bron>_versies`) are exactly the rows of the contents that count; the current
records (`<bron>_actueel`) follow from them by the version rule; the figures of every partition
whose records changed are recomputed. Memory is bounded by a year's records of one source, not by
the history: a whole backfill chooses the versions that count year by year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import duckdb
import polars as pl

from pipeline.core import db
from pipeline.core.contract import Source, polars_schema
from pipeline.core.periods import Partitions
from pipeline.run.figures import compute
from pipeline.run.ledger import AFGEWEZEN, VERVANGEN, VERWERKT
from pipeline.run.plan import Plan
from pipeline.run.read import ChunkResult
from pipeline.run.versions import current_versions
from pipeline.sources import SOURCES


@dataclass
class Decision:
    """What a run changes in what counts, per source."""

    keep: pl.DataFrame  # (bestand, sha256) read in this run that count from now on
    unstage: list[str]  # paths whose staged rows go (replaced, read again, or no longer counting)
    ledger: pl.DataFrame  # one row per delivery read, with the status it now has
    superseded: pl.DataFrame  # (bestand, sha256) counted before, not read, now replaced


@dataclass
class Outcome:
    partitions: int = 0
    years: set[int] = field(default_factory=set)


def decide(plan: Plan, files: pl.DataFrame) -> Decision:
    """Which contents count after this run. `files` has one row per delivery read (all sources)."""
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
    superseded = pl.DataFrame(
        {
            "bestand": [p for p in new_accepted["bestand"].to_list() if p in counted],
            "sha256": [counted[p] for p in new_accepted["bestand"].to_list() if p in counted],
        },
        schema={"bestand": pl.String, "sha256": pl.String},
    )
    return Decision(winners, unstage, ledger, superseded)


# --- staged versions and current records --------------------------------------------------------


def _model_columns(source: Source) -> list[str]:
    """The staged columns: the model's, and the record's day (which may be one of them)."""
    return list(dict.fromkeys([*polars_schema(source.model), "datum"]))


def _stage(con: duckdb.DuckDBPyConnection, source: Source, files: Sequence[str], keep: pl.DataFrame) -> None:
    """Insert the staged rows of the kept contents from the readers' Parquet files."""
    if not files or keep.is_empty():
        return
    columns = ", ".join(_model_columns(source))
    with db.registered(con, "_keep", keep):
        con.execute(
            f"INSERT INTO {source.versions_table} BY NAME SELECT {columns} FROM read_parquet(?) r "
            "SEMI JOIN _keep k ON r.bestand = k.bestand AND r.sha256 = k.sha256",
            [list(files)],
        )


def _ids_of(con: duckdb.DuckDBPyConnection, source: Source, files: Sequence[str], keep: pl.DataFrame) -> pl.Series:
    if not files or keep.is_empty():
        return pl.Series(source.id_column, [], dtype=pl.String)
    with db.registered(con, "_keep", keep):
        return db.frame(
            con,
            f"SELECT DISTINCT {source.id_column} FROM read_parquet(?) r "
            "SEMI JOIN _keep k ON r.bestand = k.bestand AND r.sha256 = k.sha256",
            [list(files)],
        )[source.id_column]


def _merge_incremental(
    con: duckdb.DuckDBPyConnection, source: Source, files: Sequence[str], keep: pl.DataFrame, unstage: list[str]
) -> Partitions:
    """Replace the staged rows of `unstage`, add the kept rows, and bring the records of the ids they
    touch up to date; the days touched are those of their records before and after."""
    id_col = source.id_column
    with db.registered(con, "_unstage", db.paths(unstage)):
        old = db.frame(
            con,
            f"SELECT DISTINCT {id_col} FROM {source.versions_table} WHERE bestand IN (SELECT bestand FROM _unstage)",
        )[id_col]
        con.execute(f"DELETE FROM {source.versions_table} WHERE bestand IN (SELECT bestand FROM _unstage)")
    new = _ids_of(con, source, files, keep)
    _stage(con, source, files, keep)
    ids = pl.concat([old, new]).unique()
    if ids.is_empty():
        return Partitions.of([])
    before = db.ids_in(con, source.current_table, id_col, ids)
    after = current_versions(source, db.ids_in(con, source.versions_table, id_col, ids))
    db.delete_ids(con, source.current_table, id_col, ids)
    db.insert(con, source.current_table, after.select(_model_columns(source)))
    return Partitions.of(before["datum"]) | Partitions.of(after["datum"])


def _years(con: duckdb.DuckDBPyConnection, table: str) -> list[int]:
    found = con.execute(f"SELECT DISTINCT year(datum) AS jaar FROM {table} ORDER BY jaar").fetchall()
    return [int(y) for (y,) in found if y is not None]


def _merge_full(con: duckdb.DuckDBPyConnection, source: Source, files: Sequence[str], keep: pl.DataFrame) -> None:
    """Everything staged anew, and the versions that count chosen year by year.

    A record whose versions all fall in one year is decided within that year; the few whose versions
    span years (a correction that moved an appointment past New Year) are decided once, together."""
    con.execute(f"DELETE FROM {source.versions_table}")
    con.execute(f"DELETE FROM {source.current_table}")
    _stage(con, source, files, keep)
    id_col, versions = source.id_column, source.versions_table
    spanning = db.frame(
        con, f"SELECT {id_col} FROM {versions} GROUP BY {id_col} HAVING min(year(datum)) <> max(year(datum))"
    )
    with db.registered(con, "_spanning", spanning):
        decided = current_versions(
            source, db.frame(con, f"SELECT v.* FROM {versions} v SEMI JOIN _spanning USING ({id_col})")
        )
        for year in _years(con, versions):
            within = db.frame(
                con,
                f"SELECT v.* FROM {versions} v ANTI JOIN _spanning USING ({id_col}) WHERE datum BETWEEN ? AND ?",
                [dt.date(year, 1, 1), dt.date(year, 12, 31)],
            )
            records = pl.concat([current_versions(source, within), decided.filter(pl.col("datum").dt.year() == year)])
            db.insert(con, source.current_table, records.select(_model_columns(source)))


# --- figures ------------------------------------------------------------------------------------


def _per_year(parts: Partitions) -> Iterator[tuple[int, Partitions]]:
    for year in sorted(parts.years):
        yield year, Partitions.of(d for d in parts.days if d.year == year)


def refresh_figures(con: duckdb.DuckDBPyConnection, source: Source, parts: Partitions) -> int:
    """Recompute the touched day, month and year partitions of one source's figures, a year at a time."""
    for year, mine in _per_year(parts):
        first = dt.date(year, 1, 1) - dt.timedelta(days=source.lookback_days)
        records = db.frame(
            con, f"SELECT * FROM {source.current_table} WHERE datum BETWEEN ? AND ?", [first, dt.date(year, 12, 31)]
        )
        keys: dict[str, list[dt.date] | list[int]] = {
            "dag": sorted(mine.days),
            "maand": sorted(y * 100 + m for y, m in mine.months),
            "jaar": [year],
        }
        for part in compute(source, records, mine):
            db.replace_partitions(con, part.table, part.grain, keys[part.grain], part.frame)
    return len(parts.days) + len(parts.months) + len(parts.years)


def whole_years(years: Sequence[int]) -> Partitions:
    days = []
    for year in years:
        day = dt.date(year, 1, 1)
        while day.year == year:
            days.append(day)
            day += dt.timedelta(days=1)
    return Partitions.of(days)


def apply(con: duckdb.DuckDBPyConnection, plan: Plan, decision: Decision, results: Sequence[ChunkResult]) -> Outcome:
    """Stage, merge and recompute every source (inside the caller's transaction)."""
    outcome = Outcome()
    for source in SOURCES.values():
        files = [str(r.rows_file) for r in results if r.source == source.name and r.rows_file is not None]
        mine = [p for p in decision.unstage if p.split("/", 1)[0] == source.name]
        if plan.full:
            _merge_full(con, source, files, decision.keep)
            for table in (source.figure_table(g) for g in ("dag", "maand", "jaar")):
                con.execute(f"DELETE FROM {table}")
            con.execute(f"DELETE FROM {source.breakdown.table}")
            parts = whole_years(_years(con, source.current_table))
        else:
            parts = _merge_incremental(con, source, files, decision.keep, mine).widened(source.lookback_days)
            if plan.years is not None:
                parts = parts | whole_years(plan.years)
        outcome.partitions += refresh_figures(con, source, parts)
        outcome.years |= set(parts.years)
    return outcome


def erase_pseudonyms(con: duckdb.DuckDBPyConnection, before: dt.date) -> int:
    """Erase the keyed hashes of personal data from staged records of days before `before`.

    The figures of those days were computed with them and stay as they are; the archive keeps the
    deliveries, so a backfill can compute them again. Returns the staged versions touched."""
    erased = 0
    for source in SOURCES.values():
        for column in source.pseudonyms:
            for table in (source.versions_table, source.current_table):
                found = db.first(
                    con, f"SELECT count(*) FROM {table} WHERE datum < ? AND {column} IS NOT NULL", [before]
                )
                con.execute(f"UPDATE {table} SET {column} = NULL WHERE datum < ? AND {column} IS NOT NULL", [before])
                if table == source.versions_table and found:
                    erased += int(found[0])
    return erased


def withdraw(con: duckdb.DuckDBPyConnection, source: Source, path: str) -> Partitions:
    """Take a delivery's rows out of what counts and recompute what they touched."""
    empty = pl.DataFrame(schema={"bestand": pl.String, "sha256": pl.String})
    parts = _merge_incremental(con, source, [], empty, [path]).widened(source.lookback_days)
    refresh_figures(con, source, parts)
    return parts
