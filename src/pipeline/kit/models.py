"""Models of the figure tables, built from what the sources declare (`pipeline.kit.contract.Figure`).

A figure's definition is written once, in its declaration; here it becomes the column's
description, which the warehouse publishes as the column comment. Each schema's `unique` is its
grain and is enforced. Types and bounds follow from each figure's declared unit and aggregation
(`Figure.dtype`, `Unit.minimum`/`maximum`), never from its name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandera.polars as pa
import polars as pl

from pipeline.core.periods import GRAIN_KEYS, PERIOD_COLUMNS
from pipeline.kit.contract import AnyFigure

__all__ = ["PERIODE", "RawRow", "figure_schema"]

PERIODE: dict[str, str] = {
    "jaar": "Kalenderjaar in Nederlandse tijd (Europe/Amsterdam).",
    "maand": "Kalendermaand (1-12) in Nederlandse tijd.",
    "datum": "Kalenderdag in Nederlandse tijd (Europe/Amsterdam); een gesprek om 23:30 UTC op 31 december "
    "hoort bij 1 januari.",
}


class RawRow(pa.DataFrameModel):
    """The model of a source's delivered row after parsing (`Source.rows.model`): exactly its columns,
    none coerced (parsing gives each its type, and a value it cannot read stays null)."""

    class Config:
        strict = True
        coerce = False


def _bounds(figure: AnyFigure) -> list[pa.Check]:
    low, high = figure.unit.minimum, figure.unit.maximum
    if low is not None and high is not None:
        return [pa.Check.in_range(low, high)]
    return [pa.Check.ge(low)] if low is not None else []


def _period(name: str) -> pa.Column:
    if name == "datum":
        return pa.Column(pl.Date, description=PERIODE[name])
    bounds = pa.Check.in_range(1900, 2200) if name == "jaar" else pa.Check.in_range(1, 12)
    return pa.Column(pl.Int32, bounds, description=PERIODE[name])


def figure_schema(
    grain: str,
    figures: Sequence[AnyFigure],
    checks: Iterable[tuple[str, pl.Expr]] = (),
    period_columns: Sequence[str] | None = None,
) -> pa.DataFrameSchema:
    """The schema of a table with one row per period of `grain` and a column per figure, in order.

    `checks` are row-wise conditions across figures; `period_columns` defaults to the grain's own.
    """
    period = tuple(period_columns) if period_columns is not None else PERIOD_COLUMNS[grain]
    columns = {name: _period(name) for name in period}
    for figure in figures:
        columns[figure.name] = pa.Column(figure.dtype, _bounds(figure), nullable=True, description=figure.definition)
    frame_checks = [pa.Check(lambda data, expr=expr: data.lazyframe.select(expr), name=name) for name, expr in checks]
    return pa.DataFrameSchema(
        columns, checks=frame_checks, unique=list(GRAIN_KEYS[grain]), strict=True, name=f"kerncijfers_{grain}"
    )
