"""The plain Polars floor: the four published figures from the deliveries, and nothing else.

What an analyst with Polars would write to get the yearly table right, with none of the pipeline's
duties (no quarantine, ledger, archive, pseudonyms, partitions, breakdowns, publishing): read every
delivery with `pl.read_csv` (`;`, every column as text, a lossy UTF-8 decode, which leaves the
Windows-1252 files' accented names garbled but every value a figure needs intact), keep the rows the
agreement counts, apply the version rules of `shared/spec/raw-data.md` and count. It must still get
the published figures exactly (the caller asserts them), so it does the work that decides them:

- header names matched case-insensitively, values trimmed, spellings of numbers and choices;
- rows with another number of fields than the header are not counted: `pl.read_csv` cannot tell a
  row with a field too few from one with an empty last field, so each file's lines are read a second
  time as plain text to count their separators (the floor's one concession to exactness);
- invalid values (times, numbers, choices, outcomes, channels, statuses, dates) are not counted;
- calls: per `gesprek_id` the row from the file whose name sorts last (then the path, then the line);
  appointments: per `afspraak_id` the latest `gewijzigd`, ties to the later file.

`exact=False` is the floor as the issue measured it: one `pl.read_csv` per delivery and nothing more,
ragged rows counted like any other (so its figures may be off by the few rows the generator makes
ragged). The benchmark's targets use this plain floor; the exact one is shown beside it.

Files are read on a thread pool as wide as the machine (Polars releases the GIL), as the pipeline
reads on as many processes: a floor that left a core idle would flatter the pipeline's ratio.
Imports nothing from the pipeline, so its memory is its own.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

import polars as pl

from bench.agreement import (
    APPOINTMENT_COLUMNS,
    CALL_COLUMNS,
    CHANNELS,
    COUNTED_LOCATIONS,
    FOR_UTRECHT,
    FORWARDED,
    NUMBERS,
    OUTCOMES,
    STATUSES,
    TZ,
    deliveries,
    round_half_up_pct,
)
from bench.cases import Figures

__all__ = ["figures", "header_names"]

BATCH_FILES: Final = 64


def header_names(path: Path) -> list[str]:
    """The file's column names, lower case and trimmed (the first line, decoded lossily)."""
    with path.open("rb") as handle:
        first = handle.readline().decode("utf-8", "replace").removeprefix("\ufeff").rstrip("\r\n")
    return [name.strip().lower() for name in next(csv.reader([first], delimiter=";"))]


def _fields_per_line(path: Path) -> pl.Series:
    """The number of `;`-separated fields of every line after the header (quoted `;` not counted)."""
    lines = pl.read_csv(
        path,
        has_header=False,
        separator="\x1f",
        quote_char=None,
        schema={"line": pl.String},
        encoding="utf8-lossy",
        empty_string_is_null=False,
    )["line"].slice(1)
    counts = lines.str.count_matches(";", literal=True)
    quoted = lines.str.contains('"', literal=True)
    if quoted.any():
        where = quoted.arg_true()
        outside = lines.gather(where).str.replace_all('"[^"]*"', "").str.count_matches(";", literal=True)
        counts = counts.scatter(where, outside)
    return counts + 1


def _rows(path: Path, wanted: Sequence[str], order: int, exact: bool = True) -> pl.DataFrame:
    """The wanted columns of one file as text, with `_ok` (the row has as many fields as the
    header), the file's place in the version order and the row's line."""
    names = header_names(path)
    frame = pl.read_csv(
        path,
        separator=";",
        infer_schema=False,
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
        new_columns=names,
    )
    ok = pl.lit(True)
    if exact:
        fields = _fields_per_line(path)
        if fields.len() != frame.height:
            raise AssertionError(f"{path}: {frame.height} rows but {fields.len()} lines")
        ok = pl.lit(fields == len(names))
    return frame.select(
        *wanted,
        ok.alias("_ok"),
        pl.lit(order, pl.Int32).alias("file"),
        pl.int_range(pl.len(), dtype=pl.Int32).alias("line"),
    )


def _trimmed(columns: Sequence[str]) -> list[pl.Expr]:
    return [pl.col(c).str.strip_chars().fill_null("") for c in columns]


def _instant(column: str) -> pl.Expr:
    text = pl.col(column).str.replace(r"Z$", "+00:00")
    return text.str.to_datetime("%Y-%m-%dT%H:%M:%S%z", strict=False, time_zone="UTC")


def _calls(rows: pl.DataFrame) -> pl.DataFrame:
    """Valid calls of a batch of files: id, start and what they count for."""
    typed = rows.with_columns(_trimmed(CALL_COLUMNS)).select(
        "_ok",
        "file",
        "line",
        pl.col("gesprek_id").alias("id"),
        _instant("starttijd").alias("start"),
        pl.col("nummer").replace_strict(NUMBERS, default=None, return_dtype=pl.String).alias("number"),
        pl.col("keuze").str.to_lowercase().alias("choice"),
        pl.col("afhandeling").str.to_lowercase().alias("outcome"),
        pl.col("wachttijd").str.to_integer(strict=False).alias("wait"),
        pl.col("gespreksduur").str.to_integer(strict=False).alias("talk"),
    )
    number, choice, outcome, talk = pl.col("number"), pl.col("choice"), pl.col("outcome"), pl.col("talk")
    valid = (
        pl.col("_ok")
        & (pl.col("id") != "")
        & pl.col("start").is_not_null()
        & number.is_not_null()
        & (choice.is_in(FOR_UTRECHT) | choice.is_in(FORWARDED))
        & ((number == "14030") | (choice == ""))
        & outcome.is_in(OUTCOMES)
        & (pl.col("wait") >= 0)
        & (talk >= 0)
        & ((talk == 0) | (outcome == "beantwoord"))
        & ((outcome == "doorgeschakeld") == ((number == "14030") & choice.is_in(FORWARDED)))
    )
    return typed.filter(valid).select(
        "id",
        "start",
        ((number == "030") | choice.is_in(FOR_UTRECHT)).alias("utrecht"),
        (number == "14030").alias("via_14030"),
        (outcome == "beantwoord").alias("answered"),
        "file",
        "line",
    )


def _appointments(rows: pl.DataFrame) -> pl.DataFrame:
    """Valid appointment versions of a batch of files: id, time of the version, whether it is a visit."""
    typed = rows.with_columns(_trimmed(APPOINTMENT_COLUMNS)).select(
        "_ok",
        "file",
        "line",
        pl.col("afspraak_id").alias("id"),
        pl.col("locatie").alias("location"),
        pl.col("kanaal").str.to_lowercase().alias("channel"),
        pl.col("status").str.to_lowercase().alias("status"),
        pl.col("datum").str.to_date("%d-%m-%Y", strict=False).alias("day"),
        pl.col("tijd").str.to_time("%H:%M", strict=False).alias("time"),
        _instant("gewijzigd").alias("changed"),
    )
    valid = (
        pl.col("_ok")
        & (pl.col("id") != "")
        & pl.col("channel").is_in(CHANNELS)
        & pl.col("status").is_in(STATUSES)
        & pl.col("day").is_not_null()
        & pl.col("time").is_not_null()
        & pl.col("changed").is_not_null()
    )
    visit = (
        (pl.col("status") == "verschenen")
        & (pl.col("channel") == "balie")
        & pl.col("location").is_in(COUNTED_LOCATIONS)
    )
    return typed.filter(valid).select(
        "id",
        "changed",
        visit.alias("visit"),
        pl.col("day").dt.year().alias("year"),
        "file",
        "line",
    )


def _read_all(
    raw: Path,
    source: str,
    wanted: Sequence[str],
    keep: Callable[[pl.DataFrame], pl.DataFrame],
    threads: int,
    exact: bool,
) -> pl.DataFrame:
    """Every file of the source read on `threads` threads; `keep` types and filters a batch of files
    at a time (one Polars query per batch instead of one per small file)."""
    paths = deliveries(raw, source)
    kept: list[pl.DataFrame] = []
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for start in range(0, len(paths), BATCH_FILES):
            batch = paths[start : start + BATCH_FILES]
            order = range(start, start + len(batch))
            parts = list(pool.map(lambda path, n: _rows(path, wanted, n, exact), batch, order))
            kept.append(keep(pl.concat(parts, how="diagonal_relaxed")))
    return pl.concat(kept) if kept else pl.DataFrame()


def figures(raw: Path, threads: int | None = None, exact: bool = True) -> Figures:
    """The four published figures per year found in the deliveries under `raw` (`exact`: see above)."""
    threads = threads or os.cpu_count() or 1
    years: Figures = {}
    calls = _read_all(raw, "telefonie", CALL_COLUMNS, _calls, threads, exact)
    if calls.height:
        # rows are in file order, lines in order within a file: the last row of an id counts
        counted = (
            calls.unique(subset="id", keep="last", maintain_order=True)
            .filter("utrecht")
            .group_by(pl.col("start").dt.convert_time_zone(TZ).dt.year().alias("year"))
            .agg(
                pl.len().alias("calls"),
                pl.col("via_14030").sum().alias("via_14030"),
                pl.col("answered").sum().alias("answered"),
            )
        )
        for year, n, via, answered in counted.iter_rows():
            years.setdefault(year, {}).update(
                telefoontjes_gemeente=n, telefoontjes_14030=via, bereikbaarheid_pct=round_half_up_pct(answered, n)
            )
    del calls
    appointments = _read_all(raw, "afspraken", APPOINTMENT_COLUMNS, _appointments, threads, exact)
    if appointments.height:
        visits = (
            appointments.sort("changed", "file", "line")
            .unique(subset="id", keep="last", maintain_order=True)
            .filter("visit")
            .group_by("year")
            .len()
        )
        for year, n in visits.iter_rows():
            years.setdefault(year, {})["baliebezoeken_met_afspraak"] = n
    return years
