"""The file a run published, read the way a BI tool reads it: read-only, by its views."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline.run import RunSummary
from pipeline.sources import SOURCES

# Columns of the published views that record when something happened, not what the data says.
TIME_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
# What a BI user reads as figures: not the run ledger or the delivery timestamps.
FIGURE_VIEWS = (
    "kerncijfers",
    "kerncijfers_maand",
    "kerncijfers_dag",
    *(view for source in SOURCES.values() for view in source.view_comments),
    "quarantaine",
)
Figures = dict[str, list[dict[str, Any]]]  # rows by figure view


@contextmanager
def reading(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to a published file, closed after."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


@dataclass
class Published:
    """The BI file a run published, read the way a BI tool reads it (read-only)."""

    path: Path
    summary: RunSummary

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        with reading(self.path) as con:
            return con.sql(sql, params=list(params) if params else None).pl()

    def frame(self, view: str) -> pl.DataFrame:
        return self.query(f"SELECT * FROM {view}")

    def rows(self, view: str) -> list[dict[str, Any]]:
        return self.frame(view).to_dicts()

    def year(self, jaar: int) -> dict[str, Any]:
        found = self.frame("kerncijfers").filter(pl.col("jaar") == jaar).to_dicts()
        assert len(found) == 1, f"no single kerncijfers row for {jaar}: {found}"
        return found[0]

    def years(self, column: str) -> dict[int, Any]:
        return {r["jaar"]: r[column] for r in self.rows("kerncijfers")}

    def day(self, datum: dt.date) -> dict[str, Any]:
        found = self.frame("kerncijfers_dag").filter(pl.col("datum") == datum).to_dicts()
        assert len(found) == 1, f"no single kerncijfers_dag row for {datum}"
        return found[0]

    def delivery(self, bestand: str) -> dict[str, Any]:
        found = [r for r in self.rows("leveringen") if r["bestand"] == bestand]
        assert len(found) == 1, f"{bestand} not once in leveringen: {self.rows('leveringen')}"
        return found[0]

    def quarantine(self, bestand: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.rows("quarantaine") if bestand is None or r["bestand"] == bestand]


def rows(warehouse: Path, query: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """A query's result over a published warehouse, read-only, as dicts."""
    return Published(warehouse, RunSummary("-", "-", dt.datetime.now(dt.UTC))).query(query, params).to_dicts()


def figures(warehouse: Path) -> Figures:
    """Every figure view's rows: what two runs that should agree are compared by. One connection for
    all of them: opening a DuckDB file costs some 40 ms, more than reading a view of it."""
    with reading(warehouse) as con:
        return {view: con.sql(f"SELECT * FROM {view}").pl().to_dicts() for view in FIGURE_VIEWS}


def relation_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table and view of every schema of the open database, qualified."""
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()
    views = con.execute(
        "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal"
    ).fetchall()
    return [f'"{schema}"."{name}"' for schema, name in (*tables, *views)]


def all_text(path: Path) -> str:
    """Every value, column name and comment of every table and view in a DuckDB file, as one text."""
    with reading(path) as con:
        parts = []
        for relation in relation_names(con):
            frame = con.sql(f"SELECT * FROM {relation}").pl()
            parts.append(relation + " " + " ".join(frame.columns))
            parts.extend(str(v) for column in frame.columns for v in frame[column].to_list())
        parts.extend(str(c) for (c,) in con.execute("SELECT comment FROM duckdb_columns()").fetchall())
        return "\n".join(parts)


def view_contents(path: Path, skip: Iterable[str] = ("runs", "meldingen")) -> dict[str, list[tuple[Any, ...]]]:
    """Every published table's rows as a sorted list, leaving out columns that record when a run happened."""
    with reading(path) as con:
        views = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT internal"
            ).fetchall()
            if name not in set(skip)
        ]
        contents = {}
        for view in sorted(views):
            columns = [
                name
                for name, dtype in con.execute(
                    "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main'",
                    [view],
                ).fetchall()
                if dtype not in TIME_TYPES
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(f"SELECT {select} FROM {view}").fetchall()
            contents[view] = sorted(rows, key=repr)
        return contents


def export_text(folder: Path) -> str:
    """Every cell and name of every exported file (CSV text, Parquet values, the XML inside an xlsx)."""
    parts = []
    for path in sorted(folder.iterdir()):
        if path.suffix == ".csv":
            parts.append(path.read_text(encoding="utf-8"))
        elif path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            parts.append(" ".join(frame.columns))
            parts.extend(str(v) for column in frame.columns for v in frame[column].to_list())
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                parts.extend(book.read(name).decode("utf-8") for name in book.namelist())
        else:
            raise AssertionError(f"unexpected export file {path}")
    return "\n".join(parts)
