"""The municipality's report section "Publieksdienstverlening", rendered from the published warehouse.

`read` takes everything the section needs from the warehouse in one read-only connection; the
statements the report makes (counter visits -38%, calls +2%, 73% via 14 030 against 66% the year
before, calls per day) are computed from the figures of the report year and the year before, never
written down. `markdown` gives the key-figures table and the statements; `html` one self-contained
page (styles and charts inline as SVG, no scripts, fonts or links to fetch) that opens offline.

Adopted years (`pipeline freeze`) show their adopted figures; a figure the current deliveries give
differently is marked, with both values.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline import report, store

MAANDEN = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
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
KANALEN = ("balie", "video", "telefoon")
KEUZES = ("Utrecht", "Overig", "Geen keuze", "Zeist", "Houten", "Nieuwegein", "IJsselstein")
COLOURS = {
    "balie": "#c8102e",
    "video": "#f2a900",
    "telefoon": "#1f5fa8",
    "Utrecht": "#c8102e",
    "Overig": "#e8707f",
    "Geen keuze": "#f4b6be",
    "Zeist": "#1f5fa8",
    "Houten": "#5b8fd0",
    "Nieuwegein": "#9dbde6",
    "IJsselstein": "#cfdff2",
}
SDG = "16.6"
ADOPTED_MARK = "†"


@dataclass(frozen=True)
class Statement:
    title: str
    text: str


@dataclass(frozen=True)
class Chart:
    title: str
    caption: str
    svg: str


@dataclass(frozen=True)
class ReportData:
    """What the section shows; `kerncijfers` holds the adopted values of adopted years."""

    jaar: int
    kerncijfers: pl.DataFrame  # one row per year up to `jaar`
    maand: pl.DataFrame  # jaar, maand, baliebezoeken_met_afspraak, telefoontjes_gemeente
    kanalen: pl.DataFrame  # jaar, kanaal, aantal (appointments that took place)
    keuzes: pl.DataFrame  # jaar, keuze, aantal (calls on 14 030, also those sent on)
    definities: pl.DataFrame
    vastgesteld: dict[int, dt.datetime]  # adopted year -> when
    verschillen: dict[tuple[int, str], tuple[float | None, float | None]]  # (jaar, cijfer) -> (adopted, current)
    bron: str
    laatste_run: dt.datetime | None


# --- reading ------------------------------------------------------------------------------------


def _has_view(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = store.first(con, "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND schema_name = 'main'", [name])
    return bool(found and found[0])


def _optional(con: duckdb.DuckDBPyConnection, view: str, query: str) -> pl.DataFrame:
    """A view that older warehouses lack reads as empty."""
    return store.frame(con, query) if _has_view(con, view) else pl.DataFrame()


def default_year(kerncijfers: pl.DataFrame, maand: pl.DataFrame) -> int:
    """The latest year with figures for December (a year still running is not reported on), else the latest."""
    complete = maand.filter(
        (pl.col("maand") == 12)
        & (pl.col("baliebezoeken_met_afspraak").is_not_null() | pl.col("telefoontjes_gemeente").is_not_null())
    )
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


def read(warehouse: Path, year: int | None = None) -> ReportData:
    """Everything the section shows, from one read-only connection to the published warehouse."""
    if not warehouse.exists():
        raise FileNotFoundError(f"warehouse {warehouse} does not exist; run 'pipeline backfill' first")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        kerncijfers = store.frame(con, "SELECT * FROM kerncijfers ORDER BY jaar")
        maand = store.frame(
            con,
            "SELECT jaar::INTEGER AS jaar, maand::INTEGER AS maand, baliebezoeken_met_afspraak, telefoontjes_gemeente "
            "FROM kerncijfers_maand ORDER BY jaar, maand",
        )
        kanalen = store.frame(
            con,
            "SELECT jaar, kanaal, sum(aantal)::BIGINT AS aantal FROM afspraken_uitsplitsing "
            "WHERE status = 'verschenen' GROUP BY ALL ORDER BY ALL",
        )
        keuzes = store.frame(
            con,
            "SELECT jaar, coalesce(keuze, 'Geen keuze') AS keuze, sum(aantal)::BIGINT AS aantal "
            "FROM telefoontjes_uitsplitsing WHERE nummer = '14030' GROUP BY ALL ORDER BY ALL",
        )
        definities = _optional(con, "definities", "SELECT * FROM definities ORDER BY volgorde")
        adopted = _optional(con, "vastgestelde_cijfers", "SELECT * FROM vastgestelde_cijfers")
        verschillen = _optional(con, "verschillen_vastgesteld", "SELECT * FROM verschillen_vastgesteld")
        last = store.first(con, "SELECT max(geeindigd_op) FROM runs WHERE status = 'voltooid'")
    finally:
        con.close()

    jaar = year if year is not None else default_year(kerncijfers, maand)
    if jaar not in kerncijfers["jaar"].to_list():
        raise ValueError(f"the warehouse holds no figures for {jaar}")
    return ReportData(
        jaar=jaar,
        kerncijfers=_with_adopted(kerncijfers, adopted).filter(pl.col("jaar") <= jaar),
        maand=maand.filter(pl.col("jaar") <= jaar),
        kanalen=kanalen.filter(pl.col("jaar") <= jaar),
        keuzes=keuzes.filter(pl.col("jaar") <= jaar),
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


def number(value: float | None, decimals: int = 0) -> str:
    """Dutch number format: 304196 -> '304.196', 58.25 -> '58,3' with one decimal."""
    if value is None:
        return "-"
    if decimals == 0:
        return report.dutch_number(round(value))
    whole = f"{value:,.{decimals}f}"
    return whole.replace(",", "_").replace(".", ",").replace("_", ".")


def signed_pct(value: int | None) -> str:
    """-38 -> '-38%', 2 -> '+2%'."""
    return "-" if value is None else f"{'+' if value > 0 else ''}{value}%"


def in_words(pct: int) -> str:
    """73 -> 'bijna drie kwart (73%)': the way the report says a share, near a common fraction."""
    fractions: tuple[tuple[float, str], ...] = (
        (25.0, "een kwart"),
        (100 / 3, "een derde"),
        (50.0, "de helft"),
        (200 / 3, "twee derde"),
        (75.0, "drie kwart"),
    )
    for share, words in fractions:
        if abs(pct - share) <= 3:
            qualifier = "bijna " if pct < share - 0.5 else "ruim " if pct > share + 0.5 else ""
            return f"{qualifier}{words} ({pct}%)"
    return f"{pct}%"


def _row(data: ReportData, year: int) -> dict[str, Any] | None:
    found = data.kerncijfers.filter(pl.col("jaar") == year)
    return found.row(0, named=True) if not found.is_empty() else None


def _month_extreme(data: ReportData, column: str, highest: bool) -> tuple[str, int] | None:
    months = data.maand.filter((pl.col("jaar") == data.jaar) & pl.col(column).is_not_null())
    if months.is_empty():
        return None
    best = months.sort(column, descending=highest).row(0, named=True)
    return MAANDNAMEN[best["maand"] - 1], int(best[column])


def statements(data: ReportData) -> list[Statement]:
    """The report's statements for the report year against the year before, from the figures."""
    year, before = data.jaar, data.jaar - 1
    now, then = _row(data, year), _row(data, before)
    assert now is not None
    said: list[Statement] = []

    visits, change = now["baliebezoeken_met_afspraak"], now["baliebezoeken_verandering_pct"]
    if visits is not None and change is not None and then is not None:
        if change == 0:
            verb = "gelijk gebleven"
        else:
            verb = ("sterk " if abs(change) >= 20 else "") + ("teruggelopen" if change < 0 else "toegenomen")
        text = (
            f"Het aantal baliebezoeken met afspraak is in {year} {verb} ({signed_pct(change)}): "
            f"van {number(then['baliebezoeken_met_afspraak'])} in {before} naar {number(visits)} in {year}."
        )
        low = _month_extreme(data, "baliebezoeken_met_afspraak", highest=False)
        if low:
            text += f" De rustigste maand aan de balie was {low[0]} met {number(low[1])} bezoeken."
        said.append(Statement(f"Baliebezoeken {signed_pct(change)}", text))

    calls, change = now["telefoontjes_gemeente"], now["telefoontjes_verandering_pct"]
    if calls is not None:
        text = ""
        if change is not None:
            amount = (
                "evenveel"
                if change == 0
                else ("iets " if abs(change) <= 5 else "") + ("meer" if change > 0 else "minder")
            )
            text = f"In {year} is er {amount} gebeld naar de gemeente dan in {before} ({signed_pct(change)}). "
        text += f"In {year} kwamen in totaal {number(calls)} telefoontjes binnen"
        per_day = now["telefoontjes_per_dag"]
        text += f", wat neerkomt op gemiddeld {number(per_day)} telefoontjes per dag." if per_day is not None else "."
        peak = _month_extreme(data, "telefoontjes_gemeente", highest=True)
        if peak:
            text += f" De drukste maand aan de telefoon was {peak[0]} met {number(peak[1])} telefoontjes."
        title = f"Telefoontjes {signed_pct(change)}" if change is not None else "Telefoontjes"
        said.append(Statement(title, text))

    share = now["aandeel_14030_pct"]
    if share is not None:
        text = (
            f"In {year} wordt het korte nummer 14 030 bij {in_words(share)} van de oproepen gebruikt "
            "in plaats van 030 – 286 0000."
        )
        earlier = then["aandeel_14030_pct"] if then else None
        if earlier is not None:
            still = "nog " if earlier < share else ""
            text += f" In {before} was dit percentage {still}{earlier}%."
        said.append(Statement(f"{in_words(share).split(' (')[0].capitalize()} telefoontjes via 14 030", text))

    reach = now["bereikbaarheid_pct"]
    if reach is not None:
        earlier = then["bereikbaarheid_pct"] if then else None
        if earlier is None:
            how = f"is {reach}%"
        elif earlier == reach:
            how = f"is met {reach}% gelijk gebleven"
        else:
            how = f"is {'gestegen' if reach > earlier else 'gedaald'} van {earlier}% naar {reach}%"
        said.append(
            Statement(
                "Telefonische bereikbaarheid", f"De telefonische bereikbaarheid van het Klantcontactcentrum {how}."
            )
        )
    return said


def _adopted_notes(data: ReportData) -> list[str]:
    notes = []
    for year, when in sorted(data.vastgesteld.items()):
        if year > data.jaar:
            continue
        notes.append(f"De cijfers over {year} zijn vastgesteld op {when:%d-%m-%Y}; het verslag toont die cijfers.")
    for (year, name), (adopted, current) in data.verschillen.items():  # in the order of the table
        label = _label(data, name)
        notes.append(
            f"{ADOPTED_MARK} {label} {year}: vastgesteld {number(adopted, _decimals(name))}, "
            f"de huidige leveringen geven {number(current, _decimals(name))}."
        )
    return notes


def _label(data: ReportData, name: str) -> str:
    if not data.definities.is_empty():
        found = data.definities.filter(pl.col("cijfer") == name)
        if not found.is_empty():
            return str(found["label"][0])
    return dict(report.ROWS).get(name, name)


ONE_DECIMAL = {"beantwoord_binnen_60s_pct", "herhaalbellers_7d_pct", "no_show_pct"}


def _decimals(name: str) -> int:
    return 1 if name.endswith("_s") or name in ONE_DECIMAL else 0


def table(data: ReportData) -> report.Table:
    """The key-figures table as the report prints it; a figure changed since adoption carries a mark."""
    plain = report.table(data.kerncijfers)
    rows = []
    for name, label, cells in plain.rows:
        marked = [
            f"{cell} {ADOPTED_MARK}" if (year, name) in data.verschillen else cell
            for year, cell in zip(plain.years, cells, strict=True)
        ]
        rows.append((name, label, marked))
    return report.Table(plain.years, rows)


def markdown(data: ReportData) -> str:
    """The key-figures table, notes on adopted years, and the statements, as Markdown."""
    parts = [f"## Publieksdienstverlening {data.jaar}\n", report.as_markdown(table(data))]
    notes = _adopted_notes(data)
    if notes:
        parts.append("\n".join(notes) + "\n")
    for said in statements(data):
        parts.append(f"### {said.title}\n\n{said.text}\n")
    return "\n".join(parts)


# --- charts -------------------------------------------------------------------------------------

_ID = re.compile(r'\bid="([^"]+)"')


def _svg(figure: Any, prefix: str, label: str) -> str:
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


def _axis_numbers(axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _: number(value)))


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    _axis_numbers(ax.yaxis)


def _monthly_chart(data: ReportData) -> Chart | None:
    from matplotlib.figure import Figure

    months = data.maand.sort("jaar", "maand")
    if months.is_empty():
        return None
    x = [dt.date(r["jaar"], r["maand"], 15) for r in months.iter_rows(named=True)]
    figure = Figure(figsize=(9, 5.2), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True)
    series = (
        (top, "baliebezoeken_met_afspraak", "Baliebezoeken met afspraak per maand", COLOURS["balie"], False),
        (bottom, "telefoontjes_gemeente", "Telefoontjes naar de gemeente per maand", COLOURS["telefoon"], True),
    )
    notes = []
    for ax, column, title, colour, highest in series:
        values = months[column].to_list()
        ax.plot(x, [v if v is not None else float("nan") for v in values], color=colour, linewidth=2, marker="o", ms=3)
        ax.set_title(title, loc="left", fontsize=11)
        ax.set_ylim(bottom=0)
        _style(ax)
        extreme = _month_extreme(data, column, highest)
        if extreme:
            month = MAANDNAMEN.index(extreme[0]) + 1
            where = dt.date(data.jaar, month, 15)
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
            notes.append(f"{word} in {extreme[0]} {data.jaar} ({number(extreme[1])})")
    years = sorted({d.year for d in x})
    bottom.set_xticks([dt.date(y, 1, 1) for y in years], [str(y) for y in years])
    bottom.set_xticks([dt.date(y, m, 1) for y in years for m in (4, 7, 10)], minor=True)
    return Chart(
        "Baliebezoeken en telefoontjes per maand",
        "Aantal per kalendermaand; " + ", ".join(notes) + ".",
        _svg(figure, "maand", "Baliebezoeken en telefoontjes per maand"),
    )


def _dark(colour: str) -> bool:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * red + 0.587 * green + 0.114 * blue < 140


def _stacked_chart(
    frame: pl.DataFrame, key: str, order: Sequence[str], title: str, prefix: str, caption: str
) -> Chart | None:
    from matplotlib.figure import Figure

    if frame.is_empty():
        return None
    years = sorted(frame["jaar"].unique().to_list())
    present = [k for k in order if k in set(frame[key].to_list())] + sorted(
        set(frame[key].to_list()) - set(order), key=str
    )
    figure = Figure(figsize=(9, 3.6), layout="constrained")
    ax = figure.subplots()
    base = [0] * len(years)
    totals = {r["jaar"]: r["aantal"] for r in frame.group_by("jaar").agg(pl.col("aantal").sum()).iter_rows(named=True)}
    for name in present:
        counts = {r["jaar"]: r["aantal"] for r in frame.filter(pl.col(key) == name).iter_rows(named=True)}
        heights = [counts.get(y, 0) for y in years]
        colour = COLOURS.get(name, "#888888")
        ax.bar([str(y) for y in years], heights, bottom=base, label=name, color=colour, width=0.6)
        ink = "white" if _dark(colour) else "#1a1a1a"
        for i, (h, y) in enumerate(zip(heights, years, strict=True)):
            if totals[y] and h / totals[y] >= 0.06:
                share = f"{round(100 * h / totals[y])}%"
                ax.text(i, base[i] + h / 2, share, ha="center", va="center", fontsize=8, color=ink)
        base = [b + h for b, h in zip(base, heights, strict=True)]
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=9)
    _style(ax)
    return Chart(title, caption, _svg(figure, prefix, title))


def charts(data: ReportData) -> dict[str, Chart]:
    """The charts of the section, by the statement they go with."""
    import matplotlib

    found: dict[str, Chart | None] = {}
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "publieksdienstverlening", "font.size": 9}):
        found["maand"] = _monthly_chart(data)
        found["kanalen"] = _stacked_chart(
            data.kanalen,
            "kanaal",
            KANALEN,
            "Afspraken die plaatsvonden, naar kanaal",
            "kanalen",
            "Afspraken met status verschenen, alle locaties, per jaar; percentages: aandeel van het jaar.",
        )
        found["keuzes"] = _stacked_chart(
            data.keuzes,
            "keuze",
            KEUZES,
            "Keuzes in het 14 030-menu",
            "keuzes",
            "Alle gesprekken op 14 030 per jaar naar menukeuze; Zeist, Houten, Nieuwegein en IJsselstein "
            "worden doorgeschakeld en tellen niet mee voor Utrecht.",
        )
    return {k: v for k, v in found.items() if v is not None}


# --- HTML ---------------------------------------------------------------------------------------


def html(data: ReportData, now: dt.datetime | None = None) -> str:
    """One self-contained HTML page: no scripts, no external fonts, styles or images."""
    import jinja2

    source = resources.files("pipeline").joinpath("templates/report.html.j2").read_text(encoding="utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(source)
    t = table(data)
    said = statements(data)
    figures = charts(data)
    by_title = {s.title: s for s in said}
    sections: list[tuple[Statement, list[Chart]]] = []
    for s in said:
        attached: list[Chart] = []
        if s.title.startswith("Baliebezoeken") and "kanalen" in figures:
            attached.append(figures["kanalen"])
        if s.title.startswith("Telefoontjes") and "maand" in figures:
            attached.append(figures["maand"])
        if "14 030" in s.title and "keuzes" in figures:
            attached.append(figures["keuzes"])
        sections.append((s, attached))
    shown = {c.title for _, cs in sections for c in cs}
    rest = [c for c in figures.values() if c.title not in shown]
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
        table=t,
        adopted_years=sorted(y for y in data.vastgesteld if y <= data.jaar),
        notes=_adopted_notes(data),
        footnote=report.FOOTNOTE,
        sections=[(s, [_markup(c) for c in cs]) for s, cs in sections],
        extra_charts=[_markup(c) for c in rest],
        definities=published,
        sdg=sdg,
        bron=data.bron,
        laatste_run=data.laatste_run,
        gemaakt=(now or dt.datetime.now(dt.UTC)),
        has_statements=bool(by_title),
    )


def _markup(chart: Chart) -> dict[str, Any]:
    from markupsafe import Markup

    return {"title": chart.title, "caption": chart.caption, "svg": Markup(chart.svg)}  # our own SVG, made above


def write(path: Path, text: str) -> None:
    """Write the report beside `path` and rename it into place: an open page is never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
