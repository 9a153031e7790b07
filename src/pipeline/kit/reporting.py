"""Building blocks of the report section: what a source writes (statements and charts) and what it reads.

A source's `report` gets a `ReportInput` (the published figures up to the report year, and read-only
access to its own published views) and returns `Section`s: a title, the statement computed from
the figures, and charts as inline SVG. The report (`pipeline.report`) assembles them with the
key-figures table; it never words a figure itself.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pipeline.core.numbers import number

MAANDNAMEN = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
GREY = "#888888"


@dataclass(frozen=True)
class Chart:
    """A chart as inline SVG; `id` prefixes every id inside it, so it must be unique in the page (the
    report refuses two charts with one id)."""

    title: str
    caption: str
    svg: str
    id: str


@dataclass(frozen=True)
class Section:
    """One part of the report: a heading, its statement, and the charts that go with it."""

    title: str
    text: str
    charts: tuple[Chart, ...] = ()


@dataclass(frozen=True)
class ReportInput:
    """What a source's report sees: the figures up to the report year and its published views.

    `kerncijfers` has one row per year up to `jaar` (adopted years with their adopted values),
    `maand` one row per month. `read` queries the published warehouse (read-only, values bound).
    """

    jaar: int
    kerncijfers: pl.DataFrame
    maand: pl.DataFrame
    read: Callable[[str, Sequence[Any]], pl.DataFrame] = field(repr=False)

    def query(self, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
        return self.read(sql, params)

    def counts_per_year(self, view: str, key: str, status: str) -> pl.DataFrame:
        """`aantal` per year up to the report year and value of `key`, of the rows of a source's
        breakdown view with `status` (`jaar`, key, `aantal`: what `stacked_chart` draws)."""
        return self.query(
            f"SELECT jaar, {key}, sum(aantal)::BIGINT AS aantal FROM {view} "
            "WHERE status = ? AND jaar <= ? GROUP BY ALL ORDER BY ALL",
            [status, self.jaar],
        )

    def row(self, year: int) -> dict[str, Any] | None:
        found = self.kerncijfers.filter(pl.col("jaar") == year)
        return found.row(0, named=True) if not found.is_empty() else None

    def month_extreme(self, column: str, highest: bool) -> tuple[str, int] | None:
        """The report year's busiest (or quietest) month of a figure: (month name, value)."""
        if column not in self.maand.columns:
            return None
        months = self.maand.filter((pl.col("jaar") == self.jaar) & pl.col(column).is_not_null())
        if months.is_empty():
            return None
        best = months.sort(column, descending=highest).row(0, named=True)
        return MAANDNAMEN[best["maand"] - 1], int(best[column])


# --- charts -------------------------------------------------------------------------------------

_ID = re.compile(r'\bid="([^"]+)"')


@contextmanager
def chart_style() -> Iterator[None]:
    """Deterministic SVG (text as paths, fixed id salt) in the report's type size."""
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "publieksdienstverlening", "font.size": 9}):
        yield


def svg(figure: Any, prefix: str, label: str) -> str:
    """The figure as an inline <svg> element: no XML prolog or metadata, ids unique in the page, scalable."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    for name in sorted(set(_ID.findall(text)), key=len, reverse=True):
        new = f"{prefix}-{name}"
        text = text.replace(f'id="{name}"', f'id="{new}"').replace(f'"#{name}"', f'"#{new}"')
        text = text.replace(f"url(#{name})", f"url(#{new})")
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", text, count=1)
    return text.replace("<svg", f'<svg role="img" aria-label="{label}"', 1)


def style(ax: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: number(value)))


def monthly_chart(data: ReportInput, column: str, title: str, colour: str, highest: bool, prefix: str) -> Chart | None:
    """A figure per month over the years, with the report year's peak (or dip) marked."""
    from matplotlib.figure import Figure

    if column not in data.maand.columns:
        return None
    months = data.maand.filter(pl.col(column).is_not_null()).sort("jaar", "maand")
    if months.is_empty():
        return None
    x: list[Any] = [dt.date(r["jaar"], r["maand"], 15) for r in months.iter_rows(named=True)]
    figure = Figure(figsize=(9, 2.9), layout="constrained")
    ax = figure.subplots()
    ax.plot(x, months[column].to_list(), color=colour, linewidth=2, marker="o", ms=3)
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_ylim(bottom=0)
    style(ax)
    caption = "Aantal per kalendermaand"
    extreme = data.month_extreme(column, highest)
    if extreme:
        where = dt.date(data.jaar, MAANDNAMEN.index(extreme[0]) + 1, 15)
        word = "piek" if highest else "dal"
        ax.annotate(
            f"{word}: {extreme[0]} {data.jaar}\n{number(extreme[1])}",
            xy=(where, extreme[1]),
            xytext=(14, -6) if highest else (-16, 8),  # a peak has room to its right, a dip to its left
            textcoords="offset points",
            ha="left" if highest else "right",
            va="top" if highest else "bottom",
            fontsize=8.5,
            arrowprops={"arrowstyle": "-", "color": "#555555", "linewidth": 0.8},
        )
        caption += f"; {word} in {extreme[0]} {data.jaar} ({number(extreme[1])})"
    years = sorted({d.year for d in x})
    ticks: list[Any] = [dt.date(y, 1, 1) for y in years]
    minor: list[Any] = [dt.date(y, m, 1) for y in years for m in (4, 7, 10)]
    ax.set_xticks(ticks, [str(y) for y in years])
    ax.set_xticks(minor, minor=True)
    return Chart(title, caption + ".", svg(figure, prefix, title), prefix)


def _dark(colour: str) -> bool:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * red + 0.587 * green + 0.114 * blue < 140


def stacked_chart(
    frame: pl.DataFrame,
    key: str,
    colours: dict[str, str],
    title: str,
    prefix: str,
    caption: str,
    order: Sequence[str] = (),
) -> Chart | None:
    """Counts per year (`jaar`, `key`, `aantal`) as stacked bars, with each part's share of its year."""
    from matplotlib.figure import Figure

    if frame.is_empty():
        return None
    order = order or tuple(colours)
    years = sorted(frame["jaar"].unique().to_list())
    values = set(frame[key].to_list())
    present = [k for k in order if k in values] + sorted(values - set(order), key=str)
    figure = Figure(figsize=(9, 3.6), layout="constrained")
    ax = figure.subplots()
    base = [0] * len(years)
    totals = {r["jaar"]: r["aantal"] for r in frame.group_by("jaar").agg(pl.col("aantal").sum()).iter_rows(named=True)}
    for name in present:
        counts = {r["jaar"]: r["aantal"] for r in frame.filter(pl.col(key) == name).iter_rows(named=True)}
        heights = [counts.get(y, 0) for y in years]
        colour = colours.get(name, GREY)
        ax.bar([str(y) for y in years], heights, bottom=base, label=name, color=colour, width=0.6)
        ink = "white" if _dark(colour) else "#1a1a1a"
        for i, (h, y) in enumerate(zip(heights, years, strict=True)):
            if totals[y] and h / totals[y] >= 0.06:
                share = f"{round(100 * h / totals[y])}%"
                ax.text(i, base[i] + h / 2, share, ha="center", va="center", fontsize=8, color=ink)
        base = [b + h for b, h in zip(base, heights, strict=True)]
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=9)
    style(ax)
    return Chart(title, caption, svg(figure, prefix, title), prefix)
