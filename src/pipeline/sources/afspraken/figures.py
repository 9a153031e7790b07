"""Appointment figures (kpis.md): counter visits with an appointment, no-shows, channels."""

from __future__ import annotations

import polars as pl

from pipeline.kit.contract import PUBLISHED_TABLE, PUBLISHED_TEXT, Breakdown, Figure
from pipeline.kit.figures import change, count, percentage, within
from schemas import afspraken as schema

_counted_place = pl.col("locatie").is_in(schema.LOCATIES_GETELD) & (pl.col("kanaal") == "balie")


def _attended_by(name: str, kanaal: str, label: str, order: int) -> Figure:
    """Appointments that took place through a channel other than the counter, at any location."""
    return count(
        name,
        (pl.col("kanaal") == kanaal) & (pl.col("status") == "verschenen"),
        label=label,
        definition=f"Afspraken met kanaal {kanaal} en status verschenen (alle locaties).",
        order=order,
    )


FIGURES = (
    count(
        "baliebezoeken_met_afspraak",
        _counted_place & (pl.col("status") == "verschenen"),
        label="aantal baliebezoeken* met afspraak",
        definition="Aantal baliebezoeken met afspraak: afspraken waarvan de laatste versie de status verschenen "
        "heeft, met kanaal balie, bij het Stadskantoor of Wijkservicecentrum Vleuten-De Meern, geteld op de datum "
        "van de afspraak.",
        order=10,
        published_in=PUBLISHED_TABLE,
        footnote="* Stadskantoor en Wijkservicecentrum Vleuten-De Meern.",
    ),
    count(
        "balie_niet_verschenen",
        _counted_place & (pl.col("status") == "niet verschenen"),
        label="aantal baliebezoeken met afspraak niet verschenen",
        definition="Baliebezoeken met afspraak (zelfde locaties en kanaal) waarvan de laatste versie de status niet "
        "verschenen heeft.",
        order=200,
    ),
    count(
        "baliebezoeken_verwacht",
        _counted_place & pl.col("status").is_in(("verschenen", "niet verschenen")),
        label="aantal verwachte baliebezoeken met afspraak",
        definition="Baliebezoeken met afspraak (zelfde locaties en kanaal) waarvan de laatste versie de status "
        "verschenen of niet verschenen heeft: baliebezoeken_met_afspraak + balie_niet_verschenen.",
        order=205,
    ),
    percentage(
        "no_show_pct",
        ("balie_niet_verschenen", "baliebezoeken_verwacht"),
        label="% niet verschenen bij baliebezoeken met afspraak",
        definition="100 x balie_niet_verschenen / baliebezoeken_verwacht, half naar boven afgerond op 0,1; leeg "
        "zonder verwachte baliebezoeken.",
        order=210,
        decimals=1,
    ),
    count(
        "afspraken_totaal",
        None,
        label="aantal afspraken",
        definition="Alle afspraken (laatste versie) op die datum, alle locaties, kanalen en statussen.",
        order=220,
    ),
    count(
        "afspraken_geannuleerd",
        pl.col("status") == "geannuleerd",
        label="aantal geannuleerde afspraken",
        definition="Afspraken waarvan de laatste versie de status geannuleerd heeft.",
        order=230,
    ),
    _attended_by("videoafspraken_verschenen", "video", "aantal videoafspraken", 240),
    _attended_by("telefoonafspraken_verschenen", "telefoon", "aantal telefonische afspraken", 250),
)

YEAR_FIGURES = (
    change(
        "baliebezoeken_verandering_pct",
        "baliebezoeken_met_afspraak",
        label="verandering baliebezoeken t.o.v. vorig jaar (%)",
        order=60,
        published_in=PUBLISHED_TEXT,
    ),
)

# Counts that are part of another count cannot exceed it, in any period.
CHECKS = (
    within("balie_niet_verschenen", "baliebezoeken_verwacht", "niet_verschenen_binnen_verwacht"),
    within("baliebezoeken_met_afspraak", "baliebezoeken_verwacht", "verschenen_binnen_verwacht"),
)

BREAKDOWN = Breakdown(
    keys=("locatie", "kanaal", "product", "status"),
    free_text=("locatie", "product"),
    model=schema.AfsprakenUitsplitsingDag,
)
