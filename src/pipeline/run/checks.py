"""Reconciliation, run inside the commit: if a check fails, nothing of the run is kept.

- rows in = counted + quarantined + duplicates: every row of an accepted delivery is either a
  staged version or in the quarantine, and every staged version is either its record's current
  version or a duplicate superseded by it;
- one current record per id (the grain of `<bron>_actueel`);
- days add up to months, and months to years, for every count.
"""

from __future__ import annotations

import duckdb

from pipeline.core.db import first
from pipeline.sources import SOURCES


class ReconciliationError(Exception):
    pass


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    found = first(con, query)
    return int(found[0]) if found else 0


def reconcile(con: duckdb.DuckDBPyConnection) -> None:
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
        counted = _count(con, f"SELECT count(*) FROM {source.current_table}")
        if delivered != staged + invalid:
            raise ReconciliationError(
                f"{source.name}: {delivered} rows delivered in accepted files, "
                f"but {staged} staged + {invalid} quarantined"
            )
        if counted > staged:
            raise ReconciliationError(f"{source.name}: {counted} current records from only {staged} staged versions")
        ids = _count(con, f"SELECT count(DISTINCT {source.id_column}) FROM {source.current_table}")
        if ids != counted:
            raise ReconciliationError(f"{source.name}: {counted} current records for {ids} ids: the grain is broken")
        for column in source.additive:
            for finer, coarser, keys in (
                (
                    source.figure_table("dag"),
                    source.figure_table("maand"),
                    "year(datum) AS jaar, month(datum) AS maand",
                ),
                (source.figure_table("maand"), source.figure_table("jaar"), "jaar"),
            ):
                group = "jaar, maand" if "maand" in keys else "jaar"
                off = _count(
                    con,
                    f"""
                    SELECT count(*) FROM (SELECT {keys}, sum({column}) AS s FROM {finer} GROUP BY ALL) f
                    FULL JOIN (SELECT {group}, {column} AS s FROM {coarser}) c USING ({group})
                    WHERE coalesce(f.s, 0) <> coalesce(c.s, 0)
                    """,
                )
                if off:
                    raise ReconciliationError(f"{finer}.{column} does not add up to {coarser} in {off} periods")
