"""Value parsers for the sources: the agreement's spellings of times, numbers and choices."""

from __future__ import annotations

import polars as pl


def iso_instant(column: str) -> pl.Expr:
    """ISO 8601 with offset (`+01:00`, `+0100` or `Z`) as a UTC instant; anything else is null.

    A time without an offset is ambiguous around the autumn clock change, so it is not accepted.
    """
    text = (
        pl.col(column)
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})([Z+-])", "${1}T${2}:00${3}")
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[ t]", "${1}T")
        .str.replace(r"[zZ]$", "+00:00")
    )
    return text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_zone="UTC")


def whole_seconds(column: str) -> pl.Expr:
    """An integer number of seconds as delivered (sign kept, so negatives can be reported)."""
    return pl.col(column).str.to_integer(strict=False)


def choice(column: str, spellings: dict[str, str]) -> pl.Expr:
    """Case-insensitive choice: the canonical spelling; empty is null; unknown text stays as given."""
    value = pl.col(column)
    canonical = value.str.to_lowercase().replace_strict(spellings, default=None, return_dtype=pl.String)
    return pl.when(value == "").then(None).otherwise(pl.coalesce(canonical, value))


def empty_to_null(column: str) -> pl.Expr:
    return pl.when(pl.col(column) == "").then(None).otherwise(pl.col(column))
