"""The report's statement on counter visits: how many, against the year before, the quietest month."""

from __future__ import annotations

from pipeline.core.numbers import number, signed_pct
from pipeline.kit.reporting import Chart, ReportInput, Section, chart_style, monthly_chart, stacked_chart

COLOUR = "#c8102e"
KANAAL_COLOURS = {"balie": "#c8102e", "video": "#f2a900", "telefoon": "#1f5fa8"}


def _channels_chart(data: ReportInput) -> Chart | None:
    return stacked_chart(
        data.counts_per_year("afspraken_uitsplitsing", "kanaal", "verschenen"),
        "kanaal",
        KANAAL_COLOURS,
        "Afspraken die plaatsvonden, naar kanaal",
        "kanalen",
        "Afspraken met status verschenen, alle locaties, per jaar; percentages: aandeel van het jaar.",
    )


def sections(data: ReportInput) -> list[Section]:
    year, before = data.jaar, data.jaar - 1
    now, then = data.row(year), data.row(before)
    if now is None:
        return []
    visits, change = now["baliebezoeken_met_afspraak"], now["baliebezoeken_verandering_pct"]
    if visits is None or change is None or then is None:
        return []
    with chart_style():
        charts = (
            _channels_chart(data),
            monthly_chart(
                data, "baliebezoeken_met_afspraak", "Baliebezoeken met afspraak per maand", COLOUR, False, "balie"
            ),
        )
    if change == 0:
        verb = "gelijk gebleven"
    else:
        verb = ("sterk " if abs(change) >= 20 else "") + ("teruggelopen" if change < 0 else "toegenomen")
    text = (
        f"Het aantal baliebezoeken met afspraak is in {year} {verb} ({signed_pct(change)}): "
        f"van {number(then['baliebezoeken_met_afspraak'])} in {before} naar {number(visits)} in {year}."
    )
    low = data.month_extreme("baliebezoeken_met_afspraak", highest=False)
    if low:
        text += f" De rustigste maand aan de balie was {low[0]} met {number(low[1])} bezoeken."
    return [Section(f"Baliebezoeken {signed_pct(change)}", text, tuple(c for c in charts if c))]
