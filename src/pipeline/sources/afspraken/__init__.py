"""Source `afspraken`: the counter appointment system's exports of appointment versions (`afspraken_*.csv`).

One row per appointment version; the version with the latest `gewijzigd` is the appointment's
state. Figures: counter visits with an appointment at the two counted locations, no-shows, channels.
"""

from __future__ import annotations

import polars as pl

from pipeline.kit.contract import TEXT, WHOLE, Column, Source, VersionRule
from pipeline.sources.afspraken import figures, report
from pipeline.sources.afspraken.parse import ROWS
from pipeline.sources.afspraken.sample import AppointmentsSample

SOURCE = Source(
    name="afspraken",
    description="afsprakensysteem Burgerzaken",
    rows=ROWS,
    # The latest version wins; on a tie the file decides (its name, path, line).
    versions=VersionRule(latest=("gewijzigd_op",)),
    day=lambda: pl.col("datum"),
    figures=figures.FIGURES,
    year_figures=figures.YEAR_FIGURES,
    checks=figures.CHECKS,
    breakdown=figures.BREAKDOWN,
    view_comments={
        "afspraken_uitsplitsing": "Afspraken (laatste versie) per dag, locatie, kanaal, product en status.",
    },
    view_columns={
        "locatie": Column("Locatie van de afspraak zoals geleverd.", TEXT),
        "kanaal": Column("Kanaal van de afspraak: balie, video of telefoon.", TEXT),
        "product": Column("Product (dienst) van de afspraak zoals geleverd.", TEXT),
        "status": Column("Laatste status van de afspraak: gepland, verschenen, niet verschenen of geannuleerd.", TEXT),
        "aantal": Column("Aantal afspraken (laatste versie) in deze combinatie.", WHOLE),
    },
    sample=AppointmentsSample(),
    report=report.sections,
    moments={"gewijzigd_op": "gewijzigd"},
    days_ahead={"datum": "datum"},  # appointments are booked in advance
)
