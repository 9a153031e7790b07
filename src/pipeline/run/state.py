"""The private state database (`<warehouse>.state.duckdb`): its tables, its personal-data key, its version.

Generic tables come from `state.sql`; each source's are made from its declarations: the views
`<bron>_versies` (grain: one row per valid row of a counted delivery, (bestand, regel)) and
`<bron>_actueel` (grain: one row per record, the source's id: the version that counts) over the staged
Parquet files the table `partities` names (`partitions`), and the figure tables (grain: one row per
period, or per day and combination for the breakdown).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import polars as pl

from pipeline.core import db
from pipeline.core.ledger_values import BEFORE
from pipeline.core.settings import Settings
from pipeline.run import figures, partitions
from pipeline.run.errors import PipelineError
from pipeline.sources import SOURCES

# Raised whenever the layout of the state database changes; an older database is rebuilt by a backfill.
# Layout 5 keeps staged versions as Parquet partitions: a database of layout 3 or 4 keeps its ledgers,
# and a backfill stages its deliveries again from the archive. Layout 6 holds every ledger value in
# Dutch (`core/ledger_values.py`): a database of layout 5 is translated in place by any run.
SCHEMA_VERSION = "6"
# The fingerprint of the personal-data key in `meta` (`hmac_key_fingerprint` up to layout 5).
KEY_FINGERPRINT = "sleutel_vingerafdruk"
# The tables of a state database that a change of layout keeps: what was delivered, run and adopted.
LEDGER_TABLES = (
    "meta",
    "leveringen",
    "quarantaine",
    "meldingen",
    "runs",
    "vaststellingen",
    "vastgestelde_cijfers",
    "vastgestelde_leveringen",
)
SCHEMA = db.sql_file(__package__, "state.sql")


class StateError(PipelineError):
    """The state database cannot be used as it is; the message says what to do."""


def key_fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"fingerprint:" + key).hexdigest()[:16]


def _meta(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    found = db.first(con, "SELECT waarde FROM meta WHERE sleutel = ?", [name])
    return found[0] if found else None


def stored_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """The fingerprint of the personal-data key this warehouse was built with ('' before its first run)."""
    return _meta(con, KEY_FINGERPRINT) or ""


def check_key(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Hashes from two keys cannot be compared: refuse to mix them in one warehouse."""
    fingerprint = key_fingerprint(key)
    found = _meta(con, KEY_FINGERPRINT)
    if found is None:
        con.execute("INSERT INTO meta VALUES (?, ?)", [KEY_FINGERPRINT, fingerprint])
    elif found != fingerprint:
        raise StateError(
            "the personal-data key differs from the one this warehouse was built with; "
            "restore PIPELINE_PII_KEY (or the .key file) or run a backfill into a new warehouse"
        )


def check_version(con: duckdb.DuckDBPyConnection, rebuilding: bool) -> None:
    """A state database of layout 5 is translated in place; one older than that is rebuilt by a
    backfill (its ledgers kept from layout 3 on), and a nightly refuses it."""
    found = _meta(con, "schema_versie")
    if found == SCHEMA_VERSION:
        return
    if found == "5":
        with db.transaction(con):
            _to_dutch_values(con)
        return
    used = db.first(con, "SELECT count(*) FROM leveringen")
    if found is None and not (used and used[0]):
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_versie', ?)", [SCHEMA_VERSION])
        return
    if not rebuilding:
        raise StateError(
            f"the state database was made by another version of the pipeline (layout {found or 1}, this one "
            f"{SCHEMA_VERSION}); run 'pipeline backfill' once to rebuild it from the deliveries"
        )
    if found in ("3", "4"):
        with db.transaction(con):
            _from_table_layout(con)
            _to_dutch_values(con)
        return
    _drop_all_but(con, ("meta",))
    con.execute(SCHEMA)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_versie', ?)", [SCHEMA_VERSION])


def _drop_all_but(con: duckdb.DuckDBPyConnection, kept: tuple[str, ...]) -> None:
    """Every view, and every table but `kept`, of the state database."""
    for (view,) in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal"
    ).fetchall():
        con.execute(f'DROP VIEW "{view}"')
    for (table,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall():
        if table not in kept:
            con.execute(f'DROP TABLE "{table}"')


def _from_table_layout(con: duckdb.DuckDBPyConnection) -> None:
    """Layouts 3 and 4 kept staged versions in a table per source, and figure tables of other columns:
    those go (the backfill stages the deliveries again as Parquet and computes every figure anew); the
    ledgers and adopted figures stay."""
    _drop_all_but(con, LEDGER_TABLES)
    con.execute(SCHEMA)  # the tables this layout adds (the snapshot `partities`)
    con.execute("ALTER TABLE leveringen ADD COLUMN IF NOT EXISTS archief VARCHAR")
    con.execute("ALTER TABLE leveringen ADD COLUMN IF NOT EXISTS archief_sha256 VARCHAR")
    con.execute("ALTER TABLE leveringen ADD COLUMN IF NOT EXISTS archief_gewist_tot DATE")
    con.execute("ALTER TABLE runs ADD COLUMN IF NOT EXISTS pid BIGINT")
    con.execute("ALTER TABLE runs ADD COLUMN IF NOT EXISTS host VARCHAR")


def _to_dutch_values(con: duckdb.DuckDBPyConnection) -> None:
    """Layout 5 and before held some ledger values in English (`nightly`, `hidden file`, `wrong number of
    fields: 9 instead of 8`), `niet gepubliceerd` with a space, `runs.rijen_geteld` (published as
    `rijen_geldig`) and `meta.hmac_key_fingerprint`: translated in place, nothing else changes."""
    for (table, column, rows), translations in BEFORE.items():
        only, value = rows or ("TRUE", True)
        for pattern, dutch in translations:
            con.execute(
                f"UPDATE {table} SET {column} = regexp_replace({column}, ?, ?) "
                f"WHERE {only} = ? AND regexp_matches({column}, ?)",
                [pattern, str(dutch), str(value) if rows else True, pattern],
            )
    columns = {
        name for (name,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'runs'").fetchall()
    }
    if "rijen_geteld" in columns:
        con.execute("ALTER TABLE runs RENAME COLUMN rijen_geteld TO rijen_geldig")
    con.execute("UPDATE meta SET sleutel = ? WHERE sleutel = 'hmac_key_fingerprint'", [KEY_FINGERPRINT])
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_versie', ?)", [SCHEMA_VERSION])


def _ensure_source_tables(con: duckdb.DuckDBPyConnection) -> None:
    for source in SOURCES.values():
        if db.table_exists(con, source.breakdown_table):  # the last one a source creates
            continue
        with db.registered(con, "_rows", pl.DataFrame(schema=partitions.staged_schema(source))):
            con.execute(f"CREATE TABLE IF NOT EXISTS {partitions.empty_table(source)} AS SELECT * FROM _rows LIMIT 0")
        for part in figures.empty(source):
            db.replace_partitions(con, part.table, part.grain, [], part.frame)


def limit_memory(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Bound DuckDB's memory; past it, joins and sorts spill to a folder beside the staging area."""
    spill = settings.staging_dir / "duckdb"
    # SET takes literals; both values are ours (an int setting and a path we derive), quoted as SQL wants.
    con.execute(f"SET memory_limit = '{int(settings.duckdb_memory_mb)}MB'")
    con.execute("SET temp_directory = '" + str(spill).replace("'", "''") + "'")
    con.execute("SET preserve_insertion_order = false")


@contextmanager
def connect(settings: Settings, rebuilding: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """The state database, with every table there; `rebuilding` (a backfill) may replace an older layout."""
    settings.state_db.parent.mkdir(parents=True, exist_ok=True)
    with db.connect(settings.state_db, db.sql_file(__package__, "state.sql")) as con:
        check_version(con, rebuilding)
        _ensure_source_tables(con)
        missing = partitions.create_views(con, settings.versions_dir, SOURCES.values())
        if missing and not rebuilding:
            raise StateError(
                f"{len(missing)} staged files the state database names are missing (such as "
                f"{settings.versions_dir / missing[0]}): run 'pipeline backfill' to stage every delivery anew "
                "from the archive"
            )
        yield con
