"""Appointment figures (kpis.md): counter visits with an appointment, no-shows, channels."""

from __future__ import annotations

import polars as pl

from pipeline.core.contract import PUBLISHED_TABLE, PUBLISHED_TEXT, Breakdown, Figure, YearFigure
from pipeline.core.figures import change_pct, pct
from schemas import afspraken as schema

_counted_place = pl.col("locatie").is_in(schema.LOCATIES_GETELD) & (pl.col("kanaal") == "balie")
_verschenen = (_counted_place & (pl.col("status") == "verschenen")).sum().cast(pl.Int64)
_no_show = (_counted_place & (pl.col("status") == "niet verschenen")).sum().cast(pl.Int64)


def _count(condition: pl.Expr) -> pl.Expr:
    return condition.sum().cast(pl.Int64)


FIGURES = (
    Figure(
        "baliebezoeken_met_afspraak",
        _verschenen,
        label="aantal baliebezoeken* met afspraak",
        definition="Aantal baliebezoeken met afspraak: afspraken waarvan de laatste versie de status verschenen "
        "heeft, met kanaal balie, bij het Stadskantoor of Wijkservicecentrum Vleuten-De Meern, geteld op de datum "
        "van de afspraak.",
        order=10,
        additive=True,
        published_in=PUBLISHED_TABLE,
        footnote="* Stadskantoor en Wijkservicecentrum Vleuten-De Meern.",
    ),
    Figure(
        "balie_niet_verschenen",
        _no_show,
        label="aantal baliebezoeken met afspraak niet verschenen",
        definition="Baliebezoeken met afspraak (zelfde locaties en kanaal) waarvan de laatste versie de status niet "
        "verschenen heeft.",
        order=200,
        additive=True,
    ),
    Figure(
        "no_show_pct",
        pct(_no_show, _verschenen + _no_show, 1),
        label="% niet verschenen bij baliebezoeken met afspraak",
        definition="100 x balie_niet_verschenen / (baliebezoeken_met_afspraak + balie_niet_verschenen), op 0,1 "
        "afgerond.",
        order=210,
        decimals=1,
    ),
    Figure(
        "afspraken_totaal",
        pl.len().cast(pl.Int64),
        label="aantal afspraken",
        definition="Alle afspraken (laatste versie) op die datum, alle locaties, kanalen en statussen.",
        order=220,
        additive=True,
    ),
    Figure(
        "afspraken_geannuleerd",
        _count(pl.col("status") == "geannuleerd"),
        label="aantal geannuleerde afspraken",
        definition="Afspraken waarvan de laatste versie de status geannuleerd heeft.",
        order=230,
        additive=True,
    ),
    Figure(
        "videoafspraken_verschenen",
        _count((pl.col("kanaal") == "video") & (pl.col("status") == "verschenen")),
        label="aantal videoafspraken",
        definition="Afspraken met kanaal video en status verschenen (alle locaties).",
        order=240,
        additive=True,
    ),
    Figure(
        "telefoonafspraken_verschenen",
        _count((pl.col("kanaal") == "telefoon") & (pl.col("status") == "verschenen")),
        label="aantal telefonische afspraken",
        definition="Afspraken met kanaal telefoon en status verschenen (alle locaties).",
        order=250,
        additive=True,
    ),
)

YEAR_FIGURES = (
    YearFigure(
        "baliebezoeken_verandering_pct",
        change_pct("baliebezoeken_met_afspraak"),
        label="verandering baliebezoeken t.o.v. vorig jaar (%)",
        definition="Verandering van baliebezoeken_met_afspraak ten opzichte van het jaar ervoor in %, half naar "
        "boven afgerond op een heel getal, met teken; leeg zonder vorig jaar.",
        order=60,
        published_in=PUBLISHED_TEXT,
    ),
)

BREAKDOWN = Breakdown(
    table="afspraken_uitsplitsing_dag",
    keys=("locatie", "kanaal", "product", "status"),
    free_text=("locatie", "product"),
    model=schema.AfsprakenUitsplitsingDag,
)
