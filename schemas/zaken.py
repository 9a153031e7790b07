"""Case versions (`zaken_*.csv`) after reading (the rules of the delivery agreement), and the cases'
breakdown table."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl
from pandera.engines.polars_engine import DateTime

from pipeline.kit.contract import Reason, Rule
from pipeline.kit.models import PERIODE, RawRow

ZAAKTYPEN = ("reisdocument", "rijbewijs", "geboorteaangifte", "verhuizing", "uittreksel")
KANALEN = ("balie", "thuisbezorgd", "digitaal", "post")
STATUSSEN = ("aangevraagd", "afgerond", "ingetrokken")
AFGEROND = "afgerond"
# Only documents can be delivered at home.
THUISBEZORGBAAR = ("reisdocument", "rijbewijs")


class ZaakVersieRij(RawRow):
    """One row of a delivered case file (one version of a case), parsed.

    Grain: (bestand, regel). Unparseable values are null; the checks are the agreement's rules.
    """

    bestand: str = pa.Field(description="Path of the delivery file below the landing folder")
    regel: int = pa.Field(ge=2, description="Line in the delivery file where the record starts")
    zaak_id: str = pa.Field(nullable=False, str_length={"min_value": 1}, description="The case's id")
    zaaktype: str = pa.Field(nullable=False, isin=list(ZAAKTYPEN), description="The service of the case")
    kanaal: str = pa.Field(nullable=False, isin=list(KANALEN), description="How the service was done")
    status: str = pa.Field(nullable=False, isin=list(STATUSSEN), description="State of this version")
    afgerond_op: DateTime = pa.Field(
        nullable=True,
        dtype_kwargs={"time_zone": "UTC", "time_unit": "us"},
        description="When the case was completed (UTC); null unless completed",
    )
    afgerond_op_geleverd: bool = pa.Field(description="Whether the delivery filled afgerond_op (validly or not)")
    gewijzigd_op: DateTime = pa.Field(
        nullable=False,
        dtype_kwargs={"time_zone": "UTC", "time_unit": "us"},
        description="When this version was made (UTC)",
    )

    @pa.check("afgerond_op", name="afgerond_op_onleesbaar")
    def _completion_readable(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~(pl.col("afgerond_op_geleverd") & pl.col("afgerond_op").is_null()))

    @pa.check("afgerond_op_geleverd", name="afgerond_op_bij_status")
    def _completion_exactly_when_completed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        # Only judged on a known status, so one bad value is reported once (an unknown status is
        # kept as delivered, not null, so that the quarantine can show it).
        completed = pl.col("status") == AFGEROND
        known = pl.col("status").is_in(STATUSSEN)
        return data.lazyframe.select((~known | (pl.col("afgerond_op_geleverd") == completed)).fill_null(True))

    @pa.check("kanaal", name="thuisbezorgd_alleen_documenten")
    def _home_delivery_only_documents(cls, data: pa.PolarsData) -> pl.LazyFrame:
        # Only judged on a known case type, so an unknown one is reported once, as unknown.
        home = pl.col("kanaal") == "thuisbezorgd"
        known = pl.col("zaaktype").is_in(ZAAKTYPEN)
        return data.lazyframe.select((~home | ~known | pl.col("zaaktype").is_in(THUISBEZORGBAAR)).fill_null(True))


# Per delivered column, the rules of the model that guard it and the reason the quarantine gives.
REDENEN = (
    Reason("zaak_id", "zaak_id", (Rule.REQUIRED, Rule.LENGTH), "lege id"),
    Reason("zaaktype", "zaaktype", (Rule.REQUIRED, Rule.ALLOWED), "onbekend zaaktype"),
    Reason("kanaal", "kanaal", (Rule.REQUIRED, Rule.ALLOWED), "onbekend kanaal"),
    Reason(
        "kanaal",
        "kanaal",
        ("thuisbezorgd_alleen_documenten",),
        "thuisbezorgd kan alleen bij een reisdocument of rijbewijs",
    ),
    Reason("status", "status", (Rule.REQUIRED, Rule.ALLOWED), "onbekende status"),
    Reason("afgerond_op", "afgerond_op", ("afgerond_op_onleesbaar",), "geen ISO 8601-tijd met offset"),
    Reason("afgerond_op", "afgerond_op_geleverd", (Rule.REQUIRED,), "afgerond_op ontbreekt"),
    Reason(
        "afgerond_op",
        "afgerond_op_geleverd",
        ("afgerond_op_bij_status",),
        "afgerond_op moet gevuld zijn precies als de status afgerond is",
    ),
    Reason("gewijzigd", "gewijzigd_op", (Rule.REQUIRED,), "geen ISO 8601-tijd met offset"),
)


class ZakenUitsplitsingDag(pa.DataFrameModel):
    """Cases (final state) per day and combination. Grain: (datum, zaaktype, kanaal, status)."""

    datum: dt.date = pa.Field(description=PERIODE["datum"])
    zaaktype: str = pa.Field(isin=list(ZAAKTYPEN), description="Zaaktype")
    kanaal: str = pa.Field(isin=list(KANALEN), description="Kanaal")
    status: str = pa.Field(isin=list(STATUSSEN), description="Laatste status")
    aantal: int = pa.Field(ge=1, description="Aantal zaken")

    class Config:
        unique = ("datum", "zaaktype", "kanaal", "status")
        strict = True
