"""The duplicate and correction rules of the delivery agreement: which version of a record counts."""

from __future__ import annotations

import polars as pl

from pipeline.sources import Source


def with_file_name(versions: pl.DataFrame) -> pl.DataFrame:
    return versions.with_columns(pl.col("bestand").str.split("/").list.last().alias("bestand_naam"))


def current_versions(source: Source, versions: pl.DataFrame) -> pl.DataFrame:
    """One row per id: the version the agreement says counts.

    Calls: the row from the file whose name sorts last (byte order), then the path below the
    landing folder; identical repeats within a file collapse to one. Appointments: the latest
    `gewijzigd`, a tie going to the file whose name sorts last. Polars compares strings by their
    UTF-8 bytes, which is the agreement's byte order.
    """
    ordered = with_file_name(versions).sort(list(source.winner_order), nulls_last=False)
    return ordered.unique(subset=[source.id_column], keep="last", maintain_order=True).drop("bestand_naam")
