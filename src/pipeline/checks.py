"""Reconciliation, run inside the commit: if a check fails, nothing of the run is kept.

- rows in = counted + quarantined + duplicates: every row of an accepted delivery is either a
  staged version or in the quarantine, and every staged version is either its record's current
  version or a duplicate superseded by it;
- days add up to months, and months to years, for every count.
"""

from __future__ import annotations

import duckdb

from pipeline.store import first
from schemas.aggregates import ADDITIVE_COUNTS

VERSIONS = {"telefonie": ("gesprek_versies", "gesprekken"), "afspraken": ("afspraak_versies", "afspraken")}


class ReconciliationError(Exception):
    pass


def reconcile(con: duckdb.DuckDBPyConnection) -> None:
    for source, (versions, current) in VERSIONS.items():
        delivered, invalid = first(
            con,
            """
            SELECT coalesce(sum(rijen), 0),
                   (SELECT count(*) FROM (SELECT DISTINCT q.bestand, q.regel FROM quarantaine q
                                          JOIN leveringen l USING (bestand)
                                          WHERE l.status = 'verwerkt' AND q.bron = ?))
            FROM leveringen WHERE status = 'verwerkt' AND bron = ?
            """,
            [source, source],
        ) or (0, 0)
        staged = first(con, f"SELECT count(*) FROM {versions}")[0]  # type: ignore[index]
        counted = first(con, f"SELECT count(*) FROM {current}")[0]  # type: ignore[index]
        if delivered != staged + invalid:
            raise ReconciliationError(
                f"{source}: {delivered} rows delivered in accepted files, but {staged} staged + {invalid} quarantined"
            )
        if counted > staged:
            raise ReconciliationError(f"{source}: {counted} current records from only {staged} staged versions")
        id_column = "gesprek_id" if source == "telefonie" else "afspraak_id"
        ids = first(con, f"SELECT count(DISTINCT {id_column}) FROM {current}")[0]  # type: ignore[index]
        if ids != counted:
            raise ReconciliationError(f"{source}: {counted} current records for {ids} ids: the grain is broken")
        for column in ADDITIVE_COUNTS[source]:
            for finer, coarser, keys in (
                (f"{source}_dag", f"{source}_maand", "year(datum) AS jaar, month(datum) AS maand"),
                (f"{source}_maand", f"{source}_jaar", "jaar"),
            ):
                group = "jaar, maand" if "maand" in keys else "jaar"
                join = "USING (jaar, maand)" if "maand" in keys else "USING (jaar)"
                off = first(
                    con,
                    f"""
                    SELECT count(*) FROM (SELECT {keys}, sum({column}) AS s FROM {finer} GROUP BY ALL) f
                    FULL JOIN (SELECT {group}, {column} AS s FROM {coarser}) c {join}
                    WHERE coalesce(f.s, 0) <> coalesce(c.s, 0)
                    """,
                )
                if off and off[0]:
                    raise ReconciliationError(f"{finer}.{column} does not add up to {coarser} in {off[0]} periods")
