"""Models of the figure tables, built from what the sources declare (`pipeline.core.contract.Figure`).

A figure's definition is written once, in its declaration; here it becomes the column's
description, which the warehouse publishes as the column comment. Each schema's `unique` is its
grain and is enforced. Bounds follow from the unit in the name: `_pct` lies in 0-100 (a change in
% may be negative), counts and seconds are never negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandera.polars as pa
import polars as pl

from pipeline.core.contract import AnyFigure

PERIODE: dict[str, str] = {
    "jaar": "Kalenderjaar in Nederlandse tijd (Europe/Amsterdam).",
    "maand": "Kalendermaand (1-12) in Nederlandse tijd.",
    "datum": "Kalenderdag in Nederlandse tijd (Europe/Amsterdam); een gesprek om 23:30 UTC op 31 december "
    "hoort bij 1 januari.",
}
GRAIN_KEYS: dict[str, tuple[str, ...]] = {"dag": ("datum",), "maand": ("jaar", "maand"), "jaar": ("jaar",)}
# Columns of each grain's table besides the figures (the day table also names its month and year).
PERIOD_COLUMNS: dict[str, tuple[str, ...]] = {
    "dag": ("datum", "jaar", "maand"),
    "maand": ("jaar", "maand"),
    "jaar": ("jaar",),
}


def dtype(figure: AnyFigure) -> type[pl.DataType]:
    return pl.Int64 if figure.decimals == 0 else pl.Float64


def _checks(name: str) -> list[pa.Check]:
    if name.endswith("verandering_pct"):
        return []
    if name.endswith("_pct"):
        return [pa.Check.in_range(0, 100)]
    return [pa.Check.ge(0)]


def _period(name: str) -> pa.Column:
    if name == "datum":
        return pa.Column(pl.Date, description=PERIODE[name])
    bounds = pa.Check.in_range(1900, 2200) if name == "jaar" else pa.Check.in_range(1, 12)
    return pa.Column(pl.Int64, bounds, description=PERIODE[name])


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
    for figure in sorted(figures, key=lambda f: f.order):
        columns[figure.name] = pa.Column(
            dtype(figure), _checks(figure.name), nullable=True, description=figure.definition
        )
    frame_checks = [pa.Check(lambda data, expr=expr: data.lazyframe.select(expr), name=name) for name, expr in checks]
    return pa.DataFrameSchema(
        columns, checks=frame_checks, unique=list(GRAIN_KEYS[grain]), strict=True, name=f"kerncijfers_{grain}"
    )
