"""Source `zaken`: Burgerzaken's case system, exports of case versions (`zaken_*.csv`), from 2020.

One row per case version; the version with the latest `gewijzigd` is the case's state, a tie going
to the file whose name sorts last. A case belongs to the local day it was completed (`afgerond_op`),
or, not completed, to the day of its last change. Figures: passports and identity cards delivered at
home, births registered online, and services completed without a counter visit.
"""

from __future__ import annotations

import polars as pl

from pipeline.core.periods import local_day
from pipeline.kit.contract import FLAG, TEXT, WHOLE, Column, Source, VersionRule
from pipeline.sources.zaken import figures, report
from pipeline.sources.zaken.parse import ROWS
from pipeline.sources.zaken.sample import CasesSample

SOURCE = Source(
    name="zaken",
    description="zaaksysteem Burgerzaken",
    rows=ROWS,
    # The latest version wins; on a tie the file decides (its name, path, line).
    versions=VersionRule(latest=("gewijzigd_op",)),
    day=lambda: local_day(pl.coalesce(pl.col("afgerond_op"), pl.col("gewijzigd_op"))),
    figures=figures.FIGURES,
    breakdown=figures.BREAKDOWN,
    view_comments={
        "zaken_uitsplitsing": "Zaken van Burgerzaken (laatste versie) per dag van afronding, zaaktype, kanaal en "
        "status; zaken die niet afgerond zijn op de dag van hun laatste wijziging.",
    },
    view_columns={
        "zaaktype": Column(
            "Zaaktype: reisdocument (paspoort of identiteitskaart), rijbewijs, geboorteaangifte, verhuizing "
            "of uittreksel.",
            TEXT,
        ),
        "kanaal": Column("Kanaal waarlangs de dienst geleverd is: balie, thuisbezorgd, digitaal of post.", TEXT),
        "status": Column("Laatste status van de zaak: aangevraagd, afgerond of ingetrokken.", TEXT),
        "zonder_balie": Column(
            "Waar als de zaak afgerond is zonder baliebezoek (thuisbezorgd, digitaal of post).", FLAG
        ),
        "aantal": Column("Aantal zaken in deze combinatie.", WHOLE),
    },
    sample=CasesSample(),
    report=report.sections,
    moments={"afgerond_op": "afgerond_op", "gewijzigd_op": "gewijzigd"},
)
