"""Dates in time (spec/raw-data.md): no delivered date or moment lies where it cannot.

- A moment that records when something happened (`Source.moments`) cannot lie after the end of its
  file's export day, local time (Europe/Amsterdam): no system exports what has not happened yet.
  Reason `na exportdag`.
- A day that may lie ahead of the export day (`Source.days_ahead`, an appointment's day) lies at
  most two years after it. Reason `te ver vooruit`.
- No date or moment lies before 1 January 2000 (local time): `1970-01-01` and `1900-01-01` are empty
  dates in disguise. Reason `voor 2000`; it goes before the other two.

The export day is the date in the file's name (`<bron>_<YYYYMMDD>[_<suffix>].csv`). The reader
applies the rule to every row (`violations`), for every source, from what the source declares.
Everything is compared in Polars, whose dates and times reach far beyond Python's (year 0, year
10000 after an offset): a value that no Python date can hold is an invalid row like any other, and
it is gone before anything turns days into Python dates.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipeline.core.periods import LOCAL_TZ
from pipeline.kit.contract import Source

EARLIEST_DAY = dt.date(2000, 1, 1)
YEARS_AHEAD = 2
NA_EXPORTDAG, VOOR_2000, TE_VER_VOORUIT = "na exportdag", "voor 2000", "te ver vooruit"
VIOLATIONS_SCHEMA = {"index": pl.Int64, "kolom": pl.String, "reden": pl.String}


def export_day(source: Source, path: pl.Expr) -> pl.Expr:
    """The export day in the name of the delivery at `path` (below the landing folder); null if none."""
    name = path.str.extract(r"([^/]*)$", 1)
    pattern = source.file_pattern.pattern  # anchored at both ends, the day its first group
    return name.str.extract(pattern, 1).str.to_date("%Y%m%d", strict=False)


def export_day_of(source: Source, path: str) -> dt.date | None:
    """`export_day` of one path, in Python."""
    match = source.file_pattern.match(path.rsplit("/", 1)[-1])
    if match is None:
        return None
    try:
        return dt.datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None


def _local_start(day: pl.Expr) -> pl.Expr:
    """The UTC instant at which the local day `day` starts (midnight exists on every Dutch day)."""
    return day.cast(pl.Datetime("us")).dt.replace_time_zone(LOCAL_TZ).dt.convert_time_zone("UTC")


def _reason(value: pl.Expr, earliest: pl.Expr, latest: pl.Expr, late: str) -> pl.Expr:
    """`voor 2000` below `earliest`, `late` from `latest` on (or always, when there is no `latest`:
    nothing can be shown to lie before an export day that is not known), else null; null stays null."""
    too_late = value.is_not_null() & (latest.is_null() | (value >= latest))
    return pl.when(value < earliest).then(pl.lit(VOOR_2000)).when(too_late).then(pl.lit(late))


def violations(source: Source, typed: pl.DataFrame) -> pl.DataFrame:
    """One row (index, kolom, reden) per date or moment of `typed` that breaks the rule.

    `typed` is the source's parsed rows (its model's columns and `bestand`); `index` is the row's
    position, `kolom` the delivered column. Null values are not judged here (the model says whether
    a value may be missing). A file whose name has no export day is never read (the plan ignores it);
    here each of its dates would lie after the export day."""
    # The bounds are a file's: computed once per distinct path (a regular expression and a time-zone
    # conversion per row cost more than the rest of the rule), then each row takes its path's.
    paths = typed["bestand"].unique()
    day = export_day(source, pl.lit(paths))
    found = []
    for columns, bound, late in (
        (source.moments, day, NA_EXPORTDAG),
        (source.days_ahead, day.dt.offset_by(f"{YEARS_AHEAD}y"), TE_VER_VOORUIT),
    ):
        for column, delivered in columns.items():
            kind = typed.schema[column]
            after = bound.dt.offset_by("1d")  # the first day past the bound
            if isinstance(kind, pl.Datetime):
                value = pl.col(column).dt.convert_time_zone("UTC")
                earliest, latest = _local_start(pl.lit(EARLIEST_DAY)), _local_start(after)
            elif kind == pl.Date:
                value, earliest, latest = pl.col(column), pl.lit(EARLIEST_DAY), after
            else:
                raise TypeError(f"{source.name}: {column} is declared a date or moment but is {kind}")
            per_path = pl.select(latest).to_series()
            # (cast: Polars 2.1 types an empty result as the keys, whatever `return_dtype` says)
            latest = (
                pl.col("bestand")
                .replace_strict(paths, per_path, default=None, return_dtype=per_path.dtype)
                .cast(per_path.dtype)
            )
            found.append(
                typed.select(
                    pl.int_range(pl.len(), dtype=pl.Int64).alias("index"),
                    pl.lit(delivered).alias("kolom"),
                    _reason(value, earliest, latest, late).alias("reden"),
                ).filter(pl.col("reden").is_not_null())
            )
    return pl.concat([pl.DataFrame(schema=VIOLATIONS_SCHEMA), *found])
