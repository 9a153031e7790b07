"""DuckDB helpers: queries as Polars frames, frames bound to SQL, transactions, partition overwrites.

Values are always bound; table and column names come from the package's own declarations (the
sources' contract), never from input.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline.core.periods import GRAIN_KEYS
from pipeline.core.private import narrow, owner_only_files


def sql_file(package: str, name: str) -> str:
    """A `.sql` file shipped inside `package` (package data: it works from a wheel as from a checkout)."""
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def frame(con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
    """A query's result as a Polars frame (through a relation: DuckDB 2 keeps `.pl()` off DB-API results)."""
    relation = con.sql(query, params=list(params) if params else None)
    return relation.pl() if relation is not None else pl.DataFrame()


def first(con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
    """The first row of a query, or None. Reads the whole result: DuckDB 2 refuses new work on a
    connection whose last result was only partly fetched."""
    found = con.execute(query, params or []).fetchall()
    return found[0] if found else None


@contextmanager
def connect(path: Path, schema: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection in UTC, with the statements `schema` run first (CREATE ... IF NOT EXISTS).

    The database is private: every file DuckDB makes while it is open (the database, its write-ahead
    log, spill files) is its owner's only (`core.private`), and one made before that is narrowed."""
    with owner_only_files():
        for made in (path, path.with_name(path.name + ".wal")):
            narrow(made)
        con = duckdb.connect(str(path))
        try:
            con.execute("SET TimeZone = 'UTC'")
            if schema:
                con.execute(schema)
            yield con
        except BaseException:
            # The database's own checkpoint at closing must not hide why the work failed (a full disk
            # fails both); what was committed is in its write-ahead log and is replayed on opening.
            with suppress(duckdb.Error):
                con.close()
            raise
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, rows: pl.DataFrame) -> Iterator[str]:
    """`rows` visible to SQL as view `name` for the duration (a frame is bound, never formatted in)."""
    con.register(name, rows)
    try:
        yield name
    finally:
        con.unregister(name)


def paths(values: Sequence[str]) -> pl.DataFrame:
    return pl.DataFrame({"bestand": list(values)}, schema={"bestand": pl.String})


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: pl.DataFrame) -> None:
    """Append `rows` by column name (the frame may order its columns differently)."""
    if rows.is_empty():
        return
    columns = ", ".join(f'"{c}"' for c in rows.columns)
    with registered(con, "_rows", rows):
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _rows")


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether a table or view of that name exists in the connection's own database.

    Asked by binding a query on it: the catalog's listings (`duckdb_tables()`, `duckdb_views()`) cost
    3 ms an ask and binding 0.3 ms, and a run asks some fifteen times. Our own names, never delivered text."""
    try:
        con.execute(f'SELECT * FROM "{table}" LIMIT 0').fetchall()
    except duckdb.CatalogException:
        return False
    return True


def replace_partitions(
    con: duckdb.DuckDBPyConnection,
    table: str,
    grain: str,
    keys: Sequence[dt.date] | Sequence[int],
    rows: pl.DataFrame,
) -> None:
    """Overwrite the partitions `keys` of a figure table with `rows` (the table owns its partitions)."""
    if not table_exists(con, table):
        with registered(con, "_rows", rows):
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM _rows LIMIT 0")
    if keys:  # none where a new state database makes the table
        (column,) = ("jaar * 100 + maand",) if grain == "maand" else GRAIN_KEYS[grain]
        con.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT unnest(?))", [list(keys)])
    insert(con, table, rows)


class WarehouseUnavailable(Exception):
    """The published warehouse cannot be read; the message is the one line the operator sees."""


# DuckDB 2.0: 'Could not set lock on file "...": Conflicting lock is held in /usr/bin/python3.11 (PID 4242). ...'
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")
READ_ONLY_ADVICE = "BI clients must connect read-only (docs/bi.md, 'Connecting')"


def cannot_open(path: Path, problem: duckdb.Error, opened_as: str = " as a DuckDB warehouse") -> str:
    """One line on why DuckDB refused `path`; a lock names the process that holds it."""
    text = str(problem).strip()
    holder = _LOCK_HOLDER.search(text)
    if holder:
        return (
            f"{path} is held open read-write by another process: {holder['program']} (pid {holder['pid']}), "
            f"which locks every reader out; {READ_ONLY_ADVICE}"
        )
    reason = text.splitlines()[0] if text else type(problem).__name__
    return f"{path} cannot be opened{opened_as}: {reason}"


def written_by_a_client(path: Path) -> Path | None:
    """The write-ahead log beside a published file, if any. The pipeline never writes a published file
    in place, so a log there is a client's that opened it read-write and changed it: every new reader
    replays that log, so the client's changes show in what they read until it disconnects."""
    wal = path.with_name(path.name + ".wal")
    return wal if wal.exists() else None


def _still_at(path: Path, pinned: os.stat_result) -> bool:
    try:
        now = path.stat()
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (pinned.st_dev, pinned.st_ino)


def _connect_whole(path: Path, attempts: int, held: ExitStack) -> duckdb.DuckDBPyConnection:
    for attempt in range(1, attempts + 1):
        try:
            pin = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return duckdb.connect(str(path), read_only=True)  # DuckDB says why it cannot
        pinned = os.fstat(pin)  # held open, so no other file can get its inode number meanwhile
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error:
            os.close(pin)
            if attempt == attempts or _still_at(path, pinned):
                raise
            continue
        if attempt == attempts or _still_at(path, pinned):
            # Closed after the connection: closing any descriptor of a file drops the process's locks on it.
            held.callback(os.close, pin)
            return con
        con.close()
        os.close(pin)
    raise ValueError(f"attempts must be at least 1, not {attempts}")


@contextmanager
def connect_read_only(path: Path, attempts: int = 5) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to `path` that a run switching in a new file cannot spoil.

    DuckDB opens a database file by its path three times while connecting (the magic bytes, the
    headers, then the blocks the active header points to). A publish that renames a new file over
    the path between those opens hands DuckDB the old file's header and the new file's blocks: the
    connect fails ("Failed to deserialize", "Failed to load metadata pointer") or, in principle,
    reads metadata the header never meant. So the file is pinned by a descriptor of our own while
    DuckDB connects: when the path names another file afterwards, the connection (or its error) is
    dropped and the file opened again. A file that fails without being switched fails as DuckDB says."""
    with ExitStack() as held:
        con = _connect_whole(path, attempts, held)
        try:
            yield con
        finally:
            con.close()


@contextmanager
def open_published(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the published warehouse, the way a BI tool opens it.

    A missing file, a folder, a file that is not DuckDB, a DuckDB file that is not this pipeline's
    warehouse, a file another process holds read-write or has changed, and a read that fails each give
    one clear line (WarehouseUnavailable) instead of a traceback or a figure that is not the pipeline's.
    """
    if not path.exists():
        raise WarehouseUnavailable(f"warehouse {path} does not exist; run 'pipeline backfill' first")
    if not path.is_file():
        raise WarehouseUnavailable(f"warehouse {path} is not a file")
    wal = written_by_a_client(path)
    if wal is not None:
        raise WarehouseUnavailable(
            f"{path} was changed by a client that holds it read-write ({wal} exists): what it reads is not "
            f"what the pipeline published; {READ_ONLY_ADVICE}. Once that client has disconnected and the "
            "next run has published, readers see the pipeline's figures again"
        )
    with ExitStack() as opened:
        try:
            con = opened.enter_context(connect_read_only(path))
        except duckdb.Error as problem:
            raise WarehouseUnavailable(cannot_open(path, problem)) from None
        try:
            if not table_exists(con, "kerncijfers"):  # a view, or a table where the views are materialised
                raise WarehouseUnavailable(f"{path} is a DuckDB file but not a published warehouse (no kerncijfers)")
            yield con
        except duckdb.Error as problem:
            reason = str(problem).strip().splitlines()[0] if str(problem).strip() else type(problem).__name__
            raise WarehouseUnavailable(f"{path} cannot be read: {reason}") from None
