"""Dates in time (`pipeline.kit.dates`): the agreement's rule, declared by every source, applied by the reader.

Hypothesis writes dates and moments no source system should (year 0, year 10000, offsets that carry
a moment past 9999-12-31, impossible days) into every date column of every source: the reader never
raises, and each row is counted with a day inside the rule, or quarantined with its line.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.periods import Partitions
from pipeline.kit.contract import polars_schema
from pipeline.kit.dates import EARLIEST_DAY, NA_EXPORTDAG, TE_VER_VOORUIT, VOOR_2000, export_day_of
from pipeline.run.read import Delivery, read_deliveries
from pipeline.sources import SOURCES
from tests.sources.afspraken.lines import APPT_HEADER, appointment
from tests.sources.telefonie.lines import CALL_HEADER, call
from tests.sources.zaken.lines import CASE_HEADER, case

KEY = b"k" * 32
EXPORT_DAY = dt.date(2020, 7, 7)  # summer: local time is UTC+2
FAST = settings(max_examples=80, deadline=None)
# A read costs some 60 ms however many deliveries it holds: the readers' properties read theirs a batch
# at a time, 20 batches of 4 to 8 deliveries (80 to 160, where FAST read 80 one at a time), and judge
# each delivery on its own lines, name and counts; a failing batch shrinks to its failing delivery.
BATCHES = settings(max_examples=20, deadline=None)
T = TypeVar("T")


def _read(source: str, lines: list[str], name: str = f"{EXPORT_DAY:%Y%m%d}") -> tuple[pl.DataFrame, pl.DataFrame]:
    return _read_each(source, [lines], [name])[0]


def _read_each(
    source: str, deliveries: list[list[str]], names: list[str] | None = None
) -> list[tuple[pl.DataFrame, pl.DataFrame]]:
    """Deliveries of `source` read as one batch, and each one's counted rows and quarantine apart."""
    header = {"telefonie": CALL_HEADER, "afspraken": APPT_HEADER, "zaken": CASE_HEADER}[source]
    paths = [
        f"{source}/{n}/{source}_{name}.csv"
        for n, name in enumerate(names or [f"{EXPORT_DAY:%Y%m%d}"] * len(deliveries))
    ]
    read = read_deliveries(
        SOURCES[source],
        [
            Delivery.of(path, "".join(f"{line}\n" for line in (header, *lines)).encode())
            for path, lines in zip(paths, deliveries, strict=True)
        ],
        KEY,
        1.0,
    )
    return [(read.rows.filter(pl.col("bestand") == p), read.quarantine.filter(pl.col("bestand") == p)) for p in paths]


def _reasons(quarantine: pl.DataFrame) -> dict[int, tuple[str, str]]:
    return {r["regel"]: (r["kolom"], r["reden"]) for r in quarantine.to_dicts()}


# ---------------------------------------------------------------------------------------------
# The contract: every date and moment of every source is declared, once
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SOURCES))
def test_every_date_and_moment_of_a_source_is_declared_once(name: str) -> None:
    source = SOURCES[name]
    schema = polars_schema(source.rows.model)
    in_time = {c for c, kind in schema.items() if isinstance(kind, pl.Datetime) or kind == pl.Date}
    assert set(source.moments) | set(source.days_ahead) == in_time
    assert not set(source.moments) & set(source.days_ahead)
    # the quarantine names a column the delivery has
    assert set(source.moments.values()) | set(source.days_ahead.values()) <= set(source.rows.required)


def test_the_export_day_is_the_date_in_the_file_name() -> None:
    source = SOURCES["telefonie"]
    assert export_day_of(source, "telefonie/2020/telefonie_20200316_correctie.csv") == dt.date(2020, 3, 16)
    assert export_day_of(source, "telefonie/x_20190101/telefonie_20200316.csv") == dt.date(2020, 3, 16)
    assert export_day_of(source, "telefonie/telefonie_20200230.csv") is None


# ---------------------------------------------------------------------------------------------
# The rule, at its edges
# ---------------------------------------------------------------------------------------------


def test_a_moment_may_lie_up_to_the_end_of_the_export_day_in_local_time() -> None:
    rows, quarantine = _read(
        "telefonie",
        [
            call("a", "2020-07-07T23:59:59+02:00"),  # line 2: the last second of the export day
            call("b", "2020-07-07T21:59:59Z"),  # line 3: the same second in UTC
            call("c", "2020-07-08T00:00:00+02:00"),  # line 4: the next day
            call("d", "2020-07-07T22:00:00Z"),  # line 5: midnight local, in UTC
            call("e", "2020-07-07T23:30:00-01:00"),  # line 6: the export day in another zone, the 8th here
            call("f", "2000-01-01T00:00:00+01:00"),  # line 7: the first moment of 2000, local
            call("g", "1999-12-31T23:59:59+01:00"),  # line 8
            call("h", "1999-12-31T23:30:00Z"),  # line 9: 00:30 on 1 January 2000 local
        ],
    )
    assert sorted(rows["regel"].to_list()) == [2, 3, 7, 9]
    assert _reasons(quarantine) == {
        4: ("starttijd", NA_EXPORTDAG),
        5: ("starttijd", NA_EXPORTDAG),
        6: ("starttijd", NA_EXPORTDAG),
        8: ("starttijd", VOOR_2000),
    }


def test_an_appointment_may_lie_two_years_ahead_and_no_further() -> None:
    rows, quarantine = _read(
        "afspraken",
        [
            appointment("a", "07-07-2022", status="gepland", gewijzigd="2020-07-07T10:00:00+02:00"),  # line 2
            appointment("b", "08-07-2022", status="gepland", gewijzigd="2020-07-07T10:00:00+02:00"),  # line 3
            appointment("c", "31-12-1999", gewijzigd="2020-07-07T10:00:00+02:00"),  # line 4
            appointment("d", "06-07-2020", gewijzigd="2020-07-08T00:00:00+02:00"),  # line 5
            appointment("e", "01-01-1970", gewijzigd="1970-01-01T00:00:00Z"),  # line 6: both
        ],
    )
    assert rows["regel"].to_list() == [2]
    found = quarantine.select("regel", "kolom", "reden").rows()
    assert sorted(found) == [
        (3, "datum", TE_VER_VOORUIT),
        (4, "datum", VOOR_2000),
        (5, "gewijzigd", NA_EXPORTDAG),
        (6, "datum", VOOR_2000),
        (6, "gewijzigd", VOOR_2000),
    ]


def test_a_case_is_judged_on_both_its_moments() -> None:
    rows, quarantine = _read(
        "zaken",
        [
            case("a", "2020-07-07T10:00:00+02:00"),  # line 2
            case("b", "2020-07-09T10:00:00+02:00", gewijzigd="2020-07-07T10:00:00+02:00"),  # line 3
            case("c", "", gewijzigd="1900-01-01T00:00:00+01:00"),  # line 4
        ],
    )
    assert rows["regel"].to_list() == [2]
    assert _reasons(quarantine) == {3: ("afgerond_op", NA_EXPORTDAG), 4: ("gewijzigd", VOOR_2000)}


# ---------------------------------------------------------------------------------------------
# Properties: no date a parser cannot represent makes the reader raise
# ---------------------------------------------------------------------------------------------

_year = st.one_of(st.integers(0, 99999), st.sampled_from([0, 1, 1900, 1969, 1970, 1999, 2000, 2020, 2022, 9999]))
_month = st.one_of(st.integers(0, 13), st.just(7))
_day = st.one_of(st.integers(0, 32), st.sampled_from([1, 7, 8, 28, 29, 31]))
_offset = st.one_of(
    st.sampled_from(["Z", "+01:00", "+02:00", "-01:00", "+14:00", "-12:00", "+23:59", "-23:59", "+99:99", ""]),
    st.builds(lambda s, h, m: f"{s}{h:02d}:{m:02d}", st.sampled_from("+-"), st.integers(0, 30), st.integers(0, 70)),
)
_clock = st.builds(
    lambda h, m, s: f"{h:02d}:{m:02d}:{s:02d}", st.integers(0, 25), st.integers(0, 61), st.integers(0, 61)
)


def _year_text(year: int) -> str:
    return f"{year:04d}"


_moment = st.one_of(
    st.builds(lambda y, mo, d, c, o: f"{_year_text(y)}-{mo:02d}-{d:02d}T{c}{o}", _year, _month, _day, _clock, _offset),
    st.sampled_from(
        [
            "9999-12-30T10:00:00+01:00",
            "9999-12-31T23:30:00-01:00",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+01:00",
            "0000-01-01T00:00:00+14:00",
            "10000-01-01T00:00:00Z",
            "+10000-01-01T00:00:00Z",
            "-0001-01-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
        ]
    ),
)
_date = st.one_of(
    st.builds(lambda d, mo, y: f"{d:02d}-{mo:02d}-{_year_text(y)}", _day, _month, _year),
    st.sampled_from(["31-12-9999", "01-01-0001", "00-00-0000", "01-01-10000", "29-02-2100", "07-07-2022"]),
)


def _within(rows: pl.DataFrame, export_day: dt.date, ahead: bool = False) -> bool:
    """The counted rows' days obey the rule (a case's day is that of one of its moments)."""
    latest = export_day.replace(year=export_day.year + 2) if ahead else export_day
    return all(EARLIEST_DAY <= d <= latest for d in rows["datum"].to_list())


def _batches(delivery: st.SearchStrategy[T]) -> st.SearchStrategy[list[T]]:
    return st.lists(delivery, min_size=4, max_size=8)


@pytest.mark.slow
@BATCHES
@given(batch=_batches(st.lists(_moment, min_size=1, max_size=6)))
def test_no_moment_makes_the_call_reader_raise(batch: list[list[str]]) -> None:
    read = _read_each("telefonie", [[call(f"c{n}x{i}", m) for i, m in enumerate(ms)] for n, ms in enumerate(batch)])
    for moments, (rows, quarantine) in zip(batch, read, strict=True):
        assert rows.height + quarantine["regel"].n_unique() == len(moments), moments
        assert _within(rows, EXPORT_DAY), moments


@pytest.mark.slow
@BATCHES
@given(batch=_batches(st.tuples(st.lists(_date, min_size=1, max_size=6), st.lists(_moment, min_size=6, max_size=6))))
def test_no_date_makes_the_appointment_reader_raise(batch: list[tuple[list[str], list[str]]]) -> None:
    deliveries = [
        [appointment(f"a{n}x{i}", d, status="gepland", gewijzigd=changed[i]) for i, d in enumerate(days)]
        for n, (days, changed) in enumerate(batch)
    ]
    for (days, changed), (rows, quarantine) in zip(batch, _read_each("afspraken", deliveries), strict=True):
        assert rows.height + quarantine["regel"].n_unique() == len(days), (days, changed)
        assert _within(rows, EXPORT_DAY, ahead=True), (days, changed)
        local = rows["gewijzigd_op"].dt.convert_time_zone("Europe/Amsterdam").dt.date()
        assert all(d <= EXPORT_DAY for d in local), (days, changed)


@pytest.mark.slow
@BATCHES
@given(batch=_batches(st.tuples(st.lists(_moment, min_size=1, max_size=6), st.lists(_moment, min_size=6, max_size=6))))
def test_no_moment_makes_the_case_reader_raise(batch: list[tuple[list[str], list[str]]]) -> None:
    deliveries = [
        [case(f"z{n}x{i}", m, gewijzigd=changed[i]) for i, m in enumerate(completed)]
        for n, (completed, changed) in enumerate(batch)
    ]
    for (completed, changed), (rows, quarantine) in zip(batch, _read_each("zaken", deliveries), strict=True):
        assert rows.height + quarantine["regel"].n_unique() == len(completed), (completed, changed)
        assert _within(rows, EXPORT_DAY), (completed, changed)


@pytest.mark.slow
@BATCHES
@given(batch=_batches(st.tuples(st.from_regex(r"\A[0-9]{8}\Z"), _moment)))
def test_no_export_day_in_a_name_makes_the_reader_raise(batch: list[tuple[str, str]]) -> None:
    names = [name for name, _ in batch]
    read = _read_each("telefonie", [[call(f"c{n}", moment)] for n, (_, moment) in enumerate(batch)], names)
    for (name, moment), (rows, quarantine) in zip(batch, read, strict=True):
        assert rows.height + quarantine["regel"].n_unique() == 1, (name, moment)
        day = export_day_of(SOURCES["telefonie"], f"telefonie_{name}.csv")
        assert rows.is_empty() if day is None else _within(rows, day), (name, moment)


# ---------------------------------------------------------------------------------------------
# Days into periods: never an overflow
# ---------------------------------------------------------------------------------------------


@FAST
@given(days=st.lists(st.dates(), max_size=5), following=st.integers(0, 400))
def test_widening_days_never_overflows(days: list[dt.date], following: int) -> None:
    widened = Partitions.of(days).widened(following)
    assert set(days) <= widened.days
    assert all(d <= dt.date.max for d in widened.days)
    assert widened.years == {d.year for d in widened.days}


@FAST
@given(years=st.lists(st.integers(1, 9999), max_size=3))
def test_whole_years_holds_every_day_of_them(years: list[int]) -> None:
    parts = Partitions.whole_years(years)
    assert len(parts.days) == sum(366 if dt.date(y, 12, 31).timetuple().tm_yday == 366 else 365 for y in set(years))
    assert parts.years == set(years)
