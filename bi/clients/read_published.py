"""Read everything a published warehouse holds, the way a BI client does, and print it as JSON.

Run by any Python with any DuckDB from 0.10.3 on (the standard library and `duckdb` only): the tests
run it with the project's DuckDB and with older clients, each in its own environment, and compare.

    python read_published.py WAREHOUSE.duckdb > contents.json

Every table and view of every schema, with its comment, its columns (name, type, comment) and its
rows. Values are written so that clients in other languages write them alike (read_published.mjs):
integers and moments as decimal text (moments in microseconds since 1970 UTC), days as yyyy-mm-dd,
doubles as JSON numbers, other types as the client's own text of them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from typing import Any

import duckdb

INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
# dt.timezone.utc, not dt.UTC: an old client may come with an older Python than ours.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)  # noqa: UP017

RELATIONS = """
SELECT schema_name, table_name, 'table', comment FROM duckdb_tables()
 WHERE database_name = current_database() AND NOT internal
UNION ALL
SELECT schema_name, view_name, 'view', comment FROM duckdb_views()
 WHERE database_name = current_database() AND NOT internal
ORDER BY 1, 2
"""
COLUMNS = """
SELECT column_name, data_type, comment FROM duckdb_columns()
 WHERE database_name = current_database() AND schema_name = ? AND table_name = ?
ORDER BY column_index
"""


def value(data_type: str, found: Any) -> Any:
    if found is None:
        return None
    if data_type in INTEGERS:
        return str(found)
    if data_type in ("DOUBLE", "FLOAT"):
        return found if math.isfinite(found) else str(found)
    if data_type == "BOOLEAN" or data_type == "VARCHAR":
        return found
    if data_type == "DATE":
        return found.isoformat()
    if data_type.startswith("TIMESTAMP"):
        moment = found if found.tzinfo else found.replace(tzinfo=EPOCH.tzinfo)
        return str((moment - EPOCH) // dt.timedelta(microseconds=1))
    return str(found)


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def contents(path: str) -> dict[str, Any]:
    con = duckdb.connect(path, read_only=True)
    try:
        relations = []
        for schema, name, kind, comment in con.execute(RELATIONS).fetchall():
            columns = [list(c) for c in con.execute(COLUMNS, [schema, name]).fetchall()]
            rows = con.execute(f"SELECT * FROM {quoted(schema)}.{quoted(name)}").fetchall()
            types = [c[1] for c in columns]
            relations.append(
                {
                    "schema": schema,
                    "name": name,
                    "kind": kind,
                    "comment": comment,
                    "columns": columns,
                    "rows": [[value(t, v) for t, v in zip(types, row, strict=True)] for row in rows],
                }
            )
        return {"client": f"python duckdb {duckdb.__version__}", "relations": relations}
    finally:
        con.close()


if __name__ == "__main__":
    json.dump(contents(sys.argv[1]), sys.stdout, ensure_ascii=False)
