"""Decode and tokenise one delivered CSV file as the delivery agreement describes it.

Knows nothing of either source: it turns bytes into named text columns, with the physical line
number of every record, and reports records with a wrong number of fields instead of guessing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

UTF8_BOM = b"\xef\xbb\xbf"
LINE = "regel"


class FileRejected(Exception):
    """The whole file cannot be used; the message names the reason (the caller adds the file)."""


@dataclass(frozen=True)
class CsvTable:
    """One file's records as trimmed text.

    `rows`: one row per well-formed record: `regel` (1-based physical line where the record starts;
    the header is line 1) and one column per wanted column, named as the source module names it.
    `ragged`: line and field count of records whose number of fields differs from the header's.
    """

    rows: pl.DataFrame
    ragged: list[tuple[int, int]]
    extra_columns: tuple[str, ...]
    encoding: str
    header_width: int


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 with or without byte-order mark, else Windows-1252 (older deliveries)."""
    if data.startswith(UTF8_BOM):
        return data[len(UTF8_BOM) :].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as err:
        raise FileRejected(f"neither UTF-8 nor Windows-1252 (byte {err.start})") from err


def normalise_header(name: str) -> str:
    return name.strip().lower()


def _records(text: str) -> tuple[list[list[str]], list[int]]:
    """Every record and the physical line it starts on; a file the csv module cannot tokenise is
    rejected, never a crash of the run."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"')
    try:
        records = list(reader)  # the C tokeniser, at full speed
    except csv.Error as err:
        # An unclosed quote makes the rest of the file one field, which stops the csv module at
        # its field-size limit; name the line where that record starts.
        line = _failing_line(text)
        raise FileRejected(f"the record starting on line {line} cannot be read ({err}): an unclosed quote?") from err
    if reader.line_num == len(records):  # no field spans lines: record i starts on line i + 1
        return records, list(range(1, len(records) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"')
    starts = []
    for _ in records:
        starts.append(reader.line_num + 1)
        next(reader)
    return records, starts


def _failing_line(text: str) -> int:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"')
    start = 1
    try:
        while True:
            start = reader.line_num + 1
            next(reader)
    except (csv.Error, StopIteration):
        return start


def _columns(
    header: list[str], required: Iterable[str], optional: Iterable[str]
) -> tuple[list[str], list[int], tuple[str, ...]]:
    """Match the header to the wanted columns: (wanted names, their positions, extra names)."""
    names = [normalise_header(name) for name in header]
    seen: set[str] = set()
    for name in names:
        if name in seen and name:
            raise FileRejected(f"column '{name}' appears twice in the header")
        seen.add(name)
    required = list(required)
    for column in required:
        if column not in seen:
            raise FileRejected(f"required column '{column}' is missing")
    known = {*required, *optional}
    wanted = [c for c in (*required, *optional) if c in seen]
    return wanted, [names.index(c) for c in wanted], tuple(n for n in names if n not in known)


def read_csv_table(data: bytes, required: Iterable[str], optional: Iterable[str] = ()) -> CsvTable:
    """Tokenise `data` (`;`-separated, RFC 4180 quoting) and keep the wanted columns.

    Column names match case-insensitively with surrounding spaces ignored, in any order. A file
    without one of the `required` columns is rejected; unknown columns are listed in
    `extra_columns`. Values are trimmed. Blank lines are not records.
    """
    text, encoding = decode(data)
    records, starts = _records(text)
    if not records:
        raise FileRejected("empty file: no header row")
    header = records[0]
    wanted, positions, extra = _columns(header, required, optional)
    width = len(header)
    last = records[-1]
    spans_lines = len(records) > 1 and any("\n" in f or "\r" in f for f in last)
    if spans_lines and text.count('"') % 2:
        # A quote that is never closed swallows the rest of the file into one field: the rows
        # after it would be lost without a trace, so the file goes back to its source whole.
        raise FileRejected(f"the quote opened in the record on line {starts[-1]} is never closed")
    # Blank lines are no records; records with another number of fields than the header are ragged.
    good = [i for i in range(1, len(records)) if len(records[i]) == width]
    ragged = [(starts[i], len(r)) for i, r in enumerate(records) if i and r and len(r) != width]
    body = records[1:] if len(good) == len(records) - 1 else [records[i] for i in good]
    columns = list(zip(*body, strict=True)) if body else [()] * width
    frame = pl.DataFrame(
        {LINE: pl.Series(LINE, [starts[i] for i in good], dtype=pl.Int64)}
        | {name: pl.Series(name, columns[p], dtype=pl.String) for name, p in zip(wanted, positions, strict=True)}
    ).with_columns(pl.col(wanted).str.strip_chars())
    return CsvTable(frame, ragged, extra, encoding, width)
