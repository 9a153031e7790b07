"""Reconciliation, run inside the commit: if a check fails, nothing of the run is kept.

- rows in = counted + quarantined + duplicates: every row of an accepted delivery is either a
  staged version or in the quarantine, and every staged version is either its record's current
  version or a duplicate superseded by it;
- exactly one version counts per id (the grain of `<bron>_actueel`): after a whole backfill every
  year's decisions add up to one record per id; after a nightly run, for the ids it touched;
- days add up to months, and months to years, for every count.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import polars as pl

from pipeline.core.db import first, registered
from pipeline.kit.contract import Source
from pipeline.run.partitions import VERSIONS
from pipeline.run.stage import Outcome
from pipeline.sources import SOURCES


class ReconciliationError(Exception):
    pass


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    found = first(con, query)
    return int(found[0]) if found else 0


def reconcile(
    con: duckdb.DuckDBPyConnection, touched: Mapping[str, pl.Series] | None = None, decided: Outcome | None = None
) -> None:
    """Check the invariants; the grain for the ids a run `touched` per source, or (None) from what a
    whole backfill `decided` (every id, counted as each year was decided)."""
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
        staged = int(
            (
                first(
                    con,
                    "SELECT coalesce(sum(rijen), 0) FROM partities WHERE bron = ? AND soort = ?",
                    [source.name, VERSIONS],
                )
                or (0,)
            )[0]
        )
        if delivered != staged + invalid:
            raise ReconciliationError(
                f"{source.name}: {delivered} rows delivered in accepted files, "
                f"but {staged} staged + {invalid} quarantined"
            )
        if touched is not None:
            _check_grain(con, source, touched.get(source.name))
        elif decided is not None and decided.records.get(source.name) != decided.ids.get(source.name):
            raise ReconciliationError(
                f"{source.name}: {decided.records.get(source.name)} records count for "
                f"{decided.ids.get(source.name)} ids"
            )
        _check_sums(con, source)


def _check_grain(con: duckdb.DuckDBPyConnection, source: Source, ids: pl.Series | None) -> None:
    """Exactly one counting version per id that has versions: none lost, none counted twice."""
    if ids is None or ids.is_empty():
        return
    id_col = source.rows.id_column
    query = (
        f"SELECT count(*) FROM (SELECT {id_col}, count(c.{id_col}) AS n FROM "
        f"(SELECT DISTINCT {id_col} FROM {source.versions_table} SEMI JOIN _ids USING ({id_col})) v "
        f"FULL JOIN (SELECT {id_col} FROM {source.current_table} SEMI JOIN _ids USING ({id_col})) c "
        f"USING ({id_col}) GROUP BY {id_col}) WHERE n <> 1"
    )
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
