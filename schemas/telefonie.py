"""Call-detail records (`telefonie_*.csv`) after reading (the rules of the delivery agreement), and
the calls' breakdown table."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl
from pandera.engines.polars_engine import DateTime

from pipeline.kit.contract import Reason, Rule
from pipeline.kit.models import PERIODE, RawRow

NUMMER_14030 = "14030"
NUMMER_030 = "0302860000"
KEUZES_UTRECHT = ("Utrecht", "Overig", "Geen keuze")
KEUZES_DOORGESCHAKELD = ("Zeist", "Houten", "Nieuwegein", "IJsselstein")
KEUZES = (*KEUZES_UTRECHT, *KEUZES_DOORGESCHAKELD)
AFHANDELINGEN = ("beantwoord", "verbroken", "doorgeschakeld")


def _doorgeschakeld_expected() -> pl.Expr:
    return (pl.col("nummer") == NUMMER_14030) & pl.col("keuze").is_in(KEUZES_DOORGESCHAKELD)


class GesprekRij(RawRow):
    """One row of a delivered call-detail file, parsed. Grain: (bestand, regel).

    A value that could not be parsed is null here; the checks below are the rules of
    `spec/raw-data.md`, and a row that fails one goes to the quarantine, not into the figures.
    """

    bestand: str = pa.Field(description="Path of the delivery file below the landing folder")
    regel: int = pa.Field(ge=2, description="Line in the delivery file where the record starts")
    gesprek_id: str = pa.Field(nullable=False, str_length={"min_value": 1}, description="The platform's id of the call")
    gestart_op: DateTime = pa.Field(
        nullable=False,
        dtype_kwargs={"time_zone": "UTC", "time_unit": "us"},
        description="Moment the call reached the platform (UTC)",
    )
    nummer: str = pa.Field(
        nullable=False, isin=[NUMMER_14030, NUMMER_030], description="Number dialled: 14030 or 0302860000"
    )
    keuze: str = pa.Field(nullable=True, isin=list(KEUZES), description="Choice in the 14 030 menu; null on a 030 call")
    wachtrij: str = pa.Field(nullable=True, description="Contact-centre queue; null when not given")
    afhandeling: str = pa.Field(nullable=False, isin=list(AFHANDELINGEN), description="Outcome of the call")
    wachttijd_s: int = pa.Field(nullable=False, ge=0, description="Seconds in the queue before answer or hang-up")
    gespreksduur_s: int = pa.Field(nullable=False, ge=0, description="Seconds of conversation; 0 unless answered")
    beller_hash: str = pa.Field(nullable=True, description="HMAC-SHA-256 of the caller's number (never the number)")

    @pa.check("keuze", name="keuze_op_030")
    def _no_choice_on_030(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            ~((pl.col("nummer") == NUMMER_030) & pl.col("keuze").is_not_null()).fill_null(False)
        )

    @pa.check("afhandeling", name="doorschakeling_inconsistent")
    def _forwarding_consistent(cls, data: pa.PolarsData) -> pl.LazyFrame:
        expected = _doorgeschakeld_expected()
        actual = pl.col("afhandeling") == "doorgeschakeld"
        # Only judged when the parts are themselves valid, so one bad value is reported once.
        judged = (
            pl.col("nummer").is_in([NUMMER_14030, NUMMER_030])
            & pl.col("afhandeling").is_in(AFHANDELINGEN)
            & (pl.col("keuze").is_null() | pl.col("keuze").is_in(KEUZES))
        )
        return data.lazyframe.select((~judged | (expected == actual)).fill_null(True))

    @pa.check("gespreksduur_s", name="gespreksduur_zonder_antwoord")
    def _duration_only_when_answered(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            ((pl.col("gespreksduur_s") == 0) | (pl.col("afhandeling") == "beantwoord")).fill_null(True)
        )


# Per delivered column, the rules of the model that guard it and the reason the quarantine gives.
REDENEN = (
    Reason("gesprek_id", "gesprek_id", (Rule.REQUIRED, Rule.LENGTH), "lege id"),
    Reason("starttijd", "gestart_op", (Rule.REQUIRED,), "geen ISO 8601-tijd met offset"),
    Reason("nummer", "nummer", (Rule.REQUIRED, Rule.ALLOWED), "onbekend nummer"),
    Reason("keuze", "keuze", (Rule.ALLOWED,), "onbekende keuze"),
    Reason("keuze", "keuze", ("keuze_op_030",), "keuze bij een gesprek op 030"),
    Reason("afhandeling", "afhandeling", (Rule.REQUIRED, Rule.ALLOWED), "onbekende afhandeling"),
    Reason(
        "afhandeling",
        "afhandeling",
        ("doorschakeling_inconsistent",),
        "doorschakeling klopt niet: doorgeschakeld precies bij 14030 met Zeist, Houten, Nieuwegein of IJsselstein",
    ),
    Reason("wachttijd", "wachttijd_s", (Rule.REQUIRED,), "geen heel aantal seconden"),
    Reason("wachttijd", "wachttijd_s", (Rule.MINIMUM,), "negatief aantal seconden"),
    Reason("gespreksduur", "gespreksduur_s", (Rule.REQUIRED,), "geen heel aantal seconden"),
    Reason("gespreksduur", "gespreksduur_s", (Rule.MINIMUM,), "negatief aantal seconden"),
    Reason(
        "gespreksduur",
        "gespreksduur_s",
        ("gespreksduur_zonder_antwoord",),
        "gespreksduur bij een niet beantwoord gesprek",
    ),
)


class TelefonieUitsplitsingDag(pa.DataFrameModel):
    """Calls per day and combination. Grain: (datum, nummer, keuze, wachtrij, afhandeling)."""

    datum: dt.date = pa.Field(description=PERIODE["datum"])
    nummer: str = pa.Field(isin=[NUMMER_14030, NUMMER_030], description="Gekozen nummer, genormaliseerd")
    keuze: str = pa.Field(nullable=True, description="Keuze in het 14 030-menu; leeg bij 030")
    wachtrij: str = pa.Field(nullable=True, description="Wachtrij van het Klantcontactcentrum")
    afhandeling: str = pa.Field(isin=list(AFHANDELINGEN), description="Afloop")
    aantal: int = pa.Field(ge=1, description="Aantal gesprekken")
    wachttijd_s_totaal: int = pa.Field(ge=0, description="Som van de wachttijd in seconden")
    gespreksduur_s_totaal: int = pa.Field(ge=0, description="Som van de gespreksduur in seconden")

    class Config:
        unique = ("datum", "nummer", "keuze", "wachtrij", "afhandeling")
        strict = True
