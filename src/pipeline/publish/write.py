"""Publish the BI-facing warehouse: build a new file beside it, then switch it in atomically.

BI tools hold read-only connections for hours; DuckDB lets a file have one writer or many
readers, never both. So the published file is never opened for writing: every run writes a
complete new file and renames it over the old one. A reader that holds the old file keeps
reading it; new connections see the new one; a run that dies before the rename leaves the
published file as it was.

The file holds tables only, in schema `main`, each with its comment and its columns' comments: one
name per thing for a BI tool to list, and nothing an older DuckDB client would have to bind (a
view's SQL). What they hold is written as views (`publish.sql`, each source's `views.sql`) over
the inputs in schema `data` of a scratch database in memory; each is checked against its
declarations (every column defined, of its declared kind) and only then copied into the new file.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core import db
from pipeline.core.atomic import atomic_output, remove_stale_temporaries
from pipeline.core.periods import Partitions
from pipeline.core.privacy import group_rare, screen_names
from pipeline.core.private import publishable
from pipeline.core.settings import Settings
from pipeline.kit.contract import Source, polars_schema
from pipeline.kit.figures import split
from pipeline.publish import definitions
from pipeline.publish.definitions import LayoutError
from pipeline.publish.deliveries import FRESHNESS_SCHEMA, MISSING_SCHEMA, freshness, missing_days
from pipeline.publish.kerncijfers import TABLES as FIGURE_TABLES
from pipeline.publish.kerncijfers import dtypes, kerncijfers
from pipeline.sources import SOURCES

# Tables of the state database the published tables are made from (their queries choose the columns).
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
# What a published file holds, in order: (table, definition, [(column, definition)]).
Layout = list[tuple[str, str, list[tuple[str, str]]]]


def _comment(value: str) -> str:
    # COMMENT ON takes a literal, not a parameter; the text is ours, quoted as SQL requires.
    return "'" + value.replace("'", "''") + "'"


def breakdowns(con: duckdb.DuckDBPyConnection, rare_below: int) -> dict[str, pl.DataFrame]:
    """Each source's breakdown as published: free-text values seen fewer than `rare_below` times in a
    year are grouped (small cells single people out); totals per day stay as they are."""
    found = {}
    for source in SOURCES.values():
        breakdown = source.breakdown
        frame = db.frame(con, f"SELECT * FROM {source.breakdown_table} ORDER BY ALL")
        if breakdown.free_text and rare_below > 1:
            sums = [expr.meta.output_name() for expr in breakdown.sums]
            frame = group_rare(frame, breakdown.free_text, rare_below, sum_columns=sums).sort(
                "datum", *breakdown.keys, nulls_last=True
            )
        found[source.breakdown_table] = frame.with_columns(breakdown.flags)
    return found


def inputs(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, pl.DataFrame]:
    """Everything the published tables are made of, by their name in schema `data`; the ledger's file
    names screened for personal data (the private ledger keeps the real paths: they identify the files)."""
    frames = kerncijfers(con) | breakdowns(con, settings.rare_below)
    frames["ontbrekende_leveringen"] = missing_days(con, settings.closed_days())
    frames["versheid"] = freshness(con)
    frames["definities"] = pl.DataFrame(definitions.definities(), infer_schema_length=None)
    key = _names_key(settings)
    for table in LEDGER_TABLES:
        frame = db.frame(con, f"SELECT * FROM {table}")
        frames[table] = _screened(frame, key) if table in NAMING_FILES else frame
    return frames


def _names_key(settings: Settings) -> bytes | None:
    """The personal-data key for masks of file names; None where a command that needs no key (withdraw,
    freeze) runs without one: names are then masked by their kind alone, never shown in clear."""
    try:
        return settings.hmac_key(create=False)
    except ValueError:  # no key here, or a key file others can read
        return None


def _screened(frame: pl.DataFrame, key: bytes | None) -> pl.DataFrame:
    """A ledger table with its file names screened for personal data."""
    shown = screen_names(frame["bestand"].unique().to_list(), key)
    return frame.with_columns(pl.col("bestand").replace_strict(shown, return_dtype=pl.String))


def _empty_inputs() -> dict[str, pl.DataFrame]:
    """The inputs of a state database with no deliveries yet, but the ledger's (made by `_scratch`)."""
    frames = {table: pl.DataFrame(schema=dtypes(grain)) for grain, table in FIGURE_TABLES.items()}
    for source in SOURCES.values():
        records = pl.DataFrame(schema=polars_schema(source.rows.model) | {"datum": pl.Date})
        frames[source.breakdown_table] = next(
            p.frame for p in split(source, records, Partitions.of([])) if p.table == source.breakdown_table
        ).with_columns(source.breakdown.flags)
    frames["ontbrekende_leveringen"] = pl.DataFrame(schema=MISSING_SCHEMA)
    frames["versheid"] = pl.DataFrame(schema=FRESHNESS_SCHEMA)
    frames["definities"] = pl.DataFrame(definitions.definities(), infer_schema_length=None)
    return frames


def _scratch(frames: Mapping[str, pl.DataFrame], state_schema: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory database with the inputs in schema `data` and what is published as views in `main`;
    with `state_schema`, the ledger's inputs are its empty tables."""
    scratch = duckdb.connect()
    scratch.execute("SET TimeZone = 'UTC'")
    scratch.execute("CREATE SCHEMA data")
    if state_schema is not None:
        scratch.execute("USE memory.data")
        scratch.execute(state_schema)
        scratch.execute("USE memory.main")
    for name, frame in frames.items():
        with db.registered(scratch, "_input", frame):
            scratch.execute(f"CREATE TABLE data.{name} AS SELECT * FROM _input")
    scratch.execute(db.sql_file(__package__, "publish.sql"))
    for source in SOURCES.values():
        scratch.execute(source.views())
    return scratch


def _layout(scratch: duckdb.DuckDBPyConnection) -> Layout:
    """(table, definition, [(column, definition)]) for every table to publish, in order; LayoutError
    listing every table or column that is not declared, or not of its declared kind."""
    made = [
        name
        for (name,) in scratch.execute(
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal "
            "AND database_name = current_database()"
        ).fetchall()
    ]
    declared = definitions.table_comments()
    problems = [f"{name}: a table no declaration defines" for name in made if name not in declared]
    problems += [f"{name}: declared, but no query makes it" for name in declared if name not in made]
    found: dict[str, list[tuple[str, str]]] = {}
    for table, name, sql_type in scratch.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' "
        "AND database_name = current_database() ORDER BY table_name, column_index"
    ).fetchall():
        found.setdefault(table, []).append((name, sql_type))
    layout = []
    for table, text in declared.items():
        if table not in made:
            continue
        columns = []
        for name, sql_type in found.get(table, []):
            try:
                wanted = definitions.column(table, name)
            except LayoutError as problem:
                problems.append(str(problem))
                continue
            if sql_type != wanted.kind.sql:
                problems.append(f"{table}.{name}: {sql_type}, declared {wanted.kind.name} ({wanted.kind.sql})")
            columns.append((name, wanted.definition))
        layout.append((table, text, columns))
    if problems:
        raise LayoutError("the published file would hold what is not declared:\n" + "\n".join(problems))
    return layout


def layout(state_schema: str) -> Layout:
    """What publishing a state without deliveries (`state_schema`: its generic tables) would write:
    (table, definition, [(column, definition)]); LayoutError as `publish` would raise it."""
    scratch = _scratch(_empty_inputs(), state_schema)
    try:
        return _layout(scratch)
    finally:
        scratch.close()


def check_layout(state_schema: str) -> None:
    """Refuse, before a run writes anything, what publishing would refuse after it: a published table
    or column without its declaration, or of another kind. Checked once per process and registry."""
    sources = tuple(SOURCES.values())
    for schema, checked in _CHECKED:
        if schema == state_schema and len(checked) == len(sources) and all(map(operator.is_, checked, sources)):
            return
    layout(state_schema)
    _CHECKED.append((state_schema, sources))


# Layouts found sound, with the very sources they were found sound with (held, so never mistaken).
_CHECKED: list[tuple[str, tuple[Source, ...]]] = []


def _write(path: Path, frames: Mapping[str, pl.DataFrame], storage_version: str) -> None:
    scratch = _scratch(frames)
    try:
        layout = _layout(scratch)
        path.write_bytes(_empty_file(scratch, layout, storage_version, path))
        # The file keeps the template's storage version: BI clients older than DuckDB 2.0 read it.
        scratch.execute("ATTACH ? AS pub", [str(path)])
        try:
            inserts = [f"INSERT INTO pub.main.{table} SELECT * FROM main.{table};" for table, _, _ in layout]
            scratch.execute("\n".join(["BEGIN TRANSACTION;", *inserts, "COMMIT;"]))
        finally:
            scratch.execute("DETACH pub")
    finally:
        scratch.close()


def _empty_file(scratch: duckdb.DuckDBPyConnection, layout: Layout, storage_version: str, path: Path) -> bytes:
    """The bytes of a published file with every table of `layout`, commented and empty, in
    `storage_version`; written at `path` once per process and layout, and kept.

    Some 400 comments alter their tables one by one, half the cost of writing a small file (0.08 of
    0.15 s): a process that publishes again (`pipeline serve`, a test run) copies the bytes instead."""
    key = (storage_version, *((table, text, tuple(columns)) for table, text, columns in layout))
    if key not in _EMPTY_FILES:
        path.unlink(missing_ok=True)
        scratch.execute("ATTACH ? AS pub (STORAGE_VERSION ?)", [str(path), storage_version])
        try:
            statements = ["BEGIN TRANSACTION;"]  # one script: a statement per call costs more than the statement
            for table, text, columns in layout:
                statements.append(f"CREATE TABLE pub.main.{table} AS SELECT * FROM main.{table} LIMIT 0;")
                statements.append(f"COMMENT ON TABLE pub.main.{table} IS {_comment(text)};")
                statements += [
                    f'COMMENT ON COLUMN pub.main.{table}."{name}" IS {_comment(definition)};'
                    for name, definition in columns
                ]
            scratch.execute("\n".join([*statements, "COMMIT;"]))
        finally:
            scratch.execute("DETACH pub")
        _EMPTY_FILES[key] = path.read_bytes()
    return _EMPTY_FILES[key]


# Empty published files by storage version and layout (some 0.8 MB each; one layout per registry).
_EMPTY_FILES: dict[tuple[object, ...], bytes] = {}


def publish(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Write the BI file for the state in `con` and switch it in at the warehouse's path atomically."""
    target = settings.warehouse
    frames = inputs(con, settings)
    remove_stale_temporaries(target)  # what a killed run left, with its .wal
    target.parent.mkdir(parents=True, exist_ok=True)
    wal: Path | None = None
    try:
        with atomic_output(target) as temporary:
            wal = temporary.with_name(temporary.name + ".wal")
            _write(temporary, frames, settings.storage_version)
            publishable(temporary)  # for BI tools of any account, whatever the umask
    finally:
        if wal is not None:
            wal.unlink(missing_ok=True)
