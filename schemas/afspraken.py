"""Appointment versions (`afspraken_*.csv`) after reading (the rules of the delivery agreement), and
the appointments' breakdown table."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
from pandera.engines.polars_engine import DateTime

from pipeline.kit.contract import Reason, Rule
from pipeline.kit.models import PERIODE, RawRow

LOCATIES_GETELD = ("Stadskantoor", "Wijkservicecentrum Vleuten-De Meern")
KANALEN = ("balie", "video", "telefoon")
STATUSSEN = ("gepland", "verschenen", "niet verschenen", "geannuleerd")


class AfspraakVersieRij(RawRow):
    """One row of a delivered appointment file (one version of an appointment), parsed.

    Grain: (bestand, regel). Unparseable values are null; the checks are the agreement's rules.
    """

    bestand: str = pa.Field(description="Path of the delivery file below the landing folder")
    regel: int = pa.Field(ge=2, description="Line in the delivery file where the record starts")
    afspraak_id: str = pa.Field(nullable=False, str_length={"min_value": 1}, description="The appointment's id")
    locatie: str = pa.Field(nullable=True, description="Where the appointment takes place")
    kanaal: str = pa.Field(nullable=False, isin=list(KANALEN), description="balie, video or telefoon")
    product: str = pa.Field(nullable=True, description="Service the appointment is for")
    datum: dt.date = pa.Field(nullable=False, description="Local day of the appointment")
    tijd: dt.time = pa.Field(nullable=False, description="Local start time of the appointment")
    status: str = pa.Field(nullable=False, isin=list(STATUSSEN), description="State of this version")
    gewijzigd_op: DateTime = pa.Field(
        nullable=False,
        dtype_kwargs={"time_zone": "UTC", "time_unit": "us"},
        description="When this version was made (UTC)",
    )


# Per delivered column, the rules of the model that guard it and the reason the quarantine gives.
REDENEN = (
    Reason("afspraak_id", "afspraak_id", (Rule.REQUIRED, Rule.LENGTH), "lege id"),
    Reason("kanaal", "kanaal", (Rule.REQUIRED, Rule.ALLOWED), "onbekend kanaal"),
    Reason("datum", "datum", (Rule.REQUIRED,), "geen datum dd-mm-jjjj"),
    Reason("tijd", "tijd", (Rule.REQUIRED,), "geen tijd uu:mm"),
    Reason("status", "status", (Rule.REQUIRED, Rule.ALLOWED), "onbekende status"),
    Reason("gewijzigd", "gewijzigd_op", (Rule.REQUIRED,), "geen ISO 8601-tijd met offset"),
)


class AfsprakenUitsplitsingDag(pa.DataFrameModel):
    """Appointments (final state) per day and combination. Grain: (datum, locatie, kanaal, product, status)."""

    datum: dt.date = pa.Field(description=PERIODE["datum"])
    locatie: str = pa.Field(nullable=True, description="Locatie")
    kanaal: str = pa.Field(isin=list(KANALEN), description="Kanaal")
    product: str = pa.Field(nullable=True, description="Product")
    status: str = pa.Field(isin=list(STATUSSEN), description="Laatste status")
    aantal: int = pa.Field(ge=1, description="Aantal afspraken")

    class Config:
        unique = ("datum", "locatie", "kanaal", "product", "status")
        strict = True
