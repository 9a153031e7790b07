"""Reconciliation, run inside the commit: if a check fails, nothing of the run is kept.

- rows in = counted + quarantined + duplicates: every row of an accepted delivery is either a
  staged version or in the quarantine, and every staged version is either its record's current
  version or a duplicate superseded by it;
- exactly one version counts per id (the grain of `<bron>_actueel`), checked for every id after a
  backfill and for the ids a nightly run touched;
- days add up to months, and months to years, for every count.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import polars as pl

from pipeline.core.contract import Source
from pipeline.core.db import first, registered
from pipeline.sources import SOURCES


class ReconciliationError(Exception):
    pass


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    found = first(con, query)
    return int(found[0]) if found else 0


def reconcile(con: duckdb.DuckDBPyConnection, touched: Mapping[str, pl.Series] | None = None) -> None:
    """Check the invariants; the grain only for the ids a run `touched` per source (None: every id)."""
    for source in SOURCES.values():
        delivered, invalid = first(
            con,
            """
            SELECT coalesce(sum(rijen), 0),
                   (SELECT count(*) FROM (SELECT DISTINCT q.bestand, q.sha256, q.regel FROM quarantaine q
                                          JOIN leveringen l USING (bestand, sha256)
                                          WHERE l.status = 'verwerkt' AND q.bron = ?))
            FROM leveringen WHERE status = 'verwerkt' AND bron = ?
            """,
            [source.name, source.name],
        ) or (0, 0)
        staged = _count(con, f"SELECT count(*) FROM {source.versions_table}")
        if delivered != staged + invalid:
            raise ReconciliationError(
                f"{source.name}: {delivered} rows delivered in accepted files, "
                f"but {staged} staged + {invalid} quarantined"
            )
        _check_grain(con, source, None if touched is None else touched.get(source.name))
        _check_sums(con, source)


def _check_grain(con: duckdb.DuckDBPyConnection, source: Source, ids: pl.Series | None) -> None:
    """Exactly one counting version per id that has versions: none lost, none counted twice."""
    if ids is not None and ids.is_empty():
        return
    id_col = source.id_column
    where = f"SEMI JOIN _ids USING ({id_col})" if ids is not None else ""
    query = (
        f"SELECT count(*) FROM (SELECT {id_col}, count(*) FILTER (telt) AS n FROM {source.versions_table} v "
        f"{where} GROUP BY {id_col}) WHERE n <> 1"
    )
    if ids is None:
        off = _count(con, query)
    else:
        with registered(con, "_ids", ids.unique().to_frame(id_col)):
            off = _count(con, query)
    if off:
        raise ReconciliationError(f"{source.name}: {off} ids do not have exactly one version that counts")


def _check_sums(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Days add up to months and months to years, for every count, in one query per level."""
    columns = source.additive
    if not columns:
        return
    for finer, coarser, keys, group in (
        (
            source.figure_table("dag"),
            source.figure_table("maand"),
            "year(datum) AS jaar, month(datum) AS maand",
            "jaar, maand",
        ),
        (source.figure_table("maand"), source.figure_table("jaar"), "jaar", "jaar"),
    ):
        sums = ", ".join(f"sum({c}) AS {c}" for c in columns)
        differs = " OR ".join(f"coalesce(f.{c}, 0) <> coalesce(c.{c}, 0)" for c in columns)
        off = _count(
            con,
            f"SELECT count(*) FROM (SELECT {keys}, {sums} FROM {finer} GROUP BY ALL) f "
            f"FULL JOIN (SELECT {group}, {', '.join(columns)} FROM {coarser}) c USING ({group}) WHERE {differs}",
        )
        if off:
            raise ReconciliationError(f"{finer} does not add up to {coarser} in {off} periods")
