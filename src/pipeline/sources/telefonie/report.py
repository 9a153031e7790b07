"""The report's statements on calls: how much was called, how much via 14 030, how reachable.

Every number comes from the published figures of the report year and the year before.
"""

from __future__ import annotations

from pipeline.core.numbers import in_words, number, pct, signed_pct
from pipeline.kit.reporting import Chart, ReportInput, Section, chart_style, monthly_chart, stacked_chart
from schemas import telefonie as schema

COLOUR = "#1f5fa8"
KEUZE_COLOURS = {
    "Utrecht": "#c8102e",
    "Overig": "#e8707f",
    "Geen keuze": "#f4b6be",
    "Zeist": "#1f5fa8",
    "Houten": "#5b8fd0",
    "Nieuwegein": "#9dbde6",
    "IJsselstein": "#cfdff2",
}


def _choices_chart(data: ReportInput) -> Chart | None:
    choices = data.query(
        "SELECT jaar, coalesce(keuze, 'Geen keuze') AS keuze, sum(aantal)::BIGINT AS aantal "
        "FROM telefonie_uitsplitsing WHERE nummer = ? AND jaar <= ? GROUP BY ALL ORDER BY ALL",
        [schema.NUMMER_14030, data.jaar],
    )
    return stacked_chart(
        choices,
        "keuze",
        KEUZE_COLOURS,
        "Keuzes in het 14 030-menu",
        "keuzes",
        "Alle gesprekken op 14 030 per jaar naar menukeuze; Zeist, Houten, Nieuwegein en IJsselstein "
        "worden doorgeschakeld en tellen niet mee voor Utrecht.",
    )


def sections(data: ReportInput) -> list[Section]:
    year, before = data.jaar, data.jaar - 1
    now, then = data.row(year), data.row(before)
    if now is None or now["telefoontjes_gemeente"] is None:
        return []
    said: list[Section] = []
    with chart_style():
        per_month = monthly_chart(
            data, "telefoontjes_gemeente", "Telefoontjes naar de gemeente per maand", COLOUR, True, "telefoontjes"
        )
        choices = _choices_chart(data)

    calls, change = now["telefoontjes_gemeente"], now["telefoontjes_verandering_pct"]
    text = ""
    if change is not None:
        amount = (
            "evenveel" if change == 0 else ("iets " if abs(change) <= 5 else "") + ("meer" if change > 0 else "minder")
        )
        text = f"In {year} is er {amount} gebeld naar de gemeente dan in {before} ({signed_pct(change)}). "
    text += f"In {year} kwamen in totaal {number(calls)} telefoontjes binnen"
    per_day = now["telefoontjes_per_dag"]
    text += f", wat neerkomt op gemiddeld {number(per_day)} telefoontjes per dag." if per_day is not None else "."
    peak = data.month_extreme("telefoontjes_gemeente", highest=True)
    if peak:
        text += f" De drukste maand aan de telefoon was {peak[0]} met {number(peak[1])} telefoontjes."
    title = f"Telefoontjes {signed_pct(change)}" if change is not None else "Telefoontjes"
    said.append(Section(title, text, tuple(c for c in (per_month,) if c)))

    share = now["aandeel_14030_pct"]
    if share is not None:
        text = (
            f"In {year} wordt het korte nummer 14 030 bij {in_words(share)} van de oproepen gebruikt "
            "in plaats van 030 – 286 0000."
        )
        earlier = then["aandeel_14030_pct"] if then else None
        if earlier is not None:
            still = "nog " if earlier < share else ""
            text += f" In {before} was dit percentage {still}{pct(earlier)}."
        title = f"{in_words(share).split(' (')[0].capitalize()} telefoontjes via 14 030"
        said.append(Section(title, text, tuple(c for c in (choices,) if c)))

    reach = now["bereikbaarheid_pct"]
    if reach is not None:
        earlier = then["bereikbaarheid_pct"] if then else None
        if earlier is None:
            how = f"is {pct(reach)}"
        elif earlier == reach:
            how = f"is met {pct(reach)} gelijk gebleven"
        else:
            how = f"is {'gestegen' if reach > earlier else 'gedaald'} van {pct(earlier)} naar {pct(reach)}"
        said.append(
            Section("Telefonische bereikbaarheid", f"De telefonische bereikbaarheid van het Klantcontactcentrum {how}.")
        )
    return said
