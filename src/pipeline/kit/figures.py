"""The figure driver: a source's figures per local day, month and year, from its current records.

`split` takes the records of the partitions a change touched (whole years, so year figures can be
recomputed) and returns only the partitions in `parts`: day rows for its days, month rows for its
months, year rows for its years, and the day rows of its breakdown. Nothing here reads another
partition's result, so partitions can be recomputed in any order and any number of times.

A figure declared as a `Ratio` is computed here from its numerator and denominator once they are
aggregated (`ratio`), so that it re-aggregates exactly from shorter periods. The expression helpers
(`round_half_up`, `change_pct`, `per_day`) are the rounding rules of `kpis.md`, and `count`,
`percentage`, `change` and `within` the common kinds of figure and of check, for sources to build
their figures with.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.core.periods import Partitions
from pipeline.kit.contract import Figure, Ratio, Source, Sum, Unit, YearFigure


def ratio(numerator: pl.Expr, denominator: pl.Expr, scale: int = 100, decimals: int = 0) -> pl.Expr:
    """`scale` x n / d rounded half up to `decimals` (exact integer arithmetic, n >= 0) as a float;
    null when d is 0 or null. What a `Ratio` figure is, for any set of periods whose n and d are summed."""
    step = 10**decimals
    n, d = numerator.cast(pl.Int64), denominator.cast(pl.Int64)
    rounded = (2 * scale * step * n + d) // (2 * d)
    # The last .round() picks one float for 958/10, whichever kernel Polars chose to divide with.
    return pl.when(d > 0).then((rounded.cast(pl.Float64) / step).round(decimals))


def ratio_of(figure: Figure) -> pl.Expr:
    """A `Ratio` figure from its numerator's and denominator's columns of the same period."""
    assert isinstance(figure.aggregation, Ratio)
    parts = figure.aggregation
    return ratio(pl.col(parts.numerator), pl.col(parts.denominator), parts.scale, figure.decimals).alias(figure.name)


def round_half_up(value: pl.Expr, decimals: int = 0) -> pl.Expr:
    """Half up on a float figure (wait times), away from the float's representation error."""
    scale = 10**decimals
    return ((value * scale + 0.5 + 1e-9).floor() / scale).round(decimals)


def change_pct(column: str) -> pl.Expr:
    """Change of a yearly figure against the year before, in whole %, halves away from zero, sign kept.

    Null without the year right before (a gap is not a year-on-year change)."""
    previous = pl.col(column).shift(1)
    consecutive = pl.col("jaar").shift(1) == pl.col("jaar") - 1
    delta = pl.col(column) - previous
    magnitude = ratio(delta.abs(), previous)
    return pl.when(consecutive).then(pl.when(delta < 0).then(-magnitude).otherwise(magnitude))


def per_day(column: str) -> pl.Expr:
    """A yearly count divided by the days of that year (365 or 366), rounded half up."""
    leap = (pl.col("jaar") % 4 == 0) & ((pl.col("jaar") % 100 != 0) | (pl.col("jaar") % 400 == 0))
    days = pl.when(leap).then(366).otherwise(365)
    return ratio(pl.col(column), days, scale=1)


def count_of(where: pl.Expr | None = None) -> pl.Expr:
    """How many of a period's records `where` holds for (all of them without it), a whole number."""
    return pl.len().cast(pl.Int64) if where is None else where.sum().cast(pl.Int64)


def count(
    name: str,
    where: pl.Expr | None,
    *,
    label: str,
    definition: str,
    order: int,
    published_in: str | None = None,
    headline: bool = False,
    footnote: str | None = None,
) -> Figure:
    """A figure that counts a period's records (those `where` holds for, all without it): unit aantal,
    and days add up to months and years."""
    return Figure(
        name, label, definition, Unit.COUNT, Sum(), order, count_of(where), 0, published_in, headline, footnote
    )


def percentage(
    name: str,
    of: tuple[str, str],
    *,
    label: str,
    definition: str,
    order: int,
    decimals: int = 0,
    published_in: str | None = None,
) -> Figure:
    """100 x numerator / denominator (`of`, two of the source's summed figures) of the same period:
    unit procent, empty without a denominator."""
    return Figure(name, label, definition, Unit.PERCENT, Ratio(*of), order, None, decimals, published_in)


def change(
    name: str, of: str, *, label: str, order: int, published_in: str | None = None, headline: bool = False
) -> YearFigure:
    """The change of the yearly figure `of` against the year before (`change_pct`): unit
    procentverandering, defined in the same words for every source."""
    return YearFigure(
        name,
        change_pct(of),
        label=label,
        definition=f"Verandering van {of} ten opzichte van het jaar ervoor in %, half naar boven afgerond op een heel "
        "getal, met teken; leeg zonder vorig jaar.",
        unit=Unit.PERCENT_CHANGE,
        order=order,
        published_in=published_in,
        headline=headline,
    )


def within(part: str, whole: str, name: str | None = None) -> tuple[str, pl.Expr]:
    """A check that a count that is part of another cannot exceed it (`<part>_binnen_<whole>`)."""
    return name or f"{part}_binnen_{whole}", (pl.col(part) <= pl.col(whole)).fill_null(True)


@dataclass(frozen=True)
class Partitioned:
    """Rows of one of a source's figure tables for a set of partitions; `grain` is the partition key."""

    table: str
    grain: str  # "dag", "maand" or "jaar"
    frame: pl.DataFrame


def _period_columns(day: pl.Expr) -> list[pl.Expr]:
    return [day.dt.year().cast(pl.Int32).alias("jaar"), day.dt.month().cast(pl.Int32).alias("maand")]


def split(source: Source, records: pl.DataFrame, parts: Partitions) -> list[Partitioned]:
    """The source's figure rows of the partitions `parts`.

    `records` are the current records of the touched years and the `lookback_days` before them,
    each with its local day in `datum`; look-back days only inform `prepare`.
    """
    prepared = source.prepare(records).filter(pl.col("datum").dt.year().is_in(sorted(parts.years)))
    frame = prepared.with_columns(_period_columns(pl.col("datum"))).lazy()
    metrics = [figure.expr.alias(figure.name) for figure in source.figures if figure.expr is not None]
    ratios = [ratio_of(figure) for figure in source.figures if isinstance(figure.aggregation, Ratio)]
    months = sorted(y * 100 + m for y, m in parts.months)
    month_key = pl.col("jaar") * 100 + pl.col("maand")
    whole = len(parts.days) == sum(366 if _leap(y) else 365 for y in parts.years)
    in_days = frame if whole else frame.filter(pl.col("datum").is_in(sorted(parts.days)))
    in_months = frame if whole else frame.filter(month_key.is_in(months))
    breakdown = source.breakdown
    # One collect for the four tables: Polars runs them side by side over the one frame.
    day, month, year, broken_down = pl.collect_all(
        [
            in_days.group_by("datum").agg(metrics).with_columns(ratios).sort("datum"),
            in_months.group_by("jaar", "maand").agg(metrics).with_columns(ratios).sort("jaar", "maand"),
            frame.group_by("jaar").agg(metrics).with_columns(ratios).sort("jaar"),
            in_days.group_by("datum", *breakdown.keys)
            .agg(pl.len().cast(pl.Int64).alias("aantal"), *breakdown.sums)
            .sort("datum", *breakdown.keys, nulls_last=True),
        ]
    )
    return [
        Partitioned(source.figure_table("dag"), "dag", day),
        Partitioned(source.figure_table("maand"), "maand", month),
        Partitioned(source.figure_table("jaar"), "jaar", year),
        Partitioned(source.breakdown_table, "dag", broken_down),
    ]


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
