"""Source `afspraken`: the counter appointment system's exports of appointment versions (`afspraken_*.csv`).

One row per appointment version; the version with the latest `gewijzigd` is the appointment's
state. Figures: counter visits with an appointment at the two counted locations, no-shows, channels.
"""

from __future__ import annotations

import polars as pl

from pipeline.core.contract import Source
from pipeline.sources.afspraken import figures, report
from pipeline.sources.afspraken.calendar import CALENDAR
from pipeline.sources.afspraken.parse import PERSONAL, REQUIRED, parse
from pipeline.sources.afspraken.sample import AppointmentsSample
from schemas import afspraken as schema

SOURCE = Source(
    name="afspraken",
    package=__name__,
    system="afspraken: afsprakensysteem Burgerzaken (afspraken_*.csv)",
    id_column="afspraak_id",
    required=REQUIRED,
    personal=PERSONAL,
    parse=parse,
    model=schema.AfspraakVersieRij,
    reasons=schema.REDENEN,
    # The latest version wins; on a tie the later file name, then path, then line.
    version_order=("gewijzigd_op", "bestand_naam", "bestand", "regel"),
    day=lambda: pl.col("datum"),
    figures=figures.FIGURES,
    year_figures=figures.YEAR_FIGURES,
    breakdown=figures.BREAKDOWN,
    calendar=CALENDAR,
    view_comments={
        "afspraken_uitsplitsing": "Afspraken (laatste versie) per dag, locatie, kanaal, product en status.",
    },
    column_comments={
        "locatie": "Locatie van de afspraak zoals geleverd.",
        "kanaal": "Kanaal van de afspraak: balie, video of telefoon.",
        "product": "Product (dienst) van de afspraak zoals geleverd.",
        "status": "Laatste status van de afspraak: gepland, verschenen, niet verschenen of geannuleerd.",
    },
    sample=AppointmentsSample(),
    report=report.sections,
    moments={"gewijzigd_op": "gewijzigd"},
    days_ahead={"datum": "datum"},  # appointments are booked in advance
)
