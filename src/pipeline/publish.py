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
import pandera.polars as pa
import polars as pl

from pipeline import store
from pipeline.aggregate import pct
from pipeline.periods import days_in_year
from schemas import aggregates as models
from schemas.published import COLUMN_COMMENTS, VIEW_COMMENTS, definities

COPIED_TABLES = ("telefonie_uitsplitsing_dag", "afspraken_uitsplitsing_dag", "quarantaine", "leveringen", "runs")


def _with_closed_days(days: pl.DataFrame) -> pl.DataFrame:
    """Every day of every month in which the source has records: a day without records in such a
    month (a weekend, a holiday) counts 0, so one source's days always add up to its months."""
    if days.is_empty():
        return days
    months = days.select(pl.col("datum").dt.month_start()).unique()
    calendar = months.select(pl.date_ranges(pl.col("datum"), pl.col("datum").dt.month_end()).alias("datum")).explode(
        "datum"
    )
    counts = [c for counts in models.ADDITIVE_COUNTS.values() for c in counts if c in days.columns]
    return calendar.join(days, on="datum", how="left").with_columns(pl.col(counts).fill_null(0))


def _figures(con: duckdb.DuckDBPyConnection, grain: str, keys: list[str]) -> pl.DataFrame:
    """Both sources' figures of one grain side by side (null where a source has no such period)."""
    frames = []
    for source in ("afspraken", "telefonie"):
        table = f"{source}_{grain}"
        if store.table_exists(con, table):
            frame = store.frame(con, f"SELECT * FROM {table}")
            frames.append(_with_closed_days(frame) if grain == "dag" else frame)
    if not frames:
        return pl.DataFrame()
    joined = frames[0]
    for other in frames[1:]:
        joined = joined.join(other, on=keys, how="full", coalesce=True)
    return joined


def _signed_change(current: str) -> pl.Expr:
    previous = pl.col(current).shift(1)
    consecutive = pl.col("jaar").shift(1) == pl.col("jaar") - 1
    delta = pl.col(current) - previous
    magnitude = pct(delta.abs(), previous)
    return pl.when(consecutive).then(pl.when(delta < 0).then(-magnitude).otherwise(magnitude))


def _conform(frame: pl.DataFrame, model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """Add the columns a source without data lacks (null), order them, and validate."""
    schema = model.to_schema()
    for name, column in schema.columns.items():
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None).cast(column.dtype.type).alias(name))
    frame = frame.select(models.column_order(model))
    return model.validate(frame.cast({n: c.dtype.type for n, c in schema.columns.items()}))


def kerncijfers(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """The key figures per year, month and day, with the figures derived across years."""
    jaar = _figures(con, "jaar", ["jaar"])
    if jaar.is_empty():
        jaar = pl.DataFrame({"jaar": []}, schema={"jaar": pl.Int32})
    jaar = jaar.sort("jaar")
    day_count = pl.col("jaar").map_elements(days_in_year, return_dtype=pl.Int64)
    if "telefoontjes_gemeente" in jaar.columns:
        jaar = jaar.with_columns(
            _signed_change("telefoontjes_gemeente").alias("telefoontjes_verandering_pct"),
            pct(pl.col("telefoontjes_gemeente"), day_count * 100).alias("telefoontjes_per_dag"),
        )
    if "baliebezoeken_met_afspraak" in jaar.columns:
        jaar = jaar.with_columns(_signed_change("baliebezoeken_met_afspraak").alias("baliebezoeken_verandering_pct"))

    maand = _figures(con, "maand", ["jaar", "maand"])
    dag = _figures(con, "dag", ["datum"])
    if not dag.is_empty():
        dag = dag.sort("datum").with_columns(
            pl.col("datum").dt.year().alias("jaar"), pl.col("datum").dt.month().alias("maand")
        )
    return {
        "kerncijfers_jaar": _conform(jaar, models.KerncijfersJaar),
        "kerncijfers_maand": _conform(
            maand.sort("jaar", "maand") if not maand.is_empty() else maand, models.KerncijfersMaand
        ),
        "kerncijfers_dag": _conform(dag, models.KerncijfersDag),
    }


def _comment(value: str) -> str:
    # COMMENT ON takes a literal, not a parameter; the text is ours, quoted as SQL requires.
    return "'" + value.replace("'", "''") + "'"


def _write(path: Path, con: duckdb.DuckDBPyConnection, figures: dict[str, pl.DataFrame]) -> None:
    con.execute("ATTACH ? AS pub", [str(path)])
    try:
        con.execute("CREATE SCHEMA pub.data")
        for table in COPIED_TABLES:
            if store.table_exists(con, table):
                con.execute(f"CREATE TABLE pub.data.{table} AS SELECT * FROM {table}")
        for name, frame in figures.items():
            with store.registered(con, "_figures", frame):
                con.execute(f"CREATE TABLE pub.data.{name} AS SELECT * FROM _figures")
    finally:
        con.execute("DETACH pub")

    out = duckdb.connect(str(path))
    try:
        out.execute(store.sql_file("publish.sql"))
        for view, text in VIEW_COMMENTS.items():
            out.execute(f"COMMENT ON VIEW {view} IS {_comment(text)}")
            for (column,) in out.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main'", [view]
            ).fetchall():
                out.execute(f'COMMENT ON COLUMN {view}."{column}" IS {_comment(COLUMN_COMMENTS[column])}')
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


def publish(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Write the BI file for the state in `con` and switch it in at `target` atomically."""
    from pipeline import freeze, service_days

    figures = kerncijfers(con)
    figures["ontbrekende_leveringen"] = service_days.missing_days(con)
    figures["versheid"] = service_days.freshness(con)
    figures["definities"] = pl.DataFrame(definities(), infer_schema_length=None)
    figures.update(freeze.published_tables(con))
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
