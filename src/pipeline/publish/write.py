"""Publish the BI-facing warehouse: build a new file beside it, then switch it in atomically.

BI tools hold read-only connections for hours; DuckDB lets a file have one writer or many
readers, never both. So the published file is never opened for writing: every run writes a
complete new file and renames it over the old one. A reader that holds the old file keeps
reading it; new connections see the new one; a run that dies before the rename leaves the
published file as it was.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipeline.core import db
from pipeline.core.landing_files import atomic_output, remove_stale_temporaries
from pipeline.core.privacy import group_rare, screen_names
from pipeline.core.private import publishable
from pipeline.core.settings import Settings
from pipeline.publish import definitions
from pipeline.publish.deliveries import freshness, missing_days
from pipeline.publish.kerncijfers import kerncijfers
from pipeline.sources import SOURCES

# Tables of the state database published as they are (their views choose the columns).
LEDGER_TABLES = (
    "quarantaine",
    "leveringen",
    "runs",
    "meldingen",
    "vaststellingen",
    "vastgestelde_cijfers",
    "vastgestelde_leveringen",
)
NAMING_FILES = ("quarantaine", "leveringen", "meldingen", "vastgestelde_leveringen")  # with `bestand`


def _comment(value: str) -> str:
    # COMMENT ON takes a literal, not a parameter; the text is ours, quoted as SQL requires.
    return "'" + value.replace("'", "''") + "'"


def breakdowns(con: duckdb.DuckDBPyConnection, rare_below: int) -> dict[str, pl.DataFrame]:
    """Each source's breakdown as published: free-text values seen fewer than `rare_below` times in a
    year are grouped (small cells single people out); totals per day stay as they are."""
    found = {}
    for source in SOURCES.values():
        breakdown = source.breakdown
        frame = db.frame(con, f"SELECT * FROM {breakdown.table} ORDER BY ALL")
        if breakdown.free_text and rare_below > 1:
            sums = [expr.meta.output_name() for expr in breakdown.sums]
            frame = group_rare(frame, breakdown.free_text, rare_below, sum_columns=sums).sort(
                "datum", *breakdown.keys, nulls_last=True
            )
        found[breakdown.table] = frame
    return found


def _names_key(settings: Settings) -> bytes | None:
    """The personal-data key for masks of file names; None where a command that needs no key (withdraw,
    freeze) runs without one: names are then masked by their kind alone, never shown in clear."""
    try:
        return settings.hmac_key(create=False)
    except ValueError:  # no key here, or a key file others can read
        return None


def _screened(con: duckdb.DuckDBPyConnection, table: str, key: bytes | None) -> pl.DataFrame:
    """A ledger table with its file names screened for personal data: the private ledger keeps the
    real paths (they identify the files), the published one shows them screened."""
    frame = db.frame(con, f"SELECT * FROM {table}")
    shown = screen_names(frame["bestand"].unique().to_list(), key)
    return frame.with_columns(pl.col("bestand").replace_strict(shown, return_dtype=pl.String))


def _write(
    path: Path,
    con: duckdb.DuckDBPyConnection,
    tables: dict[str, pl.DataFrame],
    storage_version: str,
    key: bytes | None,
) -> None:
    # The file keeps this storage version when reopened below: BI clients older than DuckDB 2.0 read it.
    con.execute("ATTACH ? AS pub (STORAGE_VERSION ?)", [str(path), storage_version])
    try:
        con.execute("CREATE SCHEMA pub.data")
        for table in LEDGER_TABLES:
            if table in NAMING_FILES:
                with db.registered(con, "_table", _screened(con, table, key)):
                    con.execute(f"CREATE TABLE pub.data.{table} AS SELECT * FROM _table")
            else:
                con.execute(f"CREATE TABLE pub.data.{table} AS SELECT * FROM {table}")
        for name, frame in tables.items():
            with db.registered(con, "_table", frame):
                con.execute(f"CREATE TABLE pub.data.{name} AS SELECT * FROM _table")
    finally:
        con.execute("DETACH pub")

    out = duckdb.connect(str(path))
    try:
        out.execute(db.sql_file(__package__, "publish.sql"))
        for source in SOURCES.values():
            out.execute(source.views())
        comments = []  # one script: a statement per call costs more than the statement
        for view, text in definitions.view_comments().items():
            comments.append(f"COMMENT ON VIEW {view} IS {_comment(text)};")
            for (column,) in out.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main'", [view]
            ).fetchall():
                text = definitions.column_comment(view, column)
                comments.append(f'COMMENT ON COLUMN {view}."{column}" IS {_comment(text)};')
        out.execute("\n".join(comments))
        out.execute("CHECKPOINT")
    finally:
        out.close()


def publish(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Write the BI file for the state in `con` and switch it in at the warehouse's path atomically."""
    target = settings.warehouse
    figures = kerncijfers(con) | breakdowns(con, settings.rare_below)
    figures["ontbrekende_leveringen"] = missing_days(con, settings.closed_days())
    figures["versheid"] = freshness(con)
    figures["definities"] = pl.DataFrame(definitions.definities(), infer_schema_length=None)
    remove_stale_temporaries(target)  # what a killed run left, with its .wal
    target.parent.mkdir(parents=True, exist_ok=True)
    wal: Path | None = None
    try:
        with atomic_output(target) as temporary:
            wal = temporary.with_name(temporary.name + ".wal")
            _write(temporary, con, figures, settings.storage_version, _names_key(settings))
            publishable(temporary)  # for BI tools of any account, whatever the umask
    finally:
        if wal is not None:
            wal.unlink(missing_ok=True)
