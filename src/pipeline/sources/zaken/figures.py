"""Case figures (kpis.md, "Services without a counter visit"): documents delivered at home, births
registered online, per local day, month and year of completion."""

from __future__ import annotations

import polars as pl

from pipeline.kit.contract import Breakdown
from pipeline.kit.figures import count
from schemas import zaken as schema

_completed = pl.col("status") == schema.AFGEROND
# Completed without a counter visit (zaken_zonder_balie, and the breakdown's zonder_balie).
_without_counter = _completed & (pl.col("kanaal") != "balie")


FIGURES = (
    count(
        "reisdocumenten_thuisbezorgd",
        _completed & (pl.col("zaaktype") == "reisdocument") & (pl.col("kanaal") == "thuisbezorgd"),
        label="aantal reisdocumenten thuisbezorgd",
        definition="Aantal reisdocumenten thuisbezorgd: zaken waarvan de laatste versie de status afgerond heeft, "
        "met zaaktype reisdocument (paspoort of identiteitskaart) en kanaal thuisbezorgd, geteld op de dag van "
        "afronding in Nederlandse tijd; leeg in een jaar zonder zaken.",
        order=10,
        headline=True,
    ),
    count(
        "geboorteaangiften_digitaal",
        _completed & (pl.col("zaaktype") == "geboorteaangifte") & (pl.col("kanaal") == "digitaal"),
        label="aantal digitale geboorteaangiften",
        definition="Aantal digitale geboorteaangiften: zaken waarvan de laatste versie de status afgerond heeft, "
        "met zaaktype geboorteaangifte en kanaal digitaal, geteld op de dag van afronding in Nederlandse tijd; "
        "leeg in een jaar zonder zaken.",
        order=20,
        headline=True,
    ),
    count(
        "zaken_afgerond",
        _completed,
        label="aantal afgeronde zaken",
        definition="Alle zaken van Burgerzaken waarvan de laatste versie de status afgerond heeft, alle zaaktypen "
        "en kanalen, geteld op de dag van afronding.",
        order=100,
    ),
    count(
        "zaken_zonder_balie",
        _without_counter,
        label="aantal zaken afgerond zonder baliebezoek",
        definition="Afgeronde zaken met kanaal thuisbezorgd, digitaal of post: diensten zonder bezoek aan de balie.",
        order=110,
    ),
)

BREAKDOWN = Breakdown(
    keys=("zaaktype", "kanaal", "status"),
    free_text=(),
    model=schema.ZakenUitsplitsingDag,
    flags=(_without_counter.alias("zonder_balie"),),
)
