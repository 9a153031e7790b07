"""Source `telefonie`: the contact-centre telephony platform's call-detail exports (`telefonie_*.csv`).

One row per inbound call that reached the platform, on 030-2860000 or 14 030; the row from the
file whose name sorts last counts. Figures: calls to the municipality, via 14 030, reachability,
waiting times and repeat callers (from a keyed hash of the caller's number only).
"""

from __future__ import annotations

import polars as pl

from pipeline.core.periods import local_day
from pipeline.kit.contract import FLAG, TEXT, WHOLE, Column, Source, VersionRule
from pipeline.sources.telefonie import figures, report
from pipeline.sources.telefonie.parse import ROWS
from pipeline.sources.telefonie.sample import CallsSample

SOURCE = Source(
    name="telefonie",
    description="telefonieplatform van het Klantcontactcentrum",
    rows=ROWS,
    # A call is exported once and corrected by re-delivery: the file decides (its name, path, line).
    versions=VersionRule(),
    day=lambda: local_day(pl.col("gestart_op")),
    prepare=figures.prepare,
    lookback_days=figures.REPEAT_WINDOW_DAYS,
    figures=figures.FIGURES,
    year_figures=figures.YEAR_FIGURES,
    checks=figures.CHECKS,
    breakdown=figures.BREAKDOWN,
    pseudonyms=("beller_hash",),
    view_comments={
        "telefonie_uitsplitsing": "Gesprekken per dag, nummer, menukeuze, wachtrij en afhandeling "
        "(ook doorgeschakelde).",
    },
    view_columns={
        "nummer": Column("Gekozen nummer, genormaliseerd: 14030 of 0302860000.", TEXT),
        "keuze": Column(
            "Keuze in het 14 030-menu (Utrecht, Zeist, Houten, Nieuwegein, IJsselstein, Overig, Geen keuze); "
            "leeg bij 030.",
            TEXT,
        ),
        "wachtrij": Column("Wachtrij van het Klantcontactcentrum; leeg als niet geleverd.", TEXT),
        "afhandeling": Column("Afloop: beantwoord, verbroken of doorgeschakeld (naar een andere gemeente).", TEXT),
        "voor_utrecht": Column("Waar als het gesprek meetelt in telefoontjes_gemeente.", FLAG),
        "wachttijd_s_totaal": Column(
            "Som van de wachttijd in seconden (voor gemiddelden over een eigen selectie).", WHOLE
        ),
        "gespreksduur_s_totaal": Column("Som van de gespreksduur in seconden.", WHOLE),
        "aantal": Column("Aantal gesprekken (laatste versie) in deze combinatie.", WHOLE),
    },
    sample=CallsSample(),
    report=report.sections,
    moments={"gestart_op": "starttijd"},
)
