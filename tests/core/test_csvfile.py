"""The tokeniser: the native (Polars) path and the careful (csv module) path read every file alike.

Files are written as bytes, the way a source system writes them: by Python's csv module (an
independent writer) for the property, by hand for the golden cases. No mocks: the careful path is
forced through its own private entry point, the native one is checked to be the one taken.
"""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipeline.core.csvfile import (
    LINE,
    CsvTable,
    FileRejected,
    _read_careful,
    _read_native,
    _Unusual,
    _utf8,
    read_csv_table,
)

REQUIRED = ("gesprek_id", "starttijd")
OPTIONAL = ("beller",)
HEADER = "gesprek_id;starttijd;beller"


def _same(a: CsvTable, b: CsvTable) -> None:
    assert a.rows.equals(b.rows), (a.rows, b.rows)
    assert a.rows.schema == b.rows.schema
    assert (a.ragged, a.extra_columns, a.encoding, a.header_width) == (
        b.ragged,
        b.extra_columns,
        b.encoding,
        b.header_width,
    )


def _outcome(read: object, data: bytes) -> CsvTable | str:
    try:
        return read(data, REQUIRED, OPTIONAL)  # type: ignore[operator,no-any-return]
    except FileRejected as err:
        return f"rejected: {err}"


def _native_taken(data: bytes) -> bool:
    body, encoding = _utf8(data)
    try:
        _read_native(body, encoding, REQUIRED, OPTIONAL)
    except _Unusual:
        return False
    return True


def read(data: bytes) -> CsvTable:
    """`read_csv_table`, checked against the careful path on the same bytes."""
    got = read_csv_table(data, REQUIRED, OPTIONAL)
    _same(got, _read_careful(data, REQUIRED, OPTIONAL))
    return got


def rejection(data: bytes) -> str:
    """The message `read_csv_table` rejects `data` with; the careful path says the same."""
    with pytest.raises(FileRejected) as native:
        read_csv_table(data, REQUIRED, OPTIONAL)
    with pytest.raises(FileRejected) as careful:
        _read_careful(data, REQUIRED, OPTIONAL)
    assert str(native.value) == str(careful.value)
    return str(native.value)


def rows(table: CsvTable) -> list[tuple[object, ...]]:
    return table.rows.rows()


# ---------------------------------------------------------------------------------------------
# Property: both paths agree on whatever Python's csv module writes
# ---------------------------------------------------------------------------------------------

# Text with everything that makes CSV hard: separators, quotes, line breaks (a lone "\r" too),
# padding, a NUL, non-ASCII that Windows-1252 has and some that it lacks.
_alphabet = st.characters(codec="utf-8", exclude_categories=("Cs",), include_characters=';"\n\r\t \x00éÇ€ßŽ—中')
_spelling = st.sampled_from([str, str.upper, str.title, lambda s: f" {s} ", lambda s: f"{s}\t"])


@st.composite
def _files(draw: st.DrawFn, one_line_records: bool = False) -> bytes:
    """A file as Python's csv module writes it; `one_line_records`: every record on one line and
    all required columns there (a file the native path must take)."""
    field = st.text(_alphabet, max_size=8)
    if one_line_records:
        field = field.map(lambda s: s.replace("\r", "").replace("\n", ""))
        names = [*REQUIRED, *draw(st.lists(st.sampled_from(["beller", "notitie"]), unique=True))]
        names = draw(st.permutations(names))
    else:
        names = draw(
            st.lists(st.sampled_from(["gesprek_id", "starttijd", "beller", "notitie"]), min_size=1, max_size=4)
        )
    header = [draw(_spelling)(name) for name in names]
    lineterminator = draw(st.sampled_from(["\n", "\r\n"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quotechar='"', lineterminator=lineterminator, quoting=quoting)
    writer.writerow(header)
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["record", "record", "record", "ragged", "blank", "spaces"]))
        if kind == "blank":
            out.write(lineterminator)
        elif kind == "spaces":
            out.write(draw(st.sampled_from([" ", "  ", "\t"])) + lineterminator)
        else:
            width = len(header) if kind == "record" else draw(st.integers(1, len(header) + 2))
            writer.writerow([draw(field) for _ in range(width)])
    text = out.getvalue()
    if draw(st.booleans()):
        text = text.removesuffix(lineterminator)  # no line break after the last record
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        assume(False)
        raise


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(data=_files())
def test_native_and_careful_paths_read_every_file_alike(data: bytes) -> None:
    native, careful = _outcome(read_csv_table, data), _outcome(_read_careful, data)
    if isinstance(native, str) or isinstance(careful, str):
        assert native == careful
    else:
        _same(native, careful)


@settings(max_examples=150, deadline=None)
@given(data=_files(one_line_records=True))
def test_files_whose_records_each_sit_on_one_line_take_the_native_path(data: bytes) -> None:
    # so the property above is not vacuous: Polars reads these, and agrees with the csv module
    assert _native_taken(data)
    _same(read_csv_table(data, REQUIRED, OPTIONAL), _read_careful(data, REQUIRED, OPTIONAL))


# ---------------------------------------------------------------------------------------------
# Golden cases, one per rule
# ---------------------------------------------------------------------------------------------


def test_an_ordinary_file_is_read_natively_with_its_physical_line_numbers() -> None:
    data = b'gesprek_id;starttijd;beller\nc1;t1;b1\n"c;2";" t2 ";""\n"c""3";t3;\n'
    assert _native_taken(data)
    got = read(data)
    assert rows(got) == [(2, "c1", "t1", "b1"), (3, "c;2", "t2", ""), (4, 'c"3', "t3", "")]
    assert got.rows.schema == pl.Schema(
        {LINE: pl.Int64, "gesprek_id": pl.String, "starttijd": pl.String, "beller": pl.String}
    )
    assert (got.ragged, got.extra_columns, got.encoding, got.header_width) == ([], (), "utf-8", 3)


def test_a_record_spanning_lines_starts_on_its_first_line_and_shifts_the_next() -> None:
    data = b'gesprek_id;starttijd\r\nc1;"regel een\r\nregel twee"\r\nc2;t2\r\n'
    assert not _native_taken(data)
    assert rows(read(data)) == [(2, "c1", "regel een\r\nregel twee"), (4, "c2", "t2")]


def test_blank_lines_count_as_lines_but_are_not_records() -> None:
    for newline in ("\n", "\r\n"):
        data = newline.join(["gesprek_id;starttijd", "", "c1;t1", "", "", "c2;t2", "", ""]).encode()
        assert _native_taken(data)
        got = read(data)
        assert rows(got) == [(3, "c1", "t1"), (6, "c2", "t2")]
        assert got.ragged == []


def test_a_whitespace_only_line_is_a_record_of_one_field() -> None:
    got = read(b"gesprek_id;starttijd\n  \nc1;t1\n\t\n")
    assert rows(got) == [(3, "c1", "t1")]
    assert got.ragged == [(2, 1), (4, 1)]


def test_records_with_too_few_or_too_many_fields_are_reported_and_left_out() -> None:
    data = b'gesprek_id;starttijd;beller\nc1;t1\nc2;t2;b2;x\nc3;t3;b3\n"c;4";"t;4"\n;;;;\n'
    assert _native_taken(data)
    got = read(data)
    assert rows(got) == [(4, "c3", "t3", "b3")]
    assert got.ragged == [(2, 2), (3, 4), (5, 2), (6, 5)]
    assert got.header_width == 3


def test_a_quote_never_closed_rejects_the_file_naming_its_line() -> None:
    small = b'gesprek_id;starttijd\nc1;t1\nc2;"t2\nc3;t3\nc4;t4\n'
    assert rejection(small) == "the quote opened in the record on line 3 is never closed"
    # past the csv module's old 128 KiB field limit: the same message, not "field larger than field limit"
    large = b'gesprek_id;starttijd\nc1;t1\nc2;"t2\n' + b"".join(b"c%d;t\n" % i for i in range(20_000))
    assert len(large) > 131_072
    assert rejection(large) == "the quote opened in the record on line 3 is never closed"
    # on the last line of a file without a final line break
    assert (
        rejection(b'gesprek_id;starttijd\nc1;t1\nc2;"t2') == "the quote opened in the record on line 3 is never closed"
    )
    # a record that spans lines and then opens a quote that never closes
    message = rejection(b'gesprek_id;starttijd\nc1;"a\nb";"c\nc2;t2\n')
    assert message == "the quote opened on line 3 (in the record that starts on line 2) is never closed"


def test_a_quote_inside_a_field_is_text_and_only_a_quote_at_a_field_start_opens() -> None:
    # inch marks and quotes after a closing quote, as the csv module reads them; not an unclosed quote
    data = b'gesprek_id;starttijd\nc1;scherm 12" breed\nc2;"a"b\nc3;t3\n'
    assert not _native_taken(data)
    assert rows(read(data)) == [(2, "c1", 'scherm 12" breed'), (3, "c2", "ab"), (4, "c3", "t3")]


def test_a_lone_carriage_return_ends_a_line() -> None:
    data = b"gesprek_id;starttijd\rc1;t1\rc2;t2\r"
    assert not _native_taken(data)
    assert rows(read(data)) == [(2, "c1", "t1"), (3, "c2", "t2")]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_utf8_with_and_without_bom_and_windows_1252(encoding: str) -> None:
    data = "gesprek_id;starttijd;beller\nc1;José Çelik;Žofia € ‘x’\n".encode(encoding)
    got = read(data)
    assert got.encoding == encoding
    assert rows(got) == [(2, "c1", "José Çelik", "Žofia € ‘x’")]


def test_bytes_outside_both_encodings_reject_the_file() -> None:
    assert rejection(b"gesprek_id;starttijd\nc1;\x81\xe9\n") == "neither UTF-8 nor Windows-1252 (byte 24)"
    message = rejection(b"\xef\xbb\xbfgesprek_id;starttijd\nc1;\xe9\n")
    assert message == "starts with the UTF-8 byte-order mark but is not UTF-8 (byte 27)"


@pytest.mark.parametrize(
    ("encoding", "bom", "message"),
    [
        ("utf-16-le", b"\xff\xfe", "UTF-16 little-endian text (byte-order mark FF FE)"),
        ("utf-16-be", b"\xfe\xff", "UTF-16 big-endian text (byte-order mark FE FF)"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "UTF-32 little-endian text (byte-order mark FF FE 00 00)"),
        ("utf-32-be", b"\x00\x00\xfe\xff", "UTF-32 big-endian text (byte-order mark 00 00 FE FF)"),
        ("utf-16-le", b"", "UTF-16 little-endian text (no byte-order mark, NUL bytes in every other position)"),
        ("utf-16-be", b"", "UTF-16 big-endian text (no byte-order mark, NUL bytes in every other position)"),
        (
            "utf-32-le",
            b"",
            "UTF-32 little-endian text (no byte-order mark, NUL bytes in three of every four positions)",
        ),
    ],
)
def test_utf16_and_utf32_are_rejected_for_their_encoding_not_a_missing_column(
    encoding: str, bom: bytes, message: str
) -> None:
    data = bom + "gesprek_id;starttijd\r\nc1;José\r\n".encode(encoding)
    assert rejection(data) == f"{message}; deliveries must be UTF-8 or Windows-1252"


def test_header_names_match_in_any_case_order_and_padding_and_extras_are_listed() -> None:
    got = read(b" Notitie ;STARTTIJD ;\tGesprek_ID;beller\nn;t1;c1;b\n")
    assert got.rows.columns == [LINE, "gesprek_id", "starttijd", "beller"]
    assert rows(got) == [(2, "c1", "t1", "b")]
    assert got.extra_columns == ("notitie",)
    quoted = read(b'"gesprek_id";"starttijd"\r\n"c1";"t1"\r\n')
    assert rows(quoted) == [(2, "c1", "t1")]


def test_a_duplicated_or_missing_column_rejects_the_file() -> None:
    assert (
        rejection(b"gesprek_id;Gesprek_id ;starttijd\nc1;c1;t1\n") == "column 'gesprek_id' appears twice in the header"
    )
    assert rejection(b"gesprek_id;beller\nc1;b1\n") == "required column 'starttijd' is missing"


def test_values_are_trimmed() -> None:
    got = read(b'gesprek_id;starttijd;beller\n  c1 ;\tt1\t;" b1 "\n')
    assert rows(got) == [(2, "c1", "t1", "b1")]


def test_a_header_only_file_is_valid_with_no_rows() -> None:
    for data in (b"gesprek_id;starttijd\n", b"gesprek_id;starttijd\r\n", b"gesprek_id;starttijd"):
        got = read(data)
        assert got.rows.height == 0 and got.ragged == []
        assert got.rows.columns == [LINE, "gesprek_id", "starttijd"]


def test_an_empty_file_is_rejected() -> None:
    assert rejection(b"") == "empty file: no header row"
    assert rejection(b"\xef\xbb\xbf") == "empty file: no header row"


@pytest.mark.slow
@pytest.mark.parametrize("quoted", [False, True])
def test_a_50_mb_field_is_read_not_taken_for_an_unclosed_quote(quoted: bool) -> None:
    value = b"x" * 50_000_000
    data = b"gesprek_id;starttijd\nc1;" + (b'"' + value + b'"' if quoted else value) + b"\nc2;t2\n"
    assert _native_taken(data)
    got = read_csv_table(data, REQUIRED)
    assert got.rows[LINE].to_list() == [2, 3]
    assert got.rows["starttijd"].str.len_bytes().to_list() == [50_000_000, 2]
    careful = _read_careful(data, REQUIRED)  # the csv module reads it too
    _same(got, careful)


def test_a_nul_byte_in_a_field_is_data() -> None:
    data = b'gesprek_id;starttijd\nc\x001;t1\nc2;"t\x002"\n'
    assert _native_taken(data)
    assert rows(read(data)) == [(2, "c\x001", "t1"), (3, "c2", "t\x002")]
