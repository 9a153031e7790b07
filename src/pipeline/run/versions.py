"""The duplicate and correction rules of the delivery agreement: which version of a record counts."""

from __future__ import annotations

import polars as pl

from pipeline.core.contract import Source


def current_versions(source: Source, versions: pl.DataFrame) -> pl.DataFrame:
    """One row per id: the version that counts by the source's `VersionRule`.

    Calls take the row from the file whose name sorts last (byte order), then the path below the
    landing folder; appointments the latest `gewijzigd`, a tie going to the file whose name sorts last.
    Identical repeats within a file collapse to one. Polars compares strings by their UTF-8 bytes,
    which is the agreement's byte order.
    """
    return versions.gather(counted_positions(source, versions))


def counted_positions(source: Source, versions: pl.DataFrame) -> pl.Series:
    """The row positions in `versions` of the versions that count, one per id, in the order above
    (so that a caller marks them without joining the versions to the winners again)."""
    rule = source.versions
    columns = dict.fromkeys([source.id_column, *rule.columns])
    narrow = versions.lazy().select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_rij"), *columns)
    last = narrow.sort(rule.sort_keys(), nulls_last=False).unique(
        subset=[source.id_column], keep="last", maintain_order=True
    )
    return last.select("_rij").collect().to_series()
