"""What a published file holds, as its readers (export, report, status) see it.

Its tables in schema `main`, with their comments; a file published before the tables were
materialised held views instead, and reads the same.
"""

from __future__ import annotations

import duckdb

_RELATIONS = """
SELECT table_name, comment FROM duckdb_tables()
WHERE schema_name = 'main' AND NOT internal AND database_name = current_database()
UNION ALL
SELECT view_name, comment FROM duckdb_views()
WHERE schema_name = 'main' AND NOT internal AND database_name = current_database()
"""


def relations(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """Every published table by name, with its comment (its definition), in name order."""
    return dict(sorted(con.execute(_RELATIONS).fetchall()))


def has(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return name in relations(con)
