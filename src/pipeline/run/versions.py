"""The duplicate and correction rules of the delivery agreement: which version of a record counts."""

from __future__ import annotations

import polars as pl

from pipeline.core.contract import Source


def counted_positions(source: Source, versions: pl.DataFrame) -> pl.Series:
    """The row positions in `versions` of the versions that count, one per id: the version last in
    the source's `version_order`.

    `bestand_naam` in that order is the file's name without its folders: calls take the row from the
    file whose name sorts last (byte order), then the path below the landing folder; appointments the
    latest `gewijzigd`, a tie going to the file whose name sorts last. Identical repeats within a file
    collapse to one. Polars compares strings by their UTF-8 bytes, which is the agreement's byte order.
    Positions, not rows, so that a caller marks them without joining the versions to the winners again.
    """
    order = list(source.version_order)
    columns = dict.fromkeys([source.id_column, *(c for c in order if c != "bestand_naam"), "bestand"])
    narrow = versions.lazy().select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_rij"), *columns)
    if "bestand_naam" in order:
        narrow = narrow.with_columns(pl.col("bestand").str.split("/").list.last().alias("bestand_naam"))
    last = narrow.sort(order, nulls_last=False).unique(subset=[source.id_column], keep="last", maintain_order=True)
    return last.select("_rij").collect().to_series()
