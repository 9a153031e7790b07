"""The batch tokeniser reads every file of a batch as `read_csv_table` reads it alone, in one pass.

Whatever Python's csv module writes (the generator of `test_csvfile`), a batch of such files gives,
per file, the same rows, physical lines, ragged lines, extra columns, encoding and rejections as the
file read on its own; and it keeps every field, ragged records' fields included.
"""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.csvbatch import FIELDS, FILE, LINE, CsvFile, column, read_csv_batch
from pipeline.core.csvfile import FileRejected, read_csv_table
from tests.core.test_csvfile import OPTIONAL, REQUIRED, _files


def _alone(data: bytes) -> tuple[object, ...]:
    try:
        table = read_csv_table(data, REQUIRED, OPTIONAL)
    except FileRejected as err:
        return ("rejected", str(err))
    wanted = [c for c in table.rows.columns if c != "regel"]
    return ("read", table.rows.rows(), table.ragged, table.extra_columns, table.encoding, table.header_width, wanted)


def _in_batch(
    batch_rows: pl.DataFrame, ragged: pl.DataFrame, file: CsvFile | FileRejected, index: int
) -> tuple[object, ...]:
    if isinstance(file, FileRejected):
        return ("rejected", str(file))
    mine = batch_rows.filter(pl.col(FILE) == index)
    names = {c.removeprefix("veld:"): c for c in file.columns}
    wanted = [c for c in (*REQUIRED, *OPTIONAL) if c in names]
    rows = mine.select(LINE, *(pl.col(names[c]).alias(c) for c in wanted)).rows()
    misfits = ragged.filter(pl.col(FILE) == index)
    lines = list(zip(misfits[LINE].to_list(), misfits[FIELDS].list.len().to_list(), strict=True))
    return ("read", rows, lines, file.extra_columns, file.encoding, file.width, wanted)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(files=st.lists(_files() | _files(one_line_records=True), min_size=1, max_size=5))
def test_a_batch_reads_every_file_as_it_is_read_alone(files: list[bytes]) -> None:
    batch = read_csv_batch(files, REQUIRED, OPTIONAL)
    assert len(batch.files) == len(files)
    for index, data in enumerate(files):
        assert _in_batch(batch.rows, batch.ragged, batch.files[index], index) == _alone(data)


def test_files_sharing_a_header_are_one_pass_and_keep_their_lines_and_every_field() -> None:
    first = b"gesprek_id;starttijd;notitie\na;1;x\n\nb;2;y;te veel\n"
    second = b"gesprek_id;starttijd;notitie\nc;3; z \n"
    batch = read_csv_batch([first, second], REQUIRED, OPTIONAL)
    got = batch.rows.select(FILE, LINE, column("gesprek_id"), column("notitie")).rows()
    assert got == [(0, 2, "a", "x"), (1, 2, "c", "z")]
    assert batch.ragged.rows() == [(0, 4, ["b", "2", "y", "te veel"])]
    assert [f.extra_columns for f in batch.files if isinstance(f, CsvFile)] == [("notitie",), ("notitie",)]


def test_an_unusual_file_takes_the_careful_path_without_taking_its_group_along() -> None:
    ordinary = b"gesprek_id;starttijd\na;1\n"
    spanning = b'gesprek_id;starttijd\n"b\nc";2\nd;3\n'
    batch = read_csv_batch([ordinary, spanning, b""], REQUIRED)
    assert batch.rows.select(FILE, LINE, column("gesprek_id")).sort(FILE, LINE).rows() == [
        (0, 2, "a"),
        (1, 2, "b\nc"),
        (1, 4, "d"),
    ]
    assert isinstance(batch.files[2], FileRejected)


def test_a_column_named_like_the_batch_own_columns_does_not_take_their_place() -> None:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows(
        [["gesprek_id", "starttijd", "regel"], ["a", "1", "9"]]
    )
    batch = read_csv_batch([out.getvalue().encode()], REQUIRED)
    assert batch.rows.select(LINE, column("regel")).rows() == [(2, "9")]
