"""`pipeline export`: the published tables as CSV, Parquet or Excel, for tools that cannot open DuckDB.

The export reads the published warehouse through one read-only connection, so every file shows the
same published state, and it never blocks a run. Every file is written beside its final name and
renamed into place, so a reader of the export folder never sees half a file. The Dutch definitions
of the views and their columns travel along: `toelichting.<ext>` (a sheet `toelichting` in Excel)
lists them, and Parquet files also carry them as field metadata (`description`).

Delivered text never runs when staff open an export (OWASP "CSV Injection"): Excel cells are written
as text, never as a formula or a link; in CSV a text that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return gets a single quote in front (`csv_safe`), unless it is only a number. Number
columns are numbers, negative ones too.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from pipeline.core import db
from pipeline.core.atomic import atomic_output
from pipeline.publish import catalog
from pipeline.publish.definitions import table_comments

FORMATS = ("csv", "parquet", "xlsx")
EXPLANATION = "toelichting"
EXCEL_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header
# What a spreadsheet reads as the start of a formula (OWASP), and the prefix that makes it text.
FORMULA_START = r"^[=+\-@\t\r]"
PLAIN_NUMBER = r"^[+-]?[0-9]+(?:[.,][0-9]+)?$"
TEXT_PREFIX = "'"
# Every cell as what it is: a string starting with '=' is no formula, a URL no link, digits no number.
EXCEL_OPTIONS = {
    "remove_timezone": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


class ExportError(Exception):
    """The export cannot be made; the message is the one line the operator sees."""


def views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The BI-facing tables of the published file: those with a definition first, in that order, then any other."""
    found = list(catalog.relations(con))
    known = table_comments()
    return [v for v in known if v in found] + [v for v in found if v not in known]


def explanation(con: duckdb.DuckDBPyConnection, names: list[str]) -> pl.DataFrame:
    """One row per view (kolom empty) and per column: its type and its Dutch definition."""
    rows: list[dict[str, object]] = []
    comments = catalog.relations(con)
    for view in names:
        rows.append({"view": view, "kolom": None, "datatype": None, "omschrijving": comments.get(view)})
        for column, datatype, text in con.execute(
            "SELECT column_name, data_type, comment FROM duckdb_columns() "
            "WHERE table_name = ? AND schema_name = 'main' AND database_name = current_database() "
            "ORDER BY column_index",
            [view],
        ).fetchall():
            rows.append({"view": view, "kolom": column, "datatype": datatype, "omschrijving": text})
    return pl.DataFrame(
        rows, schema={"view": pl.String, "kolom": pl.String, "datatype": pl.String, "omschrijving": pl.String}
    )


def csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Text columns with the OWASP prefix where a spreadsheet would take the text for a formula."""
    text = [name for name, kind in frame.schema.items() if kind == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_START) & ~pl.col(name).str.contains(PLAIN_NUMBER))
        .then(pl.lit(TEXT_PREFIX) + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text
    )


def _for_excel(frame: pl.DataFrame) -> pl.DataFrame:
    """Excel has no time zones: moments are written in UTC (as their definitions say)."""
    zoned = [n for n, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone is not None]
    return frame.with_columns(pl.col(n).dt.convert_time_zone("UTC").dt.replace_time_zone(None) for n in zoned)


def _parquet(frame: pl.DataFrame, comments: dict[str, str | None], view_comment: str | None, path: Path) -> None:
    table = frame.to_arrow()
    fields = [
        field.with_metadata({"description": comments[field.name]}) if comments.get(field.name) else field
        for field in table.schema
    ]
    schema = pa.schema(fields, metadata={"description": view_comment} if view_comment else None)
    pq.write_table(table.cast(schema), path)


def export(warehouse: Path, fmt: str, out_dir: Path) -> list[Path]:
    """Write every published view to `out_dir` in `fmt`; return the files written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    try:
        with db.open_published(warehouse) as con:
            names = views(con)
            about = explanation(con, names)
            frames = {EXPLANATION: about} | {v: db.frame(con, f'SELECT * FROM "{v}"') for v in names}
    except db.WarehouseUnavailable as problem:
        raise ExportError(str(problem)) from None
    out_dir.mkdir(parents=True, exist_ok=True)

    written: list[Path] = []
    if fmt == "xlsx":
        too_long = [n for n, f in frames.items() if f.height > EXCEL_MAX_ROWS]
        if too_long:
            raise ExportError(f"{', '.join(too_long)} has more rows than an Excel sheet holds; export csv or parquet")
        path = out_dir / f"{warehouse.stem}.xlsx"
        with atomic_output(path) as temporary:
            workbook = xlsxwriter.Workbook(str(temporary), EXCEL_OPTIONS)
            try:
                for name, frame in frames.items():
                    _for_excel(frame).write_excel(
                        workbook, name[:31], autofit=frame.height <= 5000, freeze_panes=(1, 0), float_precision=1
                    )
            finally:
                workbook.close()
        return [path]

    for name, frame in frames.items():
        path = out_dir / f"{name}.{fmt}"
        with atomic_output(path) as temporary:
            if fmt == "csv":
                csv_safe(frame).write_csv(temporary)
            else:
                mine = about.filter(pl.col("view") == name).iter_rows(named=True)
                described = {r["kolom"]: r["omschrijving"] for r in mine}
                view_comment = described.pop(None, None)
                _parquet(frame, described, view_comment, temporary)
        written.append(path)
    return written
