"""Source `telefonie`: the contact-centre telephony platform's call-detail exports (`telefonie_*.csv`).

One row per inbound call that reached the platform, on 030-2860000 or 14 030; the row from the
file whose name sorts last counts. Figures: calls to the municipality, via 14 030, reachability,
waiting times and repeat callers (from a keyed hash of the caller's number only).
"""

from __future__ import annotations

import polars as pl

from pipeline.core.contract import Source
from pipeline.core.periods import local_day
from pipeline.sources.telefonie import figures, report
from pipeline.sources.telefonie.calendar import CALENDAR
from pipeline.sources.telefonie.parse import PERSONAL, REQUIRED, parse
from pipeline.sources.telefonie.sample import CallsSample
from schemas import telefonie as schema

SOURCE = Source(
    name="telefonie",
    package=__name__,
    system="telefonie: telefonieplatform van het Klantcontactcentrum (telefonie_*.csv)",
    id_column="gesprek_id",
    required=REQUIRED,
    personal=PERSONAL,
    parse=parse,
    model=schema.GesprekRij,
    reasons=schema.REDENEN,
    # Later file name wins (byte order), then the path, then the later line of the same file.
    version_order=("bestand_naam", "bestand", "regel"),
    day=lambda: local_day(pl.col("gestart_op")),
    prepare=figures.prepare,
    lookback_days=figures.REPEAT_WINDOW_DAYS,
    figures=figures.FIGURES,
    year_figures=figures.YEAR_FIGURES,
    checks=figures.CHECKS,
    breakdown=figures.BREAKDOWN,
    pseudonyms=("beller_hash",),
    calendar=CALENDAR,
    view_comments={
        "telefoontjes_uitsplitsing": "Gesprekken per dag, nummer, menukeuze, wachtrij en afhandeling "
        "(ook doorgeschakelde).",
    },
    column_comments={
        "nummer": "Gekozen nummer, genormaliseerd: 14030 of 0302860000.",
        "keuze": "Keuze in het 14 030-menu (Utrecht, Zeist, Houten, Nieuwegein, IJsselstein, Overig, Geen keuze); "
        "leeg bij 030.",
        "wachtrij": "Wachtrij van het Klantcontactcentrum; leeg als niet geleverd.",
        "afhandeling": "Afloop: beantwoord, verbroken of doorgeschakeld (naar een andere gemeente).",
        "voor_utrecht": "Waar als het gesprek meetelt in telefoontjes_gemeente.",
        "wachttijd_s_totaal": "Som van de wachttijd in seconden (voor gemiddelden over een eigen selectie).",
        "gespreksduur_s_totaal": "Som van de gespreksduur in seconden.",
    },
    sample=CallsSample(),
    report=report.sections,
    moments={"gestart_op": "starttijd"},
)
