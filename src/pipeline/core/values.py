"""Value parsers for the sources: the agreement's spellings of times, numbers and choices."""

from __future__ import annotations

import polars as pl

_INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%z"
# The common spelling of UTC (`Z`) read as it is: the same instant as `+00:00`, the rewrite it gets.
_UTC_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"
_UTC = pl.Datetime("us", "UTC")


def iso_instant(column: str) -> pl.Expr:
    """ISO 8601 with offset (`+01:00`, `+0100` or `Z`) as a UTC instant; anything else is null.

    A time without an offset is ambiguous around the autumn clock change, so it is not accepted.
    """
    return pl.col(column).map_batches(_instants, return_dtype=_UTC, is_elementwise=True)


def _instants(text: pl.Series) -> pl.Series:
    """Most values parse as they are (with an offset, or `Z`); only the others are rewritten (no
    seconds, a space or `t` for `T`, `z`) and parsed again: three regular expressions on every value
    cost as much as the parse (0.24 -> 0.12 CPU s for a chunk of 274 000 calls). A value that parses
    as it is parses to the same instant after the rewrite (tested on both), so the result is the same."""
    parsed = text.str.to_datetime(_INSTANT_FORMAT, strict=False, time_zone="UTC")
    missed = (parsed.is_null() & text.is_not_null()).arg_true()
    if missed.len():
        utc = text.gather(missed).str.to_datetime(_UTC_FORMAT, strict=False, time_zone="UTC")
        parsed = parsed.scatter(missed, utc)
        missed = missed.filter(utc.is_null())
    if not missed.len():
        return parsed
    rewritten = (
        text.gather(missed)
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})([Z+-])", "${1}T${2}:00${3}")
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[ t]", "${1}T")
        .str.replace(r"[zZ]$", "+00:00")
    )
    return parsed.scatter(missed, rewritten.str.to_datetime(_INSTANT_FORMAT, strict=False, time_zone="UTC"))


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
