"""Appointment-version rows as delivered (trimmed text) -> typed rows of `schemas.afspraken.AfspraakVersieRij`."""

from __future__ import annotations

import polars as pl

from pipeline.core.values import choice, empty_to_null, iso_instant
from pipeline.kit.contract import Rows
from schemas import afspraken as schema

REQUIRED = ("afspraak_id", "locatie", "kanaal", "product", "datum", "tijd", "status", "gewijzigd")
# Not one figure needs the citizen: these columns are never read past the tokenizer.
PERSONAL = ("bsn", "naam", "telefoon", "email")

KANAAL_SPELLINGS = {k: k for k in schema.KANALEN}
STATUS_SPELLINGS = {s: s for s in schema.STATUSSEN}


def parse(rows: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """Text rows (trimmed) -> typed rows as `schema.AfspraakVersieRij`."""
    del key  # no personal data is kept from this source
    datum = pl.when(pl.col("datum").str.contains(r"^\d{1,2}-\d{1,2}-\d{4}$")).then(
        pl.col("datum").str.to_date("%d-%m-%Y", strict=False)
    )
    tijd = pl.when(pl.col("tijd").str.contains(r"^\d{1,2}:\d{2}$")).then(
        pl.col("tijd").str.to_time("%H:%M", strict=False)
    )
    return rows.select(
        "bestand",
        "regel",
        empty_to_null("afspraak_id").alias("afspraak_id"),
        empty_to_null("locatie").alias("locatie"),
        choice("kanaal", KANAAL_SPELLINGS).alias("kanaal"),
        empty_to_null("product").alias("product"),
        datum.alias("datum"),
        tijd.alias("tijd"),
        choice("status", STATUS_SPELLINGS).alias("status"),
        iso_instant("gewijzigd").alias("gewijzigd_op"),
    )


# A record is one afspraak_id; a row is refused for the model's reasons.
ROWS = Rows("afspraak_id", REQUIRED, PERSONAL, parse, schema.AfspraakVersieRij, schema.REDENEN)
