"""The duplicate and correction rules of the delivery agreement: which version of a record counts."""

from __future__ import annotations

import polars as pl

from pipeline.core.contract import Source


def current_versions(source: Source, versions: pl.DataFrame) -> pl.DataFrame:
    """One row per id: the version last in the source's `version_order`.

    `bestand_naam` in that order is the file's name without its folders: calls take the row from the
    file whose name sorts last (byte order), then the path below the landing folder; appointments the
    latest `gewijzigd`, a tie going to the file whose name sorts last. Identical repeats within a file
    collapse to one. Polars compares strings by their UTF-8 bytes, which is the agreement's byte order.
    """
    named = versions.with_columns(pl.col("bestand").str.split("/").list.last().alias("bestand_naam"))
    ordered = named.sort(list(source.version_order), nulls_last=False)
    return ordered.unique(subset=[source.id_column], keep="last", maintain_order=True).drop("bestand_naam")
