"""`kerncijfers`, `kerncijfers_maand` and `kerncijfers_dag`: every source's figures side by side.

Assembled from what the sources declare: each source keeps its own figure tables per grain in the
state database (checked against its model when they were computed); here they are joined on the
period, in their published order, and the figures derived across years are added and checked.
"""

from __future__ import annotations

from functools import cache

import duckdb
import pandera.polars as pa
import polars as pl

from pipeline.core import db
from pipeline.core.periods import GRAIN_KEYS, PERIOD_COLUMNS
from pipeline.kit.contract import AnyFigure, Source, placement
from pipeline.kit.models import figure_schema
from pipeline.sources import SOURCES

TABLES = {"jaar": "kerncijfers_jaar", "maand": "kerncijfers_maand", "dag": "kerncijfers_dag"}


def figures_of(grain: str) -> list[AnyFigure]:
    """Every figure of a grain's table, in published order (year-derived figures only per year):
    what the municipality publishes in its table, then in its text, then each source's headline
    figures, then the rest; within each, sources in the registry's order and each in its own order."""
    found: list[tuple[int, int, int, AnyFigure]] = []
    for position, source in enumerate(SOURCES.values()):
        for figure in source.all_figures if grain == "jaar" else source.figures:
            found.append((placement(figure), position, figure.order, figure))
    return [figure for *_, figure in sorted(found, key=lambda item: item[:3])]


@cache
def _derived_schema(sources: tuple[Source, ...]) -> pa.DataFrameSchema:
    """The schema of the figures derived across years, per year: the only figures of the yearly table
    not yet checked (each source's own were, against its model, when they were computed)."""
    return figure_schema("jaar", [figure for source in sources for figure in source.year_figures])


def dtypes(grain: str) -> dict[str, type[pl.DataType]]:
    """The columns of a grain's table and their types, in order: its period columns, then its figures."""
    period: dict[str, type[pl.DataType]] = {c: pl.Date if c == "datum" else pl.Int32 for c in PERIOD_COLUMNS[grain]}
    return period | {figure.name: figure.dtype for figure in figures_of(grain)}


def with_empty_days(source: Source, days: pl.DataFrame) -> pl.DataFrame:
    """Every day of every month in which the source has records: on a day without records in such a
    month (a weekend, a holiday) each figure has its declared value for that (`Figure.on_empty_day`:
    0 for what is summed or counted, empty for a ratio or a median), so days add up to months."""
    if days.is_empty():
        return days
    months = days.select(pl.col("datum").dt.month_start()).unique()
    calendar = months.select(pl.date_ranges(pl.col("datum"), pl.col("datum").dt.month_end()).alias("datum")).explode(
        "datum"
    )
    zero = [f.name for f in source.figures if f.on_empty_day == 0]
    return calendar.join(days, on="datum", how="left").with_columns(pl.col(zero).fill_null(0))


def _source_figures(con: duckdb.DuckDBPyConnection, source: Source, grain: str) -> pl.DataFrame | None:
    table = source.figure_table(grain)
    if not db.table_exists(con, table):
        return None
    frame = db.frame(con, f"SELECT * FROM {table} ORDER BY ALL")
    if grain == "dag":
        return with_empty_days(source, frame)
    if grain == "jaar" and source.year_figures:
        frame = frame.sort("jaar").with_columns(f.expr.alias(f.name) for f in source.year_figures)
    return frame


def conform(frame: pl.DataFrame | None, grain: str) -> pl.DataFrame:
    """Add the columns of sources without data (null), order the columns, type them; validate the
    figures derived across years (new here: every source's own rows were checked against its model
    when they were computed; checking the whole yearly table again took 80 ms a publish)."""
    types = dtypes(grain)
    frame = frame if frame is not None else pl.DataFrame(schema={k: types[k] for k in GRAIN_KEYS[grain]})
    if grain == "dag" and "jaar" not in frame.columns:
        frame = frame.with_columns(pl.col("datum").dt.year().alias("jaar"), pl.col("datum").dt.month().alias("maand"))
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in types.items() if name not in frame.columns]
    frame = frame.with_columns(missing).select(list(types)).cast(types)  # type: ignore[arg-type]
    frame = frame.sort(list(GRAIN_KEYS[grain]))
    if grain == "jaar":
        schema = _derived_schema(tuple(SOURCES.values()))
        schema.validate(frame.select(list(schema.columns)))
    return frame


def kerncijfers(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """The key figures per year, month and day, keyed by their table in the published file."""
    tables: dict[str, pl.DataFrame] = {}
    for grain, table in TABLES.items():
        joined: pl.DataFrame | None = None
        for source in SOURCES.values():
            frame = _source_figures(con, source, grain)
            if frame is None:
                continue
            keys = list(GRAIN_KEYS[grain])
            joined = frame if joined is None else joined.join(frame, on=keys, how="full", coalesce=True)
        tables[table] = conform(joined, grain)
    return tables
