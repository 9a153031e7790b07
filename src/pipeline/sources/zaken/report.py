"""The report's section on services without a counter visit: documents delivered at home and births
registered online, when there is case data for the report year."""

from __future__ import annotations

from pipeline.core.numbers import number
from pipeline.kit.reporting import Chart, ReportInput, Section, chart_style, stacked_chart

KANAAL_COLOURS = {"balie": "#c8102e", "thuisbezorgd": "#f2a900", "digitaal": "#1f5fa8", "post": "#8a8a8a"}


def _channels_chart(data: ReportInput) -> Chart | None:
    return stacked_chart(
        data.counts_per_year("zaken_uitsplitsing", "kanaal", "afgerond"),
        "kanaal",
        KANAAL_COLOURS,
        "Afgeronde zaken van Burgerzaken, naar kanaal",
        "zaken",
        "Zaken met status afgerond per jaar van afronding; percentages: aandeel van het jaar.",
    )


def _change(now: int, then: int | None) -> str:
    if not then:
        return ""
    return f" ({'+' if now >= then else '-'}{number(abs(now - then))} ten opzichte van het jaar ervoor)"


def sections(data: ReportInput) -> list[Section]:
    now, then = data.row(data.jaar), data.row(data.jaar - 1)
    if now is None or now["reisdocumenten_thuisbezorgd"] is None:
        return []  # no case data for the report year: no section
    documents, births = now["reisdocumenten_thuisbezorgd"], now["geboorteaangiften_digitaal"]
    before = then or {}
    text = (
        f"In {data.jaar} zijn {number(documents)} paspoorten en identiteitskaarten thuisbezorgd"
        f"{_change(documents, before.get('reisdocumenten_thuisbezorgd'))}, en is {number(births)} keer een "
        f"geboorte digitaal aangegeven{_change(births, before.get('geboorteaangiften_digitaal'))}."
    )
    without = now.get("zaken_zonder_balie")
    if without is not None:
        text += f" In totaal zijn {number(without)} zaken afgerond zonder bezoek aan de balie."
    with chart_style():
        chart = _channels_chart(data)
    return [Section("Paspoort thuisbezorgd en digitaal geboorteaangifte", text, tuple(c for c in (chart,) if c))]
