"""Appointment figures (kpis.md): counter visits with an appointment, no-shows, channels."""

from __future__ import annotations

import polars as pl

from pipeline.kit.contract import PUBLISHED_TABLE, PUBLISHED_TEXT, Breakdown, Figure, Ratio, Sum, Unit, YearFigure
from pipeline.kit.figures import change_pct
from schemas import afspraken as schema

_counted_place = pl.col("locatie").is_in(schema.LOCATIES_GETELD) & (pl.col("kanaal") == "balie")


def _count(condition: pl.Expr) -> pl.Expr:
    return condition.sum().cast(pl.Int64)


COUNT, SUM = Unit.COUNT, Sum()


FIGURES = (
    Figure(
        "baliebezoeken_met_afspraak",
        label="aantal baliebezoeken* met afspraak",
        definition="Aantal baliebezoeken met afspraak: afspraken waarvan de laatste versie de status verschenen "
        "heeft, met kanaal balie, bij het Stadskantoor of Wijkservicecentrum Vleuten-De Meern, geteld op de datum "
        "van de afspraak.",
        unit=COUNT,
        aggregation=SUM,
        expr=_count(_counted_place & (pl.col("status") == "verschenen")),
        order=10,
        published_in=PUBLISHED_TABLE,
        footnote="* Stadskantoor en Wijkservicecentrum Vleuten-De Meern.",
    ),
    Figure(
        "balie_niet_verschenen",
        label="aantal baliebezoeken met afspraak niet verschenen",
        definition="Baliebezoeken met afspraak (zelfde locaties en kanaal) waarvan de laatste versie de status niet "
        "verschenen heeft.",
        unit=COUNT,
        aggregation=SUM,
        expr=_count(_counted_place & (pl.col("status") == "niet verschenen")),
        order=200,
    ),
    Figure(
        "baliebezoeken_verwacht",
        label="aantal verwachte baliebezoeken met afspraak",
        definition="Baliebezoeken met afspraak (zelfde locaties en kanaal) waarvan de laatste versie de status "
        "verschenen of niet verschenen heeft: baliebezoeken_met_afspraak + balie_niet_verschenen.",
        unit=COUNT,
        aggregation=SUM,
        expr=_count(_counted_place & pl.col("status").is_in(("verschenen", "niet verschenen"))),
        order=205,
    ),
    Figure(
        "no_show_pct",
        label="% niet verschenen bij baliebezoeken met afspraak",
        definition="100 x balie_niet_verschenen / baliebezoeken_verwacht, half naar boven afgerond op 0,1; leeg "
        "zonder verwachte baliebezoeken.",
        unit=Unit.PERCENT,
        aggregation=Ratio("balie_niet_verschenen", "baliebezoeken_verwacht"),
        order=210,
        decimals=1,
    ),
    Figure(
        "afspraken_totaal",
        label="aantal afspraken",
        definition="Alle afspraken (laatste versie) op die datum, alle locaties, kanalen en statussen.",
        unit=COUNT,
        aggregation=SUM,
        expr=pl.len().cast(pl.Int64),
        order=220,
    ),
    Figure(
        "afspraken_geannuleerd",
        label="aantal geannuleerde afspraken",
        definition="Afspraken waarvan de laatste versie de status geannuleerd heeft.",
        unit=COUNT,
        aggregation=SUM,
        expr=_count(pl.col("status") == "geannuleerd"),
        order=230,
    ),
    Figure(
        "videoafspraken_verschenen",
        label="aantal videoafspraken",
        definition="Afspraken met kanaal video en status verschenen (alle locaties).",
        unit=COUNT,
        aggregation=SUM,
        expr=_count((pl.col("kanaal") == "video") & (pl.col("status") == "verschenen")),
        order=240,
    ),
    Figure(
        "telefoonafspraken_verschenen",
        label="aantal telefonische afspraken",
        definition="Afspraken met kanaal telefoon en status verschenen (alle locaties).",
        unit=COUNT,
        aggregation=SUM,
        expr=_count((pl.col("kanaal") == "telefoon") & (pl.col("status") == "verschenen")),
        order=250,
    ),
)

YEAR_FIGURES = (
    YearFigure(
        "baliebezoeken_verandering_pct",
        change_pct("baliebezoeken_met_afspraak"),
        label="verandering baliebezoeken t.o.v. vorig jaar (%)",
        definition="Verandering van baliebezoeken_met_afspraak ten opzichte van het jaar ervoor in %, half naar "
        "boven afgerond op een heel getal, met teken; leeg zonder vorig jaar.",
        unit=Unit.PERCENT_CHANGE,
        order=60,
        published_in=PUBLISHED_TEXT,
    ),
)

# Counts that are part of another count cannot exceed it, in any period.
CHECKS = (
    (
        "niet_verschenen_binnen_verwacht",
        (pl.col("balie_niet_verschenen") <= pl.col("baliebezoeken_verwacht")).fill_null(True),
    ),
    (
        "verschenen_binnen_verwacht",
        (pl.col("baliebezoeken_met_afspraak") <= pl.col("baliebezoeken_verwacht")).fill_null(True),
    ),
)

BREAKDOWN = Breakdown(
    keys=("locatie", "kanaal", "product", "status"),
    free_text=("locatie", "product"),
    model=schema.AfsprakenUitsplitsingDag,
)
