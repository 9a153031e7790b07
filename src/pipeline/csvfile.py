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


def read_csv_table(data: bytes, required: Iterable[str], optional: Iterable[str] = ()) -> CsvTable:
    """Tokenise `data` (`;`-separated, RFC 4180 quoting) and keep the wanted columns.

    Column names match case-insensitively with surrounding spaces ignored, in any order. A file
    without one of the `required` columns is rejected; unknown columns are listed in
    `extra_columns`. Values are trimmed. Blank lines are not records.
    """
    text, encoding = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"')
    header = next(reader, None)
    if header is None:
        raise FileRejected("empty file: no header row")
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
    wanted = [c for c in (*required, *optional) if c in seen]
    positions = [names.index(c) for c in wanted]
    extra = tuple(n for n in names if n not in set(required) | set(optional))

    width = len(names)
    lines: list[int] = []
    values: list[list[str]] = [[] for _ in wanted]
    ragged: list[tuple[int, int]] = []
    line_done = reader.line_num
    for record in reader:
        start = line_done + 1
        line_done = reader.line_num
        if not record:
            continue
        if len(record) != width:
            ragged.append((start, len(record)))
            continue
        lines.append(start)
        for column_values, position in zip(values, positions, strict=True):
            column_values.append(record[position])

    frame = pl.DataFrame(
        {LINE: pl.Series(LINE, lines, dtype=pl.Int64)}
        | {name: pl.Series(name, col, dtype=pl.String) for name, col in zip(wanted, values, strict=True)}
    ).with_columns(pl.col(wanted).str.strip_chars())
    return CsvTable(frame, ragged, extra, encoding, width)
