"""Tokenise a batch of delivered CSV files in one native pass, keeping every field.

`csvfile.read_csv_table` reads one file and keeps the columns a source wants. A reader of a chunk of
deliveries wants more, and faster: every field of every file (the archive keeps what a corrected
parser may need, extra columns and ragged rows included), and one pass over all the files rather
than one per file (a call into Polars costs a fixed share of a small file's time).

So the ordinary files of a batch (after decoding to UTF-8), whatever their headers (sources deliver
columns in any order, case and number), are concatenated without their header lines and tokenised
by Polars at once, as wide as the widest header; each file's slice of the result then takes its own
header's names, and the physical line of every record follows from the line counts of the files. A
file that is not ordinary (see `csvfile._lines`) takes the careful path (Python's csv module), exactly
as `read_csv_table` decides: the rows, line numbers, ragged lines and rejections are the same
(`tests/core/test_csvbatch.py` checks it against `read_csv_table`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

# The tokeniser's own building blocks: one reading of the agreement, shared with `read_csv_table`.
from pipeline.core.csvfile import (
    FileRejected,
    _columns,
    _header_fields,
    _Lines,
    _lines,
    _Unusual,
    _utf8,
    careful_records,
    normalise_header,
)

FILE, LINE, FIELDS = "_bestand_nr", "regel", "velden"
PREFIX = "veld:"


def column(name: str) -> str:
    """The batch's column of a header name (normalised); prefixed, so that a delivered column named
    like one of the batch's own (`regel`) cannot take its place."""
    return PREFIX + name


@dataclass(frozen=True)
class CsvFile:
    """One file of a batch: its header as delivered, its encoding and the batch columns it fills."""

    header: tuple[str, ...]
    encoding: str
    columns: tuple[str, ...]  # per header position, the batch column holding its values
    extra_columns: tuple[str, ...]  # normalised names the source does not know

    @property
    def width(self) -> int:
        return len(self.header)


@dataclass(frozen=True)
class CsvBatch:
    """The records of a batch of files.

    `rows`: one row per well-formed record: `FILE` (the file's place in the batch), `LINE` (the
    physical line where it starts; the header is line 1) and one trimmed text column per header
    name of any file (`column(name)`; null where a file has no such column). `ragged`: `FILE`,
    `LINE` and `FIELDS` (the fields as tokenised) of every record whose number of fields differs from
    its header's. `files`: per file, what it is, or why it is rejected whole.
    """

    rows: pl.DataFrame
    ragged: pl.DataFrame
    files: list[CsvFile | FileRejected]


_RAGGED_SCHEMA: dict[str, pl.DataType] = {FILE: pl.UInt32(), LINE: pl.Int64(), FIELDS: pl.List(pl.String)}


def read_csv_batch(datas: Sequence[bytes], required: Iterable[str], optional: Iterable[str] = ()) -> CsvBatch:
    """Tokenise every file of `datas` (`;`-separated, RFC 4180 quoting), as `read_csv_table` would."""
    required, optional = tuple(required), tuple(optional)
    files: list[CsvFile | FileRejected] = [FileRejected("not read")] * len(datas)
    ordinary: list[_Member] = []
    careful: list[int] = []
    for index, data in enumerate(datas):
        try:
            body, encoding = _utf8(data)
        except FileRejected as problem:
            files[index] = problem
            continue
        end = body.find(b"\n")
        header_line, rest = (body, b"") if end < 0 else (body[:end], body[end + 1 :])
        header_line = header_line.removesuffix(b"\r")
        if not header_line or not _known_header(header_line, required, optional):
            careful.append(index)  # empty, a blank first line, a header at fault: the careful path names it
            continue
        ordinary.append((index, header_line, rest, encoding))
    frames: list[pl.DataFrame] = []
    ragged: list[pl.DataFrame] = []
    if ordinary:
        try:
            found = _native(ordinary, required, optional)
        except _Unusual:
            # Which file is not ordinary: each is checked on its own, and the rest read in one pass.
            unusual = {member[0] for member in ordinary if not _is_ordinary(member)}
            careful += sorted(unusual)
            rest_ordinary = [member for member in ordinary if member[0] not in unusual]
            found = None
            if rest_ordinary:
                try:
                    found = _native(rest_ordinary, required, optional)
                except _Unusual:
                    careful += [member[0] for member in rest_ordinary]
        if found is not None:
            _collect(found, files, frames, ragged)
    for index in sorted(careful):
        try:
            _collect(_careful(index, datas[index], required, optional), files, frames, ragged)
        except FileRejected as problem:
            files[index] = problem
    rows = pl.concat(frames, how="diagonal") if frames else pl.DataFrame(schema={FILE: pl.UInt32, LINE: pl.Int64})
    return CsvBatch(rows, pl.concat([pl.DataFrame(schema=_RAGGED_SCHEMA), *ragged]), files)


_Found = tuple[dict[int, CsvFile], pl.DataFrame, pl.DataFrame]
# A file's place in the batch, its header line, its bytes after that line, its encoding.
_Member = tuple[int, bytes, bytes, str]


def _known_header(header_line: bytes, required: tuple[str, ...], optional: tuple[str, ...]) -> bool:
    try:
        _columns(_header_fields(header_line), required, optional)
    except (FileRejected, csv.Error):
        return False
    return True


def _is_ordinary(member: _Member) -> bool:
    _, header_line, rest, _ = member
    try:
        _check_lines(header_line + b"\n" + _ended(rest), len(_header_fields(header_line)))
    except _Unusual:
        return False
    return True


def _ended(body: bytes) -> bytes:
    return body if not body or body.endswith(b"\n") else body + b"\n"


def _check_lines(buffer: bytes, width: int) -> _Lines:
    lines = _lines(buffer)
    if lines.blank is not None and lines.blank[0]:
        raise _Unusual("a blank first line")
    if int(lines.fields[0]) != width:
        raise _Unusual("the header's fields were counted differently")
    return lines


def _collect(
    found: _Found, files: list[CsvFile | FileRejected], frames: list[pl.DataFrame], ragged: list[pl.DataFrame]
) -> None:
    described, rows, misfits = found
    for index, file in described.items():
        files[index] = file
    frames.append(rows)
    ragged.append(misfits)


def _names(header: Sequence[str]) -> tuple[str, ...]:
    """The batch column of each header position: by name; by position where the name is empty."""
    names = [normalise_header(name) for name in header]
    return tuple(column(name) if name else column(f"#{position + 1}") for position, name in enumerate(names))


def _describe(header: list[str], encoding: str, required: tuple[str, ...], optional: tuple[str, ...]) -> CsvFile:
    _, _, extra = _columns(header, required, optional)
    return CsvFile(tuple(header), encoding, _names(header), extra)


def _native(members: list[_Member], required: tuple[str, ...], optional: tuple[str, ...]) -> _Found:
    """Every file of `members` tokenised by Polars in one pass, each with its own header; raise
    `_Unusual` if any is not ordinary. The files of one header layout lie side by side in the buffer,
    so that each layout's rows are one slice of the result."""
    by_layout = sorted(members, key=lambda member: _names(_header_fields(member[1])))
    members = by_layout
    headers = [_header_fields(header_line) for _, header_line, _, _ in members]
    widths = np.array([len(h) for h in headers], dtype=np.int64)
    bodies = [_ended(rest) for _, _, rest, _ in members]
    # The widest header goes first (Polars takes the number of columns from the first line), and
    # must read as that header says (a check).
    widest_at = int(widths.argmax())
    widest = int(widths[widest_at])
    buffer = members[widest_at][1] + b"\n" + b"".join(bodies)
    lines = _check_lines(buffer, widest)
    try:
        frame = (
            pl.scan_csv(
                buffer,
                has_header=False,
                separator=";",
                quote_char='"',
                schema={f"_{n}": pl.String for n in range(widest)},
                truncate_ragged_lines=True,
                empty_string_is_null=False,
                raise_if_empty=False,
            )
            .select(pl.all().str.strip_chars())
            .collect()
        )
    except pl.exceptions.PolarsError as err:
        raise _Unusual(f"the native reader failed: {err}") from err
    if frame.height != lines.count:
        raise _Unusual(f"the native reader returned {frame.height} rows for {lines.count} lines")
    if tuple((v or "").strip() for v in frame.row(0)) != tuple(h.strip() for h in headers[widest_at]):
        raise _Unusual("the native reader read the header differently")
    counts = np.array([body.count(b"\n") for body in bodies], dtype=np.int64)
    file_of = np.repeat(np.arange(len(members), dtype=np.int64), counts)
    first_line = np.concatenate(([0], np.cumsum(counts)[:-1]))
    line = np.arange(counts.sum(), dtype=np.int64) - first_line[file_of] + 2
    indexes = np.array([member[0] for member in members], dtype=np.uint32)
    body_fields = lines.fields[1:]
    blank = lines.blank[1:] if lines.blank is not None else np.zeros(body_fields.size, dtype=bool)
    misfit = (body_fields != widths[file_of]) & ~blank
    keep = ~misfit & ~blank
    body = frame.slice(1).with_columns(
        pl.Series(FILE, indexes[file_of], dtype=pl.UInt32),
        pl.Series(LINE, line, dtype=pl.Int64),
        pl.Series("_keep", keep),
    )
    layouts: dict[tuple[str, ...], list[int]] = {}  # layout -> its files' places among the members
    for n, header in enumerate(headers):
        layouts.setdefault(_names(header), []).append(n)
    parts = []
    for names, places in layouts.items():  # the files of one layout take its header's names
        start, end = int(first_line[places[0]]), int(first_line[places[-1]] + counts[places[-1]])
        mine = body.slice(start, end - start).filter("_keep")
        parts.append(mine.select(FILE, LINE, *(pl.col(f"_{p}").alias(name) for p, name in enumerate(names))))
    rows = pl.concat(parts, how="diagonal") if parts else pl.DataFrame(schema={FILE: pl.UInt32, LINE: pl.Int64})
    where = np.flatnonzero(misfit)
    misfits = pl.DataFrame(
        {
            FILE: pl.Series(indexes[file_of[where]], dtype=pl.UInt32),
            LINE: pl.Series(line[where], dtype=pl.Int64),
            FIELDS: pl.Series(_fields_of_lines(buffer, where + 1), dtype=pl.List(pl.String)),
        },
        schema=_RAGGED_SCHEMA,
    )
    described = {
        index: _describe(header, encoding, required, optional)
        for (index, _, _, encoding), header in zip(members, headers, strict=True)
    }
    return described, rows, misfits


def _fields_of_lines(buffer: bytes, lines: np.ndarray) -> list[list[str]]:
    """The fields of some physical lines of an ordinary buffer (line 0 is its first)."""
    if not lines.size:
        return []
    a = np.frombuffer(buffer, dtype=np.uint8)
    ends = np.flatnonzero(a == 10)
    starts = np.concatenate(([0], ends[:-1] + 1))
    texts = [buffer[starts[n] : ends[n]].removesuffix(b"\r").decode("utf-8") for n in lines.tolist()]
    return [next(csv.reader([text], delimiter=";", quotechar='"')) for text in texts]


def _careful(index: int, data: bytes, required: tuple[str, ...], optional: tuple[str, ...]) -> _Found:
    """One file with the csv module: records across lines, quotes anywhere, lone "\\r"."""
    encoding, records, starts = careful_records(data)
    header = records[0]
    file = _describe(header, encoding, required, optional)
    width = len(header)
    good = [i for i in range(1, len(records)) if len(records[i]) == width]
    columns = list(zip(*(records[i] for i in good), strict=True)) if good else [()] * width
    rows = pl.DataFrame(
        {
            FILE: pl.Series(FILE, [index] * len(good), dtype=pl.UInt32),
            LINE: pl.Series(LINE, [starts[i] for i in good], dtype=pl.Int64),
        }
        | {name: pl.Series(name, columns[p], dtype=pl.String).str.strip_chars() for p, name in enumerate(file.columns)}
    )
    misfit = [i for i, record in enumerate(records) if i and record and len(record) != width]
    misfits = pl.DataFrame(
        {FILE: [index] * len(misfit), LINE: [starts[i] for i in misfit], FIELDS: [records[i] for i in misfit]},
        schema=_RAGGED_SCHEMA,
    )
    return {index: file}, rows, misfits
