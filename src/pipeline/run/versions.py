"""The duplicate and correction rules of the delivery agreement: which version of a record counts.

`decide` is the rule itself, on a frame of versions. `stage_year` applies it to one year of one
source's staged versions (Parquet partitions) and computes that year's figures: the unit of work of a
whole backfill, independent of every other year, so that years can be decided side by side (on local
processes or the workers of a cluster) while the one writer only commits what they return.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.core.periods import Partitions
from pipeline.kit.contract import Source
from pipeline.kit.figures import Partitioned, split
from pipeline.run import partitions
from pipeline.run.figures import check
from pipeline.run.partitions import CURRENT, PartFile
from pipeline.sources import SOURCES

_LINES = 1 << 32  # a line number below this packs beside the file's place into 64 bits


def counted_positions(source: Source, versions: pl.DataFrame) -> pl.Series:
    """The row positions in `versions` of the versions that count, one per id, by the source's
    `VersionRule`.

    Calls take the row from the file whose name sorts last (byte order), then the path below the
    landing folder; appointments the latest `gewijzigd`, a tie going to the file whose name sorts last.
    Identical repeats within a file collapse to one. Polars compares strings by their UTF-8 bytes,
    which is the agreement's byte order.
    """
    rule = source.versions
    # The file's name and path sort as one integer, the place of its path among the few distinct
    # paths ordered by name, then path; with the line it is one unsigned key (a sort on one or two
    # integer columns, not on millions of strings: 0.22 -> 0.09 CPU s for a year of calls).
    paths = versions["bestand"].unique()
    ranks = pl.DataFrame({"bestand": paths}).sort(pl.col("bestand").str.split("/").list.last(), "bestand")
    numbers = pl.int_range(ranks.height, dtype=pl.UInt64, eager=True)
    # (cast: Polars 2.1 gives an empty column the type of the keys, whatever `return_dtype` says)
    place = versions["bestand"].replace_strict(ranks["bestand"], numbers, return_dtype=pl.UInt64).cast(pl.UInt64)
    line = versions["regel"].cast(pl.UInt64)
    if versions.height and int(line.max()) >= _LINES:  # type: ignore[arg-type]
        order = {"_bestand": place, "_regel": line}  # a file of more than 4 G lines: two keys
    else:
        order = {"_sleutel": place * _LINES + line}
    narrow = pl.DataFrame(
        {source.rows.id_column: versions[source.rows.id_column], **{c: versions[c] for c in rule.latest}, **order}
    )
    last = narrow.with_row_index("_rij").sort([*rule.latest, *order], nulls_last=False)
    return last.unique(subset=[source.rows.id_column], keep="last")["_rij"].sort()


def decide(source: Source, versions: pl.DataFrame) -> pl.DataFrame:
    """The version that counts of every record (id) in `versions`."""
    return versions.gather(counted_positions(source, versions))


def year_of(year: int) -> pl.Expr:
    return pl.col("datum").is_between(dt.date(year, 1, 1), dt.date(year, 12, 31))


def whole_years(years: list[int] | tuple[int, ...]) -> Partitions:
    """Every day of `years`."""
    return Partitions.whole_years(years)


# --- a year of a whole backfill ---------------------------------------------------------------------


@dataclass(frozen=True)
class YearTask:
    """Decide and compute one year of one source from its version files.

    `files` are the year's version files, `before` those of the year before (whose last
    `lookback_days` the figures look back on). Ids whose versions lie in more than one year
    (`spanning`) are decided once, up front, by the writer: their winners whose day lies in this year
    or in its look-back days are `settled`, and every other version of them is left out here."""

    source: str
    year: int
    root: Path
    run_id: str
    files: tuple[PartFile, ...]
    before: tuple[PartFile, ...]
    spanning: pl.DataFrame
    settled: pl.DataFrame


@dataclass(frozen=True)
class YearResult:
    """The year's current file and figure rows (small: days, not records); `records` decided."""

    source: str
    year: int
    current: PartFile | None
    figures: tuple[Partitioned, ...]
    records: int
    ids: int  # distinct ids among the year's versions (after leaving out the spanning ones)


def stage_year(task: YearTask) -> YearResult:
    """The version that counts of every record of the year, written as the year's current file, and
    the year's figures per day, month and year and its breakdown (checked against their models).

    The rule needs a few columns of the versions (the id, the file, the line, what `latest` compares),
    so it runs on those alone; the winners' whole rows are then read again and sorted by day as they
    are read. The whole versions of a year (half of them the file's path and content hash, the same
    value for every row of a file) are never held beside the current records (a year of 1.4 M
    appointment versions: +566 -> +320 MiB at the peak of the process, the same CPU time)."""
    source = SOURCES[task.source]
    id_col = source.rows.id_column
    spanning = task.spanning.lazy()
    # a filter keeps the files' row order, so the row numbers of both reads are the same rows'
    versions = partitions.scan(task.root, source, task.files).filter(
        ~pl.col(id_col).is_in(task.spanning[id_col].implode())
    )
    narrow = versions.select(id_col, *source.versions.latest, "bestand", "regel").collect()
    positions = counted_positions(source, narrow)
    settled = task.settled.filter(year_of(task.year))
    ids = narrow[id_col].n_unique() + settled.height
    del narrow
    winners = versions.with_row_index("_rij").filter(pl.col("_rij").is_in(positions.implode())).drop("_rij")
    columns = partitions.staged_columns(source)
    current = pl.concat([winners.select(columns), settled.lazy().select(columns)]).sort("datum").collect()
    part = (
        partitions.write(task.root, source, CURRENT, task.year, task.run_id, "actueel", current)
        if current.height
        else None
    )
    records = pl.concat([_look_back(source, task, spanning), current])
    computed = split(source, records, whole_years([task.year]))
    for figures in computed:
        check(source, figures)
    return YearResult(task.source, task.year, part, tuple(computed), current.height, ids)


def _look_back(source: Source, task: YearTask, spanning: pl.LazyFrame) -> pl.DataFrame:
    """The current records of the year before's last `lookback_days` days: decided here from the
    versions of the ids that have one in those days (a record that is not spanning has every version
    in that year)."""
    if not source.lookback_days:
        return partitions.empty(source).collect()
    since = dt.date(task.year, 1, 1) - dt.timedelta(days=source.lookback_days)
    versions = partitions.scan(task.root, source, task.before).join(spanning, on=source.rows.id_column, how="anti")
    near = versions.filter(pl.col("datum") >= since).select(source.rows.id_column).unique()
    candidates = versions.join(near, on=source.rows.id_column, how="semi").collect()
    winners = decide(source, candidates).filter(pl.col("datum") >= since)
    settled = task.settled.filter(pl.col("datum").is_between(since, dt.date(task.year - 1, 12, 31)))
    return pl.concat([winners, settled.select(winners.columns)])
