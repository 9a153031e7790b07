"""Publish the BI-facing warehouse: build a new file beside it, then switch it in atomically.

BI tools hold read-only connections for hours; DuckDB lets a file have one writer or many
readers, never both. So the published file is never opened for writing: every run writes a
complete new file and renames it over the old one. A reader that holds the old file keeps
reading it; new connections see the new one; a run that dies before the rename leaves the
published file as it was.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core import db
from pipeline.core.calendar import ClosedDays
from pipeline.publish import definitions
from pipeline.publish.deliveries import freshness, missing_days
from pipeline.publish.kerncijfers import kerncijfers
from pipeline.sources import SOURCES

# Tables of the state database published as they are (their views choose the columns).
LEDGER_TABLES = (
    "quarantaine",
    "leveringen",
    "runs",
    "vaststellingen",
    "vastgestelde_cijfers",
    "vastgestelde_leveringen",
)


def _comment(value: str) -> str:
    # COMMENT ON takes a literal, not a parameter; the text is ours, quoted as SQL requires.
    return "'" + value.replace("'", "''") + "'"


def _write(path: Path, con: duckdb.DuckDBPyConnection, tables: dict[str, pl.DataFrame]) -> None:
    copied = [*LEDGER_TABLES, *(source.breakdown.table for source in SOURCES.values())]
    con.execute("ATTACH ? AS pub", [str(path)])
    try:
        con.execute("CREATE SCHEMA pub.data")
        for table in copied:
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
        for view, text in definitions.view_comments().items():
            out.execute(f"COMMENT ON VIEW {view} IS {_comment(text)}")
            for (column,) in out.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main'", [view]
            ).fetchall():
                out.execute(
                    f'COMMENT ON COLUMN {view}."{column}" IS {_comment(definitions.column_comment(view, column))}'
                )
        out.execute("CHECKPOINT")
    finally:
        out.close()


def _remove_stale_temporaries(target: Path) -> None:
    """Delete what a killed run left beside the warehouse: temporary files of processes that no longer run."""
    prefix = f"{target.name}.tmp-"
    for leftover in target.parent.glob(f"{glob.escape(prefix)}*"):
        pid = leftover.name[len(prefix) :].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            leftover.unlink(missing_ok=True)
        except PermissionError:
            pass  # a live process of another user


def publish(con: duckdb.DuckDBPyConnection, target: Path, closed: ClosedDays) -> None:
    """Write the BI file for the state in `con` and switch it in at `target` atomically."""
    figures = kerncijfers(con)
    figures["ontbrekende_leveringen"] = missing_days(con, closed)
    figures["versheid"] = freshness(con)
    figures["definities"] = pl.DataFrame(definitions.definities(), infer_schema_length=None)
    _remove_stale_temporaries(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{target.name}.tmp-{os.getpid()}-{dt.datetime.now().strftime('%H%M%S%f')}")
    try:
        _write(temporary, con, figures)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            leftover.unlink(missing_ok=True)
