"""Case versions (`zaken_*.csv`) after reading (the rules of the delivery agreement), and the cases'
breakdown table."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl
from pandera.engines.polars_engine import DateTime

from schemas.kerncijfers import PERIODE

ZAAKTYPEN = ("reisdocument", "rijbewijs", "geboorteaangifte", "verhuizing", "uittreksel")
KANALEN = ("balie", "thuisbezorgd", "digitaal", "post")
STATUSSEN = ("aangevraagd", "afgerond", "ingetrokken")
AFGEROND = "afgerond"
# Only documents can be delivered at home.
THUISBEZORGBAAR = ("reisdocument", "rijbewijs")


class ZaakVersieRij(pa.DataFrameModel):
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

    class Config:
        strict = True
        coerce = False


# Column of the delivery a rule is about, and the reason written in the quarantine.
REDENEN: dict[tuple[str, str], tuple[str, str]] = {
    ("zaak_id", "not_nullable"): ("zaak_id", "empty id"),
    ("zaak_id", "str_length"): ("zaak_id", "empty id"),
    ("zaaktype", "not_nullable"): ("zaaktype", "unknown case type"),
    ("zaaktype", "isin"): ("zaaktype", "unknown case type"),
    ("kanaal", "not_nullable"): ("kanaal", "unknown channel"),
    ("kanaal", "isin"): ("kanaal", "unknown channel"),
    ("kanaal", "thuisbezorgd_alleen_documenten"): (
        "kanaal",
        "thuisbezorgd is only possible for a reisdocument or rijbewijs",
    ),
    ("status", "not_nullable"): ("status", "unknown status"),
    ("status", "isin"): ("status", "unknown status"),
    ("afgerond_op", "afgerond_op_onleesbaar"): ("afgerond_op", "not an ISO 8601 time with offset"),
    ("afgerond_op_geleverd", "afgerond_op_bij_status"): (
        "afgerond_op",
        "afgerond_op must be filled exactly when the status is afgerond",
    ),
    ("gewijzigd_op", "not_nullable"): ("gewijzigd", "not an ISO 8601 time with offset"),
}


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
