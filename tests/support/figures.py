"""Figures without DuckDB: a source's current records built by hand, its figure driver run on them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from pipeline.core.periods import Partitions
from pipeline.kit.contract import Source, polars_schema
from pipeline.run.figures import compute
from pipeline.sources import SOURCES


def current_records(source: str, rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """A source's current records as its state table holds them: the model's columns, typed (times as
    ISO 8601 text with offset, days as yyyy-mm-dd), columns not given null, and the local day in `datum`."""
    src = SOURCES[source]
    schema = polars_schema(src.rows.model)
    typed = []
    for line, row in enumerate(rows, start=2):
        values: dict[str, Any] = {"bestand": f"{source}/{source}_20200101.csv", "regel": line}
        for name, value in row.items():
            kind = schema[name]
            if isinstance(value, str) and isinstance(kind, pl.Datetime):
                value = dt.datetime.fromisoformat(value)
            elif isinstance(value, str) and kind == pl.Date:
                value = dt.date.fromisoformat(value)
            elif isinstance(value, str) and kind == pl.Time:
                value = dt.time.fromisoformat(value)
            values[name] = value
        typed.append(values)
    frame = pl.DataFrame(typed, schema=schema)
    return frame.with_columns(src.day().alias("datum"))


@dataclass
class FigureRows:
    """The figure driver's rows of one source for some partitions, by grain, plus its breakdown."""

    source: Source
    dag: pl.DataFrame
    maand: pl.DataFrame
    jaar: pl.DataFrame
    uitsplitsing: pl.DataFrame

    def day(self, datum: dt.date) -> dict[str, Any]:
        found = self.dag.filter(pl.col("datum") == datum).to_dicts()
        assert len(found) == 1, f"no single day row for {datum}: {self.dag}"
        return found[0]

    def month(self, jaar: int, maand: int) -> dict[str, Any]:
        found = self.maand.filter((pl.col("jaar") == jaar) & (pl.col("maand") == maand)).to_dicts()
        assert len(found) == 1, f"no single month row for {jaar}-{maand}: {self.maand}"
        return found[0]

    def year(self, jaar: int) -> dict[str, Any]:
        found = self.jaar.filter(pl.col("jaar") == jaar).to_dicts()
        assert len(found) == 1, f"no single year row for {jaar}: {self.jaar}"
        return found[0]

    def years(self, column: str) -> dict[int, Any]:
        """A figure per year, with the figures derived across years added as publishing adds them."""
        derived = self.jaar.sort("jaar").with_columns(f.expr.alias(f.name) for f in self.source.year_figures)
        return {r["jaar"]: r[column] for r in derived.to_dicts()}


def figure_rows(source: str, records: pl.DataFrame, days: Iterable[dt.date]) -> FigureRows:
    """`pipeline.run.figures.compute` (the figure driver, with the figure models' checks) on hand-made
    current records, for the partitions of `days`."""
    src = SOURCES[source]
    parts = {p.table: p.frame for p in compute(src, records, Partitions.of(days))}
    return FigureRows(
        src,
        dag=parts[src.figure_table("dag")],
        maand=parts[src.figure_table("maand")],
        jaar=parts[src.figure_table("jaar")],
        uitsplitsing=parts[src.breakdown_table],
    )


def days_of(*years: int) -> list[dt.date]:
    """Every day of the given years."""
    first = dt.date(min(years), 1, 1)
    return [d for i in range(366 * (max(years) - min(years) + 1)) if (d := first + dt.timedelta(days=i)).year in years]
