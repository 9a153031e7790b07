"""The published key-figures table, as the municipality prints it: figures down, years across.

Its rows are the figures the sources declare as published (in the table or in the report's text),
in their published order, with the labels and footnotes declared with them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.core.db import frame, open_published
from pipeline.core.numbers import number
from pipeline.kit.contract import AnyFigure, Unit
from pipeline.publish.kerncijfers import figures_of

SOURCE_NOTE = "Bron: gemeente Utrecht"


def published_figures() -> list[AnyFigure]:
    """The figures the municipality publishes, in the order of its table and text."""
    return [f for f in figures_of("jaar") if f.published_in is not None]


def footnote() -> str:
    notes = dict.fromkeys(f.footnote for f in published_figures() if f.footnote)
    return " ".join([*notes, SOURCE_NOTE])


@dataclass(frozen=True)
class Table:
    years: list[int]
    rows: list[tuple[str, str, list[str]]]  # (figure, label, cells per year)


def read_kerncijfers(warehouse: Path) -> pl.DataFrame:
    with open_published(warehouse) as con:
        return frame(con, "SELECT * FROM kerncijfers ORDER BY jaar")


def table(figures: pl.DataFrame) -> Table:
    years = figures["jaar"].to_list()
    rows = []
    for figure in published_figures():
        signed = figure.unit is Unit.PERCENT_CHANGE
        values = figures[figure.name].to_list() if figure.name in figures.columns else [None] * len(years)
        rows.append((figure.name, figure.label, [number(v, figure.decimals, signed) for v in values]))
    return Table(years, rows)


def as_csv(t: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kerncijfer", *t.years])
    for _, label, cells in t.rows:
        writer.writerow([label, *cells])
    return out.getvalue()


def as_markdown(t: Table) -> str:
    lines = [
        "| Kerncijfers | " + " | ".join(str(y) for y in t.years) + " |",
        "|---|" + "---:|" * len(t.years),
    ]
    lines += [f"| {label} | " + " | ".join(cells) + " |" for _, label, cells in t.rows]
    return "\n".join(lines) + f"\n\n{footnote()}\n"
