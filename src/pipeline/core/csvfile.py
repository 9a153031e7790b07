"""Decode and tokenise one delivered CSV file as the delivery agreement describes it.

Knows nothing of either source: it turns bytes into named text columns, with the physical line
number of every record, and reports records with a wrong number of fields instead of guessing.

Two tokenisers give the same result. An ordinary file (every record on one line, every quote at
the start or end of a field, no lone carriage return) is tokenised by Polars' CSV reader, which
runs natively and releases the GIL; the line numbers, blank lines and field counts it needs come
from a few vectorised (NumPy) passes over the bytes. Any other file, or any doubt (the native
reader returns another number of rows than there are lines, or reads the header differently),
goes to the careful tokeniser: Python's csv module, which follows each record across lines and
names the line of a quote that is never closed.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

UTF8_BOM = b"\xef\xbb\xbf"
LINE = "regel"

_LF, _CR, _QUOTE, _SEP = 10, 13, 34, 59
# Python's csv module stops at 128 KiB per field by default, which made a large value look like an
# unclosed quote. A delivery is far below 2 GiB (and a C long holds this on every platform).
_FIELD_SIZE_LIMIT = 2**31 - 1
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# How the csv module reads a field: a quote opens only at the start of a field; after the closing
# quote, and anywhere in an unquoted field, a quote is plain text.
_QUOTED_PART = re.compile(r'"[^"]*+(?:""[^"]*+)*+"')
_FIELD_REST = re.compile(r"[^;\r\n]*+")
_ENCODINGS_AGREED = "deliveries must be UTF-8 or Windows-1252"
# What other files start with: a spreadsheet sent instead of its CSV export is named as such.
_ZIP = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_NOT_TEXT = "not CSV text; deliveries are ;-separated text (export the sheet as CSV)"
_WIDE_BOMS = (  # the 4-byte marks first: FF FE also starts the UTF-32 little-endian mark
    (b"\xff\xfe\x00\x00", "UTF-32 little-endian", "FF FE 00 00"),
    (b"\x00\x00\xfe\xff", "UTF-32 big-endian", "00 00 FE FF"),
    (b"\xff\xfe", "UTF-16 little-endian", "FF FE"),
    (b"\xfe\xff", "UTF-16 big-endian", "FE FF"),
)


class FileRejected(Exception):
    """The whole file cannot be used; the message names the reason (the caller adds the file)."""


class _Unusual(Exception):
    """The file is not ordinary enough for the native tokeniser; the message says why."""


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


# ---------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------


def _reject_wide_text(data: bytes) -> None:
    """UTF-16 and UTF-32 are outside the agreement: say so, rather than fail on a missing column."""
    for mark, name, spelled in _WIDE_BOMS:
        if data.startswith(mark):
            raise FileRejected(f"{name} text (byte-order mark {spelled}); {_ENCODINGS_AGREED}")
    # Without a mark, mostly-ASCII UTF-16 has a NUL in every other byte (UTF-32: three in four).
    sample = data[: 4096 - 4096 % 4] if len(data) >= 4096 else data[: len(data) - len(data) % 4]
    if len(sample) < 4:
        return
    nul = [sample[phase::4].count(0) * 4 / len(sample) for phase in range(4)]
    mostly = [share >= 0.9 for share in nul]
    rarely = [share <= 0.1 for share in nul]
    patterns = (
        ("UTF-32 little-endian", "NUL bytes in three of every four positions", (rarely[0], *mostly[1:])),
        ("UTF-32 big-endian", "NUL bytes in three of every four positions", (*mostly[:3], rarely[3])),
        ("UTF-16 little-endian", "NUL bytes in every other position", (rarely[0], mostly[1], rarely[2], mostly[3])),
        ("UTF-16 big-endian", "NUL bytes in every other position", (mostly[0], rarely[1], mostly[2], rarely[3])),
    )
    for name, sign, holds in patterns:
        if all(holds):
            raise FileRejected(f"{name} text (no byte-order mark, {sign}); {_ENCODINGS_AGREED}")


def _reject_packed(data: bytes) -> None:
    """An Excel workbook or another packed file is named for what it is, not judged as text."""
    if data.startswith(_ZIP):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except (zipfile.BadZipFile, ValueError, OSError):
            names = []
        if any(name.startswith("xl/") for name in names):
            raise FileRejected(f"an Excel workbook (.xlsx, a ZIP archive), {_NOT_TEXT}")
        raise FileRejected(f"a ZIP archive (bytes 50 4B 03 04 'PK'), {_NOT_TEXT}")
    if data.startswith(_OLE):
        raise FileRejected(
            f"an old Excel workbook (.xls) or another Office file (OLE2, bytes D0 CF 11 E0), {_NOT_TEXT}"
        )


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 with or without byte-order mark, else Windows-1252 (older deliveries)."""
    _reject_packed(data)
    _reject_wide_text(data)
    if data.startswith(UTF8_BOM):
        try:
            return data[len(UTF8_BOM) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as err:
            raise FileRejected(
                f"starts with the UTF-8 byte-order mark but is not UTF-8 (byte {err.start + len(UTF8_BOM)})"
            ) from err
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as err:
        raise FileRejected(f"neither UTF-8 nor Windows-1252 (byte {err.start})") from err


def _utf8(data: bytes) -> tuple[bytes, str]:
    """The text as UTF-8 bytes without byte-order mark, and its encoding as `decode` names it."""
    marked = data.startswith(UTF8_BOM)
    body = data[len(UTF8_BOM) :] if marked else data
    if body.isascii():  # the same bytes in every agreed encoding
        _reject_packed(data)  # a stored (uncompressed) ZIP of ASCII text is ASCII too
        _reject_wide_text(data)  # ASCII as UTF-16 is ASCII bytes and NULs
        return body, "utf-8-sig" if marked else "utf-8"
    text, encoding = decode(data)
    return (body, encoding) if encoding != "cp1252" else (text.encode("utf-8"), encoding)


def normalise_header(name: str) -> str:
    return name.strip().lower()


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
            raise FileRejected(_other_separator(header, required) or f"required column '{column}' is missing")
    known = {*required, *optional}
    wanted = [c for c in (*required, *optional) if c in seen]
    return wanted, [names.index(c) for c in wanted], tuple(n for n in names if n not in known)


def _other_separator(header: list[str], required: list[str]) -> str | None:
    """Why a header lacks the required columns when it holds them behind another separator."""
    line = ";".join(header)
    for separator, name in ((",", "comma"), ("\t", "tab"), ("|", "bar")):
        if separator in line and set(required) & {normalise_header(p) for p in line.split(separator)}:
            between = f"{separator!r} between the header's columns"
            return f"the file looks {name}-separated ({between}); the agreement asks for ';'"
    return None


def read_csv_table(data: bytes, required: Iterable[str], optional: Iterable[str] = ()) -> CsvTable:
    """Tokenise `data` (`;`-separated, RFC 4180 quoting) and keep the wanted columns.

    Column names match case-insensitively with surrounding spaces ignored, in any order. A file
    without one of the `required` columns is rejected; unknown columns are listed in
    `extra_columns`. Values are trimmed. Blank lines are not records.
    """
    required, optional = tuple(required), tuple(optional)
    body, encoding = _utf8(data)
    try:
        return _read_native(body, encoding, required, optional)
    except _Unusual:
        return _read_careful(data, required, optional)


# ---------------------------------------------------------------------------------------------
# Native path: Polars tokenises, NumPy finds the lines and counts their fields
# ---------------------------------------------------------------------------------------------

_Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Lines:
    """What the native path needs to know of the physical lines (index 0 is the header line)."""

    count: int
    blank: npt.NDArray[np.bool_] | None  # empty, or only "\r" before the "\n"; None: no blank line
    fields: _Ints  # number of fields, counting only separators outside quotes


def _lines(body: bytes) -> _Lines:
    """Scan the bytes of an ordinary file; anything that makes it unusual raises `_Unusual`.

    Ordinary: no carriage return except in "\r\n"; every line holds an even number of quotes (so no
    record spans lines and every quote closes), each opening quote at the start of a field and each
    closing quote at its end (or doubled inside the field). Then Polars and the csv module agree.
    A handful of passes over the bytes in NumPy, none per line in Python.
    """
    a = np.frombuffer(body, dtype=np.uint8)
    newlines = np.flatnonzero(a == _LF)
    if body.find(b"\r") >= 0 and np.count_nonzero(a == _CR) != np.count_nonzero(a[newlines[newlines > 0] - 1] == _CR):
        raise _Unusual("a carriage return that does not end a line")
    ends_with_lf = body.endswith(b"\n")
    count = newlines.size + (0 if ends_with_lf else 1)
    starts = np.concatenate(([0], newlines[: count - 1] + 1))
    # A blank line is a line feed right after the previous one (or at the start), perhaps with "\r".
    length = (newlines if ends_with_lf else np.append(newlines, a.size)) - starts
    blank = (length == 0) | ((length == 1) & (a[np.minimum(starts, a.size - 1)] == _CR))
    # Separators per line, and inside each quoted stretch [opening + 1, closing), counted by where
    # the separators are (a sum per line over the whole buffer costs a pass as wide as an int each).
    separators = np.flatnonzero(a == _SEP)
    fields = np.diff(np.searchsorted(separators, np.append(starts, a.size))).astype(np.int64) + 1
    if body.find(b'"') >= 0:
        quotes = np.flatnonzero(a == _QUOTE)
        line, opening, closing = _check_quotes(a, newlines, quotes)
        inside = np.searchsorted(separators, closing) - np.searchsorted(separators, opening + 1)
        fields -= np.bincount(line, weights=inside, minlength=count).astype(np.int64)
    return _Lines(count, blank if blank.any() else None, fields)


def _check_quotes(a: npt.NDArray[np.uint8], newlines: _Ints, quotes: _Ints) -> tuple[_Ints, _Ints, _Ints]:
    """Raise `_Unusual` unless every line has an even number of quotes, each where RFC 4180 puts it.

    Returns the line of each quoted stretch, and the positions of its opening and closing quote."""
    line = np.searchsorted(newlines, quotes)  # the number of line feeds before the quote
    first_of_line = np.flatnonzero(np.concatenate(([True], line[1:] != line[:-1])))
    # quote k of the file opens (k even) or closes (k odd) only if every line has an even count
    if quotes.size % 2 or np.any(first_of_line % 2):
        raise _Unusual("a line with an odd number of quotes (a field spanning lines, or an unclosed quote)")
    opening, closing = quotes[0::2], quotes[1::2]
    doubled = closing[:-1] + 1 == opening[1:]  # '""' inside a quoted field: closes and opens at once
    before = a[np.maximum(opening - 1, 0)]
    opens_field = (opening == 0) | (before == _SEP) | (before == _LF) | np.concatenate(([False], doubled))
    after = a[np.minimum(closing + 1, a.size - 1)]
    closes_field = (
        (closing + 1 == a.size)
        | (after == _SEP)
        | (after == _LF)
        | (after == _CR)  # always "\r\n": a lone "\r" was ruled out
        | np.concatenate((doubled, [False]))
    )
    if not (opens_field.all() and closes_field.all()):
        raise _Unusual("a quote inside a field (not at its start or end)")
    return line[0::2], opening, closing


def _header_fields(line: bytes) -> list[str]:
    text = line.decode("utf-8").removesuffix("\r")
    if '"' not in text:
        return text.split(";")
    return next(csv.reader([text], delimiter=";", quotechar='"'))


def _read_native(body: bytes, encoding: str, required: tuple[str, ...], optional: tuple[str, ...]) -> CsvTable:
    """Tokenise an ordinary file (UTF-8 bytes, no byte-order mark) with Polars; raise `_Unusual` if it is not."""
    if not body:
        raise _Unusual("an empty file")
    header_end = body.find(b"\n")
    header = _header_fields(body[: header_end if header_end >= 0 else len(body)])
    width = len(header)
    try:
        wanted, positions, extra = _columns(header, required, optional)
    except FileRejected as err:  # the careful path decides which of the file's faults to name
        raise _Unusual(str(err)) from err
    lines = _lines(body)  # first: an unusual file never reaches Polars
    if lines.blank is not None and lines.blank[0]:
        raise _Unusual("a blank first line")
    if int(lines.fields[0]) != width:
        raise _Unusual("the header's fields were counted differently")
    frame: pl.DataFrame | None = None
    if positions:
        try:
            # One row per physical line, blank lines too (Polars 2.1); shorter lines are padded with
            # empty strings and longer ones cut to the header's width, which the field counts tell
            # apart. One query: each call into Polars costs a fixed share of a small file's time.
            frame = (
                pl.scan_csv(
                    body,
                    has_header=False,
                    separator=";",
                    quote_char='"',
                    infer_schema=False,
                    truncate_ragged_lines=True,
                    empty_string_is_null=False,
                    raise_if_empty=False,
                )
                .select(pl.nth(positions).str.strip_chars())
                .with_row_index(LINE, offset=1)  # int_range(1, len() + 1) here doubles the query's time
                .with_columns(pl.col(LINE).cast(pl.Int64))
                .collect()
            )
        except pl.exceptions.PolarsError as err:
            raise _Unusual(f"the native reader failed: {err}") from err
    if frame is None:
        frame = pl.DataFrame({LINE: np.arange(2, lines.count + 1, dtype=np.int64)})
    else:
        if frame.height != lines.count:
            raise _Unusual(f"the native reader returned {frame.height} rows for {lines.count} lines")
        if tuple(v.strip() for v in frame.row(0)[1:]) != tuple(header[p].strip() for p in positions):
            raise _Unusual("the native reader read the header differently")
        frame = frame.slice(1)
        frame.columns = [LINE, *wanted]
    body_fields = lines.fields[1:]
    misfit = body_fields != width
    if lines.blank is not None:
        misfit &= ~lines.blank[1:]
    ragged: list[tuple[int, int]] = []
    if misfit.any() or lines.blank is not None:
        where = np.flatnonzero(misfit)
        ragged = list(zip((where + 2).tolist(), body_fields[where].tolist(), strict=True))
        keep = ~misfit if lines.blank is None else ~misfit & ~lines.blank[1:]
        frame = frame.filter(pl.Series(keep))
    return CsvTable(frame, ragged, extra, encoding, width)


# ---------------------------------------------------------------------------------------------
# Careful path: Python's csv module, record by record
# ---------------------------------------------------------------------------------------------


def _records(text: str) -> tuple[list[list[str]], list[int]]:
    """Every record and the physical line it starts on; a file the csv module cannot tokenise is
    rejected, never a crash of the run."""
    if csv.field_size_limit() < _FIELD_SIZE_LIMIT:
        csv.field_size_limit(_FIELD_SIZE_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"')
    try:
        records = list(reader)  # the C tokeniser, at full speed
    except csv.Error as err:
        raise FileRejected(f"the record ending on line {reader.line_num} cannot be read ({err})") from err
    if reader.line_num == len(records):  # no field spans lines: record i starts on line i + 1
        return records, list(range(1, len(records) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"')
    starts = []
    for _ in records:
        starts.append(reader.line_num + 1)
        next(reader)
    return records, starts


def _never_closed(text: str, last: list[str], start_line: int) -> int | None:
    """The line of a quote that is never closed (it can only be in the last record), else None."""
    spans_lines = any("\n" in field or "\r" in field for field in last)
    if not spans_lines and text.endswith(("\n", "\r")):
        return None  # the file ends with a line break outside quotes
    if spans_lines:  # the record starts after the line break that ends line start_line - 1
        pos = 0
        if start_line > 1:
            breaks = _LINE_BREAK.finditer(text)
            for _ in range(start_line - 1):
                pos = next(breaks).end()
    else:  # the record is the last line
        pos = max(text.rfind("\n"), text.rfind("\r")) + 1
    record_start = pos
    while True:  # field by field, as the csv module reads them
        if text.startswith('"', pos):
            quoted = _QUOTED_PART.match(text, pos)
            if quoted is None:
                return start_line + len(_LINE_BREAK.findall(text, record_start, pos))
            pos = quoted.end()
        rest = _FIELD_REST.match(text, pos)
        pos = rest.end() if rest is not None else pos
        if pos >= len(text) or text[pos] in "\r\n":
            return None
        pos += 1  # the separator


def careful_records(data: bytes) -> tuple[str, list[list[str]], list[int]]:
    """The file's encoding, its records (the header first) and the line each starts on, by the csv
    module; an empty file, or one with a quote that is never closed, is rejected."""
    text, encoding = decode(data)
    records, starts = _records(text)
    if not records:
        raise FileRejected("empty file: no header row")
    # A quote that is never closed swallows the rest of the file into one field: the rows after it
    # would be lost without a trace, so the file goes back to its source whole.
    opened = _never_closed(text, records[-1], starts[-1])
    if opened is not None:
        where = f"on line {opened} (in the record that starts on line {starts[-1]})" if opened != starts[-1] else ""
        raise FileRejected(f"the quote opened {where or f'in the record on line {opened}'} is never closed")
    return encoding, records, starts


def _read_careful(data: bytes, required: Iterable[str], optional: Iterable[str] = ()) -> CsvTable:
    """Tokenise any file with the csv module: records across lines, quotes anywhere, lone "\r"."""
    encoding, records, starts = careful_records(data)
    header = records[0]
    wanted, positions, extra = _columns(header, required, optional)
    width = len(header)
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
