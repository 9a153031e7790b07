"""Properties of the readers: whatever a source system writes within the agreement reads back as written.

Files are written with Python's csv module (an independent writer), in a random encoding and line
ending, with the header in random case, order and padding; timestamps are checked against
`datetime.fromisoformat`; every row of a random mix of valid and invalid rows is either valid or
quarantined, never lost or counted twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import polars as pl
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipeline.core.csvfile import read_csv_table
from pipeline.core.values import iso_instant
from pipeline.run.ledger import AFGEWEZEN, VERWERKT
from pipeline.run.read import Delivery, read_deliveries
from pipeline.sources import SOURCES
from pipeline.sources.telefonie.parse import parse as parse_calls
from tests.sources.afspraken.lines import APPT_COLUMNS, appointment
from tests.sources.telefonie.lines import CALL_COLUMNS, call

KEY = b"k" * 32
FAST = settings(max_examples=60, deadline=None)
SLOW = settings(max_examples=25, deadline=None)

# ---------------------------------------------------------------------------------------------
# Tokeniser: read_csv_table
# ---------------------------------------------------------------------------------------------

REQUIRED = ("gesprek_id", "starttijd", "nummer")
OPTIONAL = ("beller",)
EXTRA = ("notitie", "medewerker")

# Text as people type it, plus the characters that make CSV hard. No lone '\r' (Python's csv writer
# leaves it unquoted with an LF line ending, so no reader could tell it from a line end) and no
# control characters that are whitespace to one trimmer but not another (\x1c-\x1f).
_alphabet = st.characters(
    codec="utf-8",
    exclude_categories=("Cs", "Cc"),
    include_characters=";\"'\n\t éÇ€ß—",
)
_core = st.text(_alphabet, max_size=12).map(lambda s: s.replace("\r", "")).filter(lambda s: s == s.strip())
_padding = st.sampled_from(["", " ", "  ", "\t", " \t "])
_value = st.tuples(_padding, _core, _padding)


def _header_spelling(name: str) -> st.SearchStrategy[str]:
    case = st.sampled_from([str.lower, str.upper, str.title, lambda s: s[:1].upper() + s[1:]])
    return st.tuples(_padding, case, _padding).map(lambda t: t[0] + t[1](name) + t[2])


@st.composite
def _tables(draw: st.DrawFn) -> tuple[list[str], list[str], list[dict[str, tuple[str, str, str]]]]:
    columns = [*REQUIRED, *draw(st.sampled_from([(), OPTIONAL])), *draw(st.lists(st.sampled_from(EXTRA), unique=True))]
    columns = draw(st.permutations(columns))
    header = [draw(_header_spelling(c)) for c in columns]
    rows = draw(st.lists(st.fixed_dictionaries({c: _value for c in columns}), max_size=8))
    return columns, header, rows


def _write(header: list[str], rows: list[list[str]], lineterminator: str, quoting: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quotechar='"', lineterminator=lineterminator, quoting=quoting)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@FAST
@given(
    table=_tables(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    lineterminator=st.sampled_from(["\n", "\r\n"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
)
def test_csv_reader_reads_back_what_the_csv_module_wrote(
    table: tuple[list[str], list[str], list[dict[str, tuple[str, str, str]]]],
    encoding: str,
    lineterminator: str,
    quoting: int,
) -> None:
    columns, header, rows = table
    text = _write(header, [["".join(r[c]) for c in columns] for r in rows], lineterminator, quoting)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    if encoding == "cp1252" and not text.isascii():
        # Windows-1252 bytes that also happen to be valid UTF-8 (such as 'Ã©') cannot be told apart from
        # UTF-8; the agreement's encodings are only distinguishable when they are not.
        try:
            data.decode("utf-8")
            assume(False)
        except UnicodeDecodeError:
            pass

    got = read_csv_table(data, REQUIRED, OPTIONAL)

    # plain ASCII is the same bytes in every one of the three; the reader calls it UTF-8
    assert got.encoding == ("utf-8" if encoding == "cp1252" and text.isascii() else encoding)
    assert got.ragged == []
    assert set(got.extra_columns) == {c for c in columns if c in EXTRA}
    expected_lines, line = [], 2
    for r in rows:
        expected_lines.append(line)
        line += 1 + sum(r[c][1].count("\n") for c in columns)  # a quoted line break is a physical line
    assert got.rows["regel"].to_list() == expected_lines
    wanted = [c for c in (*REQUIRED, *OPTIONAL) if c in columns]
    assert got.rows.columns == ["regel", *wanted]
    for c in wanted:
        assert got.rows[c].to_list() == [r[c][1] for r in rows], c


@FAST
@given(
    widths=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=8),
    lineterminator=st.sampled_from(["\n", "\r\n"]),
)
def test_records_with_a_wrong_number_of_fields_are_reported_with_their_line(
    widths: list[int], lineterminator: str
) -> None:
    # Header of 3 columns; a record of another width is reported (line, width), never read as a row.
    lines = [";".join(REQUIRED)] + [";".join(f"v{i}-{j}" for j in range(w)) for i, w in enumerate(widths)]
    got = read_csv_table((lineterminator.join(lines) + lineterminator).encode(), REQUIRED)
    assert got.ragged == [(i + 2, w) for i, w in enumerate(widths) if w != 3]
    assert got.rows["regel"].to_list() == [i + 2 for i, w in enumerate(widths) if w == 3]
    assert got.rows.height + len(got.ragged) == len(widths)


# ---------------------------------------------------------------------------------------------
# Timestamps: iso_instant agrees with datetime.fromisoformat
# ---------------------------------------------------------------------------------------------

# Around both clock changes of 2019-2021 and the year ends, where local days and years are easy to get wrong.
_EDGES = [
    dt.datetime(2019, 3, 31, 1),
    dt.datetime(2019, 10, 27, 1),
    dt.datetime(2019, 12, 31, 23),
    dt.datetime(2020, 3, 29, 1),
    dt.datetime(2020, 10, 25, 1),
    dt.datetime(2020, 12, 31, 23),
    dt.datetime(2021, 3, 28, 1),
]
_moment = st.one_of(
    st.builds(
        lambda edge, seconds: edge + dt.timedelta(seconds=seconds),
        st.sampled_from(_EDGES),
        st.integers(-4 * 3600, 4 * 3600),
    ),
    st.datetimes(min_value=dt.datetime(2015, 1, 1), max_value=dt.datetime(2030, 12, 31)),
)
_offset = st.one_of(
    st.sampled_from(["Z", "+00:00", "+01:00", "+02:00", "-00:00", "+0100", "+0200", "-05:00", "+05:30"]),
    st.builds(
        lambda sign, h, m, colon: f"{sign}{h:02d}{':' if colon else ''}{m:02d}",
        st.sampled_from("+-"),
        st.integers(0, 23),
        st.integers(0, 59),
        st.booleans(),
    ),
)
_fraction = st.sampled_from(["", ".0", ".5", ".123", ".123456", ".000001"])


def _iso_instants(texts: list[str]) -> list[dt.datetime | None]:
    return pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(iso_instant("t"))["t"].to_list()


@FAST
@given(moment=_moment, offset=_offset, fraction=_fraction, separator=st.sampled_from(["T", " "]))
def test_iso_instant_agrees_with_fromisoformat(moment: dt.datetime, offset: str, fraction: str, separator: str) -> None:
    text = f"{moment:%Y-%m-%d}{separator}{moment:%H:%M:%S}{fraction}{offset}"
    expected = dt.datetime.fromisoformat(text).astimezone(dt.UTC)
    (got,) = _iso_instants([text])
    assert got == expected, text


@FAST
@given(
    year=st.integers(2019, 2021),
    month=st.integers(1, 13),
    day=st.integers(1, 32),
    hour=st.integers(0, 25),
    minute=st.integers(0, 61),
    second=st.integers(0, 59),
    offset=st.sampled_from(["Z", "+01:00", "+02:00", "", "+24:00"]),  # (fromisoformat takes "+01:60")
)
def test_iso_instant_rejects_what_fromisoformat_rejects_or_has_no_offset(
    year: int, month: int, day: int, hour: int, minute: int, second: int, offset: str
) -> None:
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{offset}"
    try:
        parsed: dt.datetime | None = dt.datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    (got,) = _iso_instants([text])
    if parsed is None or parsed.tzinfo is None:  # an impossible moment, or one without offset (ambiguous)
        assert got is None, text
    else:
        assert got == parsed.astimezone(dt.UTC), text


@FAST
@given(moment=_moment, offset=st.sampled_from(["Z", "+01:00", "+02:00"]))
def test_local_day_is_the_amsterdam_calendar_day(moment: dt.datetime, offset: str) -> None:
    from zoneinfo import ZoneInfo

    from pipeline.core.periods import local_day

    text = f"{moment:%Y-%m-%dT%H:%M:%S}{offset}"
    frame = pl.DataFrame({"t": [text]}).select(local_day(iso_instant("t")).alias("d"))
    assert frame["d"][0] == dt.datetime.fromisoformat(text).astimezone(ZoneInfo("Europe/Amsterdam")).date()


# ---------------------------------------------------------------------------------------------
# Number spellings
# ---------------------------------------------------------------------------------------------

ALLOWED_NUMBERS = {
    "14030": "14030",
    "14 030": "14030",
    "0302860000": "0302860000",
    "030-2860000": "0302860000",
    "030 286 0000": "0302860000",
    "+31302860000": "0302860000",
}


def _parse_numbers(spellings: list[str]) -> list[str | None]:
    n = len(spellings)
    text = pl.DataFrame(
        {"bestand": ["f"] * n, "regel": list(range(2, n + 2))}
        | {c: [""] * n for c in CALL_COLUMNS}
        | {"nummer": spellings, "beller": [""] * n}
    )
    return parse_calls(text, KEY)["nummer"].to_list()


@FAST
@given(
    st.lists(
        st.one_of(
            st.sampled_from(sorted(ALLOWED_NUMBERS)),
            st.text(st.sampled_from("0123456789 -+()"), max_size=14),
            st.sampled_from(sorted(ALLOWED_NUMBERS)).map(lambda s: s.replace("0", "o", 1)),
            st.sampled_from(["14030 ", "14  030", "0031302860000", "+31 30 286 0000", "030-286 0000"]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_number_spellings_normalise_and_nothing_else_does(spellings: list[str]) -> None:
    # The reader trims; what reaches the parser is trimmed text. Anything not spelled as agreed is unknown.
    trimmed = [s.strip() for s in spellings]
    assert _parse_numbers(trimmed) == [ALLOWED_NUMBERS.get(s) for s in trimmed]


# ---------------------------------------------------------------------------------------------
# Reconciliation: rows in = valid + quarantined, per file
# ---------------------------------------------------------------------------------------------

_VALID_CALLS = [
    lambda i: call(f"c{i}", "2020-03-15T09:00:00+01:00"),
    lambda i: call(f"c{i}", "2020-10-25T02:30:00+01:00", nummer="030 286 0000", keuze="", afhandeling="verbroken"),
    lambda i: call(f"c{i}", "2020-03-15T09:00:00Z", keuze="zeist", afhandeling="doorgeschakeld"),
    lambda i: call(f"c{i}", "2020-03-15T09:00:00+01:00", keuze="", wachtrij=""),
]
_INVALID_CALLS = [
    lambda i: call(f"c{i}", "2020-03-15 09:00"),
    lambda i: call(f"c{i}", "2020-03-15T09:00:00+01:00", wachttijd="-1"),
    lambda i: call(f"c{i}", "2020-03-15T09:00:00+01:00", nummer="112"),
    lambda i: call(f"c{i}", "2020-03-15T09:00:00+01:00", keuze="Maarssen"),
    lambda i: call(f"c{i}", "2020-03-15T09:00:00+01:00", nummer="0302860000", keuze="Overig"),
    lambda i: call(f"c{i}", "2020-03-15T09:00:00+01:00", keuze="Zeist"),
    lambda i: call("", "2020-03-15T09:00:00+01:00"),
    lambda i: call(f"c{i}", "2020-03-15T09:00:00+01:00", afhandeling="x", wachttijd="y", nummer="z"),  # 3 reasons
    lambda i: f"c{i};2020-03-15T09:00:00+01:00;14030",
    # dates in time: after the export day, before 2000, and moments no Python date can hold
    lambda i: call(f"c{i}", "2020-11-20T09:00:00+01:00"),
    lambda i: call(f"c{i}", "1970-01-01T00:00:00Z"),
    lambda i: call(f"c{i}", "9999-12-31T23:30:00-01:00"),
    lambda i: call(f"c{i}", "0001-01-01T00:00:00+01:00"),
]
_VALID_APPOINTMENTS = [
    lambda i: appointment(f"a{i}", "15-03-2020"),
    lambda i: appointment(f"a{i}", "29-02-2020", status="NIET VERSCHENEN", kanaal="Video", locatie="Elders"),
]
_INVALID_APPOINTMENTS = [
    lambda i: appointment(f"a{i}", "30-02-2020"),
    lambda i: appointment(f"a{i}", "15-03-2020", tijd="9 uur"),
    lambda i: appointment(f"a{i}", "15-03-2020", status="verplaatst", kanaal="brief"),  # 2 reasons
    lambda i: appointment(f"a{i}", "15-03-2020", gewijzigd="2020-03-15T10:00:00"),
    lambda i: f"a{i};Stadskantoor;balie",
    lambda i: appointment(f"a{i}", "31-12-9999"),
    lambda i: appointment(f"a{i}", "01-01-1900"),
    lambda i: appointment(f"a{i}", "15-03-2020", gewijzigd="2031-01-01T10:00:00+01:00"),
]
_KINDS = {
    "telefonie": (CALL_COLUMNS, _VALID_CALLS, _INVALID_CALLS),
    "afspraken": (APPT_COLUMNS, _VALID_APPOINTMENTS, _INVALID_APPOINTMENTS),
}


@st.composite
def _batches(draw: st.DrawFn) -> tuple[str, float, dict[str, list[tuple[str, bool]]]]:
    source = draw(st.sampled_from(sorted(_KINDS)))
    _, valid, invalid = _KINDS[source]
    files: dict[str, list[tuple[str, bool]]] = {}
    i = 0
    for n in range(draw(st.integers(1, 3))):
        rows = []
        for ok, which in draw(st.lists(st.tuples(st.booleans(), st.integers(0, 99)), max_size=12)):
            make = valid[which % len(valid)] if ok else invalid[which % len(invalid)]
            rows.append((make(i), ok))
            i += 1
        files[f"{source}/{source}_2020111{n}.csv"] = rows  # exported after every valid row's day
    threshold = draw(st.sampled_from([0.05, 0.25, 1.0]))
    return source, threshold, files


@SLOW
@given(batch=_batches())
def test_every_row_is_valid_or_quarantined_per_file(
    batch: tuple[str, float, dict[str, list[tuple[str, bool]]]],
) -> None:
    source_name, threshold, files = batch
    source = SOURCES[source_name]
    columns = CALL_COLUMNS if source_name == "telefonie" else APPT_COLUMNS
    header = ";".join((*columns, *source.rows.personal))
    deliveries = [
        Delivery.of(pad, "".join(f"{line}\n" for line in (header, *(r for r, _ in rows))).encode("utf-8"))
        for pad, rows in files.items()
    ]
    read = read_deliveries(source, deliveries, KEY, threshold)

    by_file = {r["bestand"]: r for r in read.files.to_dicts()}
    assert set(by_file) == set(files)
    for pad, rows in files.items():
        invalid_lines = {line for line, (_, ok) in enumerate(rows, start=2) if not ok}
        valid_lines = {line for line, (_, ok) in enumerate(rows, start=2) if ok}
        f = by_file[pad]
        quarantined = set(read.quarantine.filter(pl.col("bestand") == pad)["regel"].to_list())
        counted = read.rows.filter(pl.col("bestand") == pad)["regel"].to_list()
        assert (f["rijen"], f["ongeldige_rijen"]) == (len(rows), len(invalid_lines))
        assert quarantined == invalid_lines
        rejected = len(rows) > 0 and len(invalid_lines) / len(rows) > threshold
        assert f["status"] == (AFGEWEZEN if rejected else VERWERKT)
        # rows in = valid + quarantined; a rejected file contributes nothing
        assert sorted(counted) == ([] if rejected else sorted(valid_lines))
        assert len(counted) + len(quarantined) == (len(invalid_lines) if rejected else len(rows))
