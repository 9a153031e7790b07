"""Case-version rows as delivered (trimmed text) -> typed rows of `schemas.zaken.ZaakVersieRij`."""

from __future__ import annotations

import polars as pl

from pipeline.core.values import choice, empty_to_null, iso_instant
from pipeline.kit.contract import Rows
from schemas import zaken as schema

REQUIRED = ("zaak_id", "zaaktype", "kanaal", "status", "afgerond_op", "gewijzigd")
# Not one figure needs the citizen: these columns are never read past the tokenizer.
PERSONAL = ("bsn", "naam", "adres")

ZAAKTYPE_SPELLINGS = {z: z for z in schema.ZAAKTYPEN}
KANAAL_SPELLINGS = {k: k for k in schema.KANALEN}
STATUS_SPELLINGS = {s: s for s in schema.STATUSSEN}


def parse(rows: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """Text rows (trimmed) -> typed rows as `schema.ZaakVersieRij`."""
    del key  # no personal data is kept from this source
    return rows.select(
        "bestand",
        "regel",
        empty_to_null("zaak_id").alias("zaak_id"),
        choice("zaaktype", ZAAKTYPE_SPELLINGS).alias("zaaktype"),
        choice("kanaal", KANAAL_SPELLINGS).alias("kanaal"),
        choice("status", STATUS_SPELLINGS).alias("status"),
        iso_instant("afgerond_op").alias("afgerond_op"),
        (pl.col("afgerond_op") != "").alias("afgerond_op_geleverd"),
        iso_instant("gewijzigd").alias("gewijzigd_op"),
    )


# A record is one zaak_id; a row is refused for the model's reasons.
ROWS = Rows("zaak_id", REQUIRED, PERSONAL, parse, schema.ZaakVersieRij, schema.REDENEN)
