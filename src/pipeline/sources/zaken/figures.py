"""Case figures (kpis.md, "Services without a counter visit"): documents delivered at home, births
registered online, per local day, month and year of completion."""

from __future__ import annotations

import polars as pl

from pipeline.kit.contract import Breakdown, Figure, Sum, Unit
from schemas import zaken as schema

_completed = pl.col("status") == schema.AFGEROND


def _count(condition: pl.Expr) -> pl.Expr:
    return condition.sum().cast(pl.Int64)


COUNT, SUM = Unit.COUNT, Sum()


FIGURES = (
    Figure(
        "reisdocumenten_thuisbezorgd",
        expr=_count(_completed & (pl.col("zaaktype") == "reisdocument") & (pl.col("kanaal") == "thuisbezorgd")),
        label="aantal reisdocumenten thuisbezorgd",
        definition="Aantal reisdocumenten thuisbezorgd: zaken waarvan de laatste versie de status afgerond heeft, "
        "met zaaktype reisdocument (paspoort of identiteitskaart) en kanaal thuisbezorgd, geteld op de dag van "
        "afronding in Nederlandse tijd; leeg in een jaar zonder zaken.",
        unit=COUNT,
        aggregation=SUM,
        order=10,
        headline=True,
    ),
    Figure(
        "geboorteaangiften_digitaal",
        expr=_count(_completed & (pl.col("zaaktype") == "geboorteaangifte") & (pl.col("kanaal") == "digitaal")),
        label="aantal digitale geboorteaangiften",
        definition="Aantal digitale geboorteaangiften: zaken waarvan de laatste versie de status afgerond heeft, "
        "met zaaktype geboorteaangifte en kanaal digitaal, geteld op de dag van afronding in Nederlandse tijd; "
        "leeg in een jaar zonder zaken.",
        unit=COUNT,
        aggregation=SUM,
        order=20,
        headline=True,
    ),
    Figure(
        "zaken_afgerond",
        expr=_count(_completed),
        label="aantal afgeronde zaken",
        definition="Alle zaken van Burgerzaken waarvan de laatste versie de status afgerond heeft, alle zaaktypen "
        "en kanalen, geteld op de dag van afronding.",
        unit=COUNT,
        aggregation=SUM,
        order=100,
    ),
    Figure(
        "zaken_zonder_balie",
        expr=_count(_completed & (pl.col("kanaal") != "balie")),
        label="aantal zaken afgerond zonder baliebezoek",
        definition="Afgeronde zaken met kanaal thuisbezorgd, digitaal of post: diensten zonder bezoek aan de balie.",
        unit=COUNT,
        aggregation=SUM,
        order=110,
    ),
)

BREAKDOWN = Breakdown(
    keys=("zaaktype", "kanaal", "status"),
    free_text=(),
    model=schema.ZakenUitsplitsingDag,
)
