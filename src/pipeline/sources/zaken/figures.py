"""Case figures (kpis.md, "Services without a counter visit"): documents delivered at home, births
registered online, per local day, month and year of completion."""

from __future__ import annotations

import polars as pl

from pipeline.kit.contract import Breakdown, Figure
from pipeline.kit.figures import count
from schemas import zaken as schema

_completed = pl.col("status") == schema.AFGEROND
# Completed without a counter visit (zaken_zonder_balie, and the breakdown's zonder_balie).
_without_counter = _completed & (pl.col("kanaal") != "balie")


def _completed_of(name: str, zaaktype: str, kanaal: str, label: str, order: int, described: str = "") -> Figure:
    """A headline count: completed cases of one type (`described` in the definition, if not by its
    name) through one channel, defined in the same words."""
    return count(
        name,
        _completed & (pl.col("zaaktype") == zaaktype) & (pl.col("kanaal") == kanaal),
        label=label,
        definition=f"{label[0].upper()}{label[1:]}: zaken waarvan de laatste versie de status afgerond heeft, met "
        f"zaaktype {described or zaaktype} en kanaal {kanaal}, geteld op de dag van afronding in Nederlandse tijd; "
        "leeg in een jaar zonder zaken.",
        order=order,
        headline=True,
    )


FIGURES = (
    _completed_of(
        "reisdocumenten_thuisbezorgd",
        "reisdocument",
        "thuisbezorgd",
        "aantal reisdocumenten thuisbezorgd",
        10,
        described="reisdocument (paspoort of identiteitskaart)",
    ),
    _completed_of(
        "geboorteaangiften_digitaal", "geboorteaangifte", "digitaal", "aantal digitale geboorteaangiften", 20
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
