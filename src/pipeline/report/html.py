"""The municipality's report section "Publieksdienstverlening", rendered from the published warehouse.

`read` takes everything the section needs from the warehouse in one read-only connection; each
source words the statements on its own figures (counter visits -38%, calls +2%, 73% via 14 030
against 66% the year before, calls per day) from the figures of the report year and the year
before, never written down, and draws its charts. `markdown` gives the key-figures table and the
statements; `html` one self-contained page (styles and charts inline as SVG, no scripts, fonts or
links to fetch) that opens offline.

Adopted years (`pipeline freeze`) show their adopted figures; a figure the current deliveries give
differently is marked, with both values.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import polars.selectors as cs

from pipeline.core import db
from pipeline.core.atomic import atomic_output
from pipeline.core.ledger_values import RunStatus
from pipeline.core.numbers import number
from pipeline.kit.contract import PUBLISHED_TABLE
from pipeline.kit.reporting import Chart, ReportInput, Section
from pipeline.publish import catalog
from pipeline.publish.kerncijfers import figures_of
from pipeline.report import table as key_table
from pipeline.sources import SOURCES

SDG = "16.6"
ADOPTED_MARK = "†"


@dataclass(frozen=True)
class ReportData:
    """What the section shows; `kerncijfers` holds the adopted values of adopted years."""

    jaar: int
    kerncijfers: pl.DataFrame  # one row per year up to `jaar`
    sections: list[Section]  # the sources' statements and charts, in the registry's order
    definities: pl.DataFrame
    vastgesteld: dict[int, dt.datetime]  # adopted year -> when
    verschillen: dict[tuple[int, str], tuple[float | None, float | None]]  # (jaar, cijfer) -> (adopted, current)
    bron: str
    laatste_run: dt.datetime | None


# --- reading ------------------------------------------------------------------------------------


def _optional(con: duckdb.DuckDBPyConnection, table: str, query: str) -> pl.DataFrame:
    """A table that older warehouses lack reads as empty; a figure's value (exact decimal) as a float."""
    if not catalog.has(con, table):
        return pl.DataFrame()
    return db.frame(con, query).with_columns(cs.decimal().cast(pl.Float64))


def default_year(kerncijfers: pl.DataFrame, maand: pl.DataFrame) -> int:
    """The latest year with published figures for December (a year still running is not reported on),
    else the latest year."""
    published = [f.name for f in key_table.published_figures() if f.name in maand.columns]
    complete = maand.filter((pl.col("maand") == 12) & pl.any_horizontal(pl.col(published).is_not_null()))
    if not complete.is_empty():
        return int(complete["jaar"].max())  # type: ignore[arg-type]
    if kerncijfers.is_empty():
        raise ValueError("the warehouse holds no figures yet; run 'pipeline backfill' first")
    return int(kerncijfers["jaar"].max())  # type: ignore[arg-type]


def _with_adopted(kerncijfers: pl.DataFrame, adopted: pl.DataFrame) -> pl.DataFrame:
    """Replace the figures of adopted years by their adopted values."""
    if adopted.is_empty():
        return kerncijfers
    values: dict[int, dict[str, float | None]] = {}
    for row in adopted.iter_rows(named=True):
        values.setdefault(row["jaar"], {})[row["cijfer"]] = row["vastgesteld"]
    rows = kerncijfers.to_dicts()
    for row in rows:
        for name, value in values.get(row["jaar"], {}).items():
            if name in row:
                integer = kerncijfers.schema[name].is_integer()
                row[name] = None if value is None else (round(value) if integer else value)
    return pl.DataFrame(rows, schema=kerncijfers.schema)


def check_chart_ids(sections: list[Section]) -> None:
    """Two charts with one id would share the ids inside their SVG: refused, naming the id."""
    ids = Counter(chart.id for section in sections for chart in section.charts)
    twice = sorted(name for name, n in ids.items() if n > 1)
    if twice:
        raise ValueError(f"report: chart id used twice in the page: {', '.join(twice)}")


def read(warehouse: Path, year: int | None = None) -> ReportData:
    """Everything the section shows, from one read-only connection to the published warehouse.

    Each source words its own figures and draws its own charts (`Source.report`)."""
    with db.open_published(warehouse) as con:
        kerncijfers = db.frame(con, "SELECT * FROM kerncijfers ORDER BY jaar")
        maand = db.frame(con, "SELECT * FROM kerncijfers_maand ORDER BY jaar, maand")
        definities = _optional(con, "definities", "SELECT * FROM definities ORDER BY volgorde")
        adopted = _optional(con, "vastgestelde_cijfers", "SELECT * FROM vastgestelde_cijfers")
        verschillen = _optional(con, "verschillen_vastgesteld", "SELECT * FROM verschillen_vastgesteld")
        last = db.first(con, "SELECT max(geeindigd_op) FROM runs WHERE status = ?", [RunStatus.DONE])
        jaar = year if year is not None else default_year(kerncijfers, maand)
        if jaar not in kerncijfers["jaar"].to_list():
            raise ValueError(f"the warehouse holds no figures for {jaar}")
        shown = _with_adopted(kerncijfers, adopted).filter(pl.col("jaar") <= jaar)
        given = ReportInput(
            jaar=jaar,
            kerncijfers=shown,
            maand=maand.filter(pl.col("jaar") <= jaar),
            read=lambda sql, params: db.frame(con, sql, params),
        )
        sections = [section for source in SOURCES.values() for section in source.report(given)]
    check_chart_ids(sections)
    return ReportData(
        jaar=jaar,
        kerncijfers=shown,
        sections=sections,
        definities=definities,
        vastgesteld={r["jaar"]: r["vastgesteld_op"] for r in adopted.iter_rows(named=True)},
        verschillen={
            (r["jaar"], r["cijfer"]): (r["vastgesteld"], r["huidig"])
            for r in verschillen.iter_rows(named=True)
            if r["jaar"] <= jaar
        },
        bron=warehouse.name,
        laatste_run=last[0] if last else None,
    )


# --- words and numbers --------------------------------------------------------------------------


def _adopted_notes(data: ReportData) -> list[str]:
    notes = []
    for year, when in sorted(data.vastgesteld.items()):
        if year > data.jaar:
            continue
        notes.append(f"De cijfers over {year} zijn vastgesteld op {when:%d-%m-%Y}; het verslag toont die cijfers.")
    decimals = {f.name: f.decimals for f in figures_of("jaar")}
    labels = {f.name: f.label for f in figures_of("jaar")}
    for (year, name), (adopted, current) in data.verschillen.items():  # in the order of the table
        places = decimals.get(name, 1)
        notes.append(
            f"{ADOPTED_MARK} {labels.get(name, name)} {year}: vastgesteld {number(adopted, places)}, "
            f"de huidige leveringen geven {number(current, places)}."
        )
    return notes


def table(data: ReportData) -> key_table.Table:
    """The key-figures table as the report prints it; a figure changed since adoption carries a mark."""
    plain = key_table.table(data.kerncijfers)
    rows = []
    for name, label, cells in plain.rows:
        marked = [
            f"{cell} {ADOPTED_MARK}" if (year, name) in data.verschillen else cell
            for year, cell in zip(plain.years, cells, strict=True)
        ]
        rows.append((name, label, marked))
    return key_table.Table(plain.years, rows)


def markdown(data: ReportData) -> str:
    """The key-figures table, notes on adopted years, and the statements, as Markdown."""
    parts = [f"## Publieksdienstverlening {data.jaar}\n", key_table.as_markdown(table(data))]
    notes = _adopted_notes(data)
    if notes:
        parts.append("\n".join(notes) + "\n")
    for section in data.sections:
        parts.append(f"### {section.title}\n\n{section.text}\n")
    return "\n".join(parts)


# --- HTML ---------------------------------------------------------------------------------------


def html(data: ReportData, now: dt.datetime | None = None) -> str:
    """One self-contained HTML page: no scripts, no external fonts, styles or images."""
    import jinja2

    source = resources.files(__package__).joinpath("templates/report.html.j2").read_text(encoding="utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(source)
    published = (
        data.definities.filter(pl.col("gepubliceerd_in").is_not_null()).to_dicts()
        if not data.definities.is_empty()
        else []
    )
    sdg = (
        str(data.definities["sdg_omschrijving"][0])
        if not data.definities.is_empty()
        else f"Global Goal 16, subdoel {SDG}: doeltreffende, verantwoordelijke en transparante instellingen."
    )
    return template.render(
        jaar=data.jaar,
        table=table(data),
        table_rows=sum(f.published_in == PUBLISHED_TABLE for f in key_table.published_figures()),
        adopted_years=sorted(y for y in data.vastgesteld if y <= data.jaar),
        notes=_adopted_notes(data),
        footnote=key_table.footnote(),
        sections=[(s, [_markup(c) for c in s.charts]) for s in data.sections],
        definities=published,
        sdg=sdg,
        bron=data.bron,
        laatste_run=data.laatste_run,
        gemaakt=(now or dt.datetime.now(dt.UTC)),
    )


def _markup(chart: Chart) -> dict[str, Any]:
    from markupsafe import Markup

    return {"title": chart.title, "caption": chart.caption, "svg": Markup(chart.svg)}  # our own SVG, made in core


def write(path: Path, text: str) -> None:
    """Write the report beside `path` and rename it into place: an open page is never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
