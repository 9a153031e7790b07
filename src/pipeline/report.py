"""The published key-figures table, as the municipality prints it: figures down, years across."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline import store

ROWS: tuple[tuple[str, str], ...] = (
    ("baliebezoeken_met_afspraak", "aantal baliebezoeken* met afspraak"),
    ("telefoontjes_gemeente", "aantal telefoontjes naar gemeente"),
    ("telefoontjes_14030", "aantal telefoontjes via 14030"),
    ("bereikbaarheid_pct", "% telefonische bereikbaarheid"),
    ("aandeel_14030_pct", "% telefoontjes via 14030"),
    ("baliebezoeken_verandering_pct", "verandering baliebezoeken t.o.v. vorig jaar (%)"),
    ("telefoontjes_verandering_pct", "verandering telefoontjes t.o.v. vorig jaar (%)"),
    ("telefoontjes_per_dag", "telefoontjes per dag"),
)
FOOTNOTE = "* Stadskantoor en Wijkservicecentrum Vleuten-De Meern. Bron: gemeente Utrecht"


def dutch_number(value: int | float | None, signed: bool = False) -> str:
    """291215 -> '291.215'; a figure that cannot be computed is shown as '-'."""
    if value is None:
        return "-"
    text = f"{int(value):,}".replace(",", ".")
    return f"+{text}" if signed and value > 0 else text


@dataclass(frozen=True)
class Table:
    years: list[int]
    rows: list[tuple[str, str, list[str]]]  # (figure, label, cells per year)


def read_kerncijfers(warehouse: Path) -> pl.DataFrame:
    if not warehouse.exists():
        raise FileNotFoundError(f"warehouse {warehouse} does not exist; run 'pipeline backfill' first")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return store.frame(con, "SELECT * FROM kerncijfers ORDER BY jaar")
    finally:
        con.close()


def table(figures: pl.DataFrame) -> Table:
    years = figures["jaar"].to_list()
    rows = []
    for name, label in ROWS:
        cells = [dutch_number(v, signed=name.endswith("verandering_pct")) for v in figures[name].to_list()]
        rows.append((name, label, cells))
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
    return "\n".join(lines) + f"\n\n{FOOTNOTE}\n"
