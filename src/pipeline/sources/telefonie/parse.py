"""Call-detail rows as delivered (trimmed text) -> typed rows of `schemas.telefonie.GesprekRij`."""

from __future__ import annotations

import polars as pl

from pipeline.core.privacy import keyed_hash
from pipeline.core.values import choice, empty_to_null, iso_instant, whole_seconds
from pipeline.kit.contract import Rows
from schemas import telefonie as schema

REQUIRED = ("gesprek_id", "starttijd", "nummer", "keuze", "wachtrij", "afhandeling", "wachttijd", "gespreksduur")
PERSONAL = ("beller",)

# Every spelling of the two numbers the agreement allows; anything else is an unknown number.
NUMMER_SPELLINGS = {
    "14030": schema.NUMMER_14030,
    "14 030": schema.NUMMER_14030,
    "0302860000": schema.NUMMER_030,
    "030-2860000": schema.NUMMER_030,
    "030 286 0000": schema.NUMMER_030,
    "+31302860000": schema.NUMMER_030,
}
KEUZE_SPELLINGS = {k.lower(): k for k in schema.KEUZES}
AFHANDELING_SPELLINGS = {a: a for a in schema.AFHANDELINGEN}


def _caller_digits(column: str) -> pl.Expr:
    """One caller, one hash: `06-123 45678`, `+316 12345678` and `0612345678` are the same number."""
    digits = pl.col(column).str.replace_all(r"[\s\-().]", "")
    return digits.str.replace(r"^(\+|00)31", "0")


def parse(rows: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """Text rows (trimmed) -> typed rows as `schema.GesprekRij`; the caller's number is hashed here."""
    nummer = pl.col("nummer").replace_strict(NUMMER_SPELLINGS, default=None, return_dtype=pl.String)
    typed = rows.select(
        "bestand",
        "regel",
        empty_to_null("gesprek_id").alias("gesprek_id"),
        iso_instant("starttijd").alias("gestart_op"),
        nummer.alias("nummer"),
        choice("keuze", KEUZE_SPELLINGS).alias("keuze"),
        empty_to_null("wachtrij").alias("wachtrij"),
        choice("afhandeling", AFHANDELING_SPELLINGS).alias("afhandeling"),
        whole_seconds("wachttijd").alias("wachttijd_s"),
        whole_seconds("gespreksduur").alias("gespreksduur_s"),
        (_caller_digits("beller") if "beller" in rows.columns else pl.lit(None, pl.String)).alias("beller"),
    ).with_columns(
        # An empty choice on 14 030 means the caller chose nothing.
        pl.when((pl.col("nummer") == schema.NUMMER_14030) & pl.col("keuze").is_null())
        .then(pl.lit("Geen keuze"))
        .otherwise(pl.col("keuze"))
        .alias("keuze")
    )
    hashed = keyed_hash(typed["beller"], key).alias("beller_hash")
    return typed.drop("beller").with_columns(hashed)


# A record is one gesprek_id; a row is refused for the model's reasons.
ROWS = Rows("gesprek_id", REQUIRED, PERSONAL, parse, schema.GesprekRij, schema.REDENEN)
