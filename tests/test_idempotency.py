"""Idempotency and reconciliation: a run repeated changes nothing; days add up to months, months to years.

Compared is every published view's content (as a multiset of rows), leaving out the `runs` ledger
and columns that record when a run happened (`gezien_op` and the like).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from pipeline.sources import SOURCES
from tests.sources.afspraken.lines import APPT_HEADER, appointment
from tests.sources.telefonie.lines import CALL_HEADER, call
from tests.support.deliveries import Landing, delivery_bytes
from tests.support.published import Published, rows, view_contents

TZ = ZoneInfo("Europe/Amsterdam")
ADDITIVE = tuple(c for source in SOURCES.values() for c in source.additive)


def _rich_landing(land: Landing, batch: int | None = None) -> None:
    """Every kind of delivery: corrections, invalid rows, a rejected and an ignored file, two years.

    Delivered in two batches (`batch` 1 or 2; None for both): the second corrects, moves and adds
    records of days that the first already filled, next to days it leaves alone.
    """
    if batch in (None, 1):
        land.csv(
            "telefonie/2019/telefonie_20191231.csv",
            call("a", "2019-12-31T22:59:59Z", beller="0611111111"),
            call("b", "2019-12-31T23:30:00Z", beller="0611111111"),
            call("c", "2019-12-30T10:00:00+01:00", nummer="030-2860000", keuze="", afhandeling="verbroken"),
            call("d", "2019-12-30T10:00:00+01:00", keuze="Houten", afhandeling="doorgeschakeld"),
            call("e", "2019-12-30T10:00:00+01:00", nummer="999"),
            *(call(f"f{i}", f"2019-12-{10 + i % 19:02d}T10:00:00+01:00", keuze="overig") for i in range(30)),
        )
        land.csv(
            "afspraken/afspraken_20200101.csv",
            appointment("p", "31-12-2019", "verschenen", gewijzigd="2019-12-31T10:00:00+01:00"),
            appointment("q", "02-01-2020", "gepland", gewijzigd="2019-12-01T10:00:00+01:00"),
            appointment("r", "02-01-2020", "niet verschenen", kanaal="video", gewijzigd="2020-01-02T10:00:00+01:00"),
            appointment("s", "31-02-2020"),
            *(appointment(f"t{i}", f"{1 + i % 28:02d}-01-2020", locatie="Stadskantoor") for i in range(25)),
            encoding="cp1252",
        )
    if batch in (None, 2):
        land.csv(
            "telefonie/2020/telefonie_20200101_correctie.csv",
            call("a", "2019-12-31T22:59:59Z", afhandeling="verbroken", beller="0611111111"),
            call("c", "2020-01-06T10:00:00+01:00", nummer="0302860000", keuze=""),  # moved to 2020
            newline="\r\n",
            encoding="utf-8-sig",
        )
        land.csv(
            "telefonie/2020/telefonie_20201026.csv",
            call("g", "2020-10-25T02:30:00+02:00", beller="0622222222"),
            call("h", "2020-10-25T02:30:00+01:00", beller="0622222222"),
            call("i", "2020-03-29T03:30:00+02:00", wachttijd="75"),
        )
        land.csv("telefonie/telefonie_20200102.csv", call("x", "2020-01-01T10:00:00+01:00", nummer="1"))  # rejected
        land.write("telefonie/README.txt", b"not a delivery\n")
        land.csv(
            "afspraken/afspraken_20200103.csv",
            appointment("q", "02-01-2020", "verschenen", gewijzigd="2020-01-02T12:00:00+01:00"),
            appointment("r", "02-01-2020", "verschenen", gewijzigd="2019-12-02T10:00:00+01:00"),  # stale
            appointment("t3", "20-02-2020", "verschenen", gewijzigd="2020-01-03T12:00:00+01:00"),  # moved
        )


@pytest.mark.slow
def test_backfill_twice_gives_an_identical_warehouse(landing: Landing) -> None:
    _rich_landing(landing)
    first = view_contents(landing.run("backfill").path)
    second = view_contents(landing.run("backfill").path)
    assert first == second
    # ... and a nightly run with nothing new changes nothing either
    assert view_contents(landing.run("nightly").path) == first
    # the comparison is not vacuous: the figures and ledgers are there
    assert first["kerncijfers"] and first["quarantaine"] and first["leveringen"] and first["kerncijfers_dag"]
    assert {r for r in first["leveringen"] if "afgewezen" in r} and {r for r in first["leveringen"] if "genegeerd" in r}


@pytest.mark.slow
def test_two_nightly_runs_give_what_one_backfill_gives(landing: Landing) -> None:
    # Night 1 fills December and January; night 2 corrects and moves some of their records and
    # must bring every touched day, month and year up to date without disturbing the others.
    _rich_landing(landing, batch=1)
    landing.run("nightly")
    _rich_landing(landing, batch=2)
    nightly = view_contents(landing.run("nightly").path)
    backfill = view_contents(landing.run("backfill").path)
    assert nightly == backfill


# ---------------------------------------------------------------------------------------------
# Random small deliveries
# ---------------------------------------------------------------------------------------------

_EDGES = [
    dt.datetime(2019, 12, 31, 23, 0, tzinfo=dt.UTC),  # 00:00 local on 1 Jan 2020
    dt.datetime(2020, 3, 29, 1, 0, tzinfo=dt.UTC),  # spring forward
    dt.datetime(2020, 10, 25, 1, 0, tzinfo=dt.UTC),  # the repeated hour
    dt.datetime(2020, 12, 31, 23, 0, tzinfo=dt.UTC),
]
_CALL_KINDS = [
    ("14030", "Utrecht", "beantwoord"),
    ("14 030", "overig", "verbroken"),
    ("14030", "", "beantwoord"),
    ("14030", "Zeist", "doorgeschakeld"),
    ("030-2860000", "", "beantwoord"),
    ("+31302860000", "", "verbroken"),
    ("112", "", "beantwoord"),  # invalid: unknown number
]
_CALL_FILES = [
    "telefonie/telefonie_20200101.csv",
    "telefonie/telefonie_20200101_correctie.csv",
    "telefonie/a/telefonie_20200102.csv",
    "telefonie/b/telefonie_20200102.csv",
]
_APPT_FILES = [
    "afspraken/afspraken_20200101.csv",
    "afspraken/x/afspraken_20200102.csv",
    "afspraken/afspraken_20200103.csv",
]


def _instant_text(moment: dt.datetime, local: bool) -> str:
    return moment.astimezone(TZ).isoformat() if local else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _calls(edge: dt.datetime) -> st.SearchStrategy[str]:
    """Calls within three weeks of `edge`: several days and two months or years, ids shared between files."""
    return st.builds(
        lambda gid, seconds, local, kind, wait, caller: call(
            f"c{gid}",
            _instant_text(edge + dt.timedelta(seconds=seconds), local),
            nummer=kind[0],
            keuze=kind[1],
            afhandeling=kind[2],
            wachttijd=str(wait),
            beller=caller,
        ),
        st.integers(0, 15),
        st.integers(-21 * 86400, 21 * 86400),
        st.booleans(),
        st.sampled_from(_CALL_KINDS),
        st.integers(0, 200),
        st.sampled_from(["", "0611111111", "06-11111111", "0622222222"]),
    )


def _appointments(edge: dt.datetime) -> st.SearchStrategy[str]:
    """Appointment versions of days within three weeks of `edge`, changed in the weeks before it."""
    return st.builds(
        lambda aid, day, status, kanaal, locatie, changed: appointment(
            f"a{aid}",
            f"{edge.date() + dt.timedelta(days=day):%d-%m-%Y}",
            status=status,
            kanaal=kanaal,
            locatie=locatie,
            gewijzigd=_instant_text(edge - dt.timedelta(hours=changed), changed % 2 == 0),
        ),
        st.integers(0, 6),
        st.integers(-21, 21),
        st.sampled_from(["gepland", "verschenen", "Verschenen", "niet verschenen", "geannuleerd"]),
        st.sampled_from(["balie", "video", "telefoon"]),
        st.sampled_from(["Stadskantoor", "Wijkservicecentrum Vleuten-De Meern", "Elders"]),
        st.integers(0, 24 * 30),
    )


@st.composite
def _deliveries(draw: st.DrawFn, nightly: bool = False) -> list[tuple[str, bytes]]:
    """A few call and appointment files around one edge whose ids overlap, so corrections and versions compete."""
    edge = draw(st.sampled_from(_EDGES))
    files = []
    for name in draw(st.lists(st.sampled_from(_CALL_FILES), min_size=2 if nightly else 1, max_size=3, unique=True)):
        files.append((name, delivery_bytes(CALL_HEADER, draw(st.lists(_calls(edge), min_size=1, max_size=8)))))
    for name in draw(st.lists(st.sampled_from(_APPT_FILES), max_size=2, unique=True)):
        rows = draw(st.lists(_appointments(edge), min_size=1, max_size=6))
        files.append((name, delivery_bytes(APPT_HEADER, rows)))
    return draw(st.permutations(files))


def _deliver(land: Landing, rel: str, data: bytes, day: int) -> None:
    path = land.write(rel, data)
    stamp = 1_600_000_000 + day * 86400  # deliveries arrive on different days
    os.utime(path, (stamp, stamp))


def _as_frames(out: Published) -> dict[str, pl.DataFrame]:
    return {v: out.frame(v) for v in ("kerncijfers", "kerncijfers_maand", "kerncijfers_dag")}


def check_days_add_up(out: Published) -> None:
    """Every additive count: days sum to their month, months to their year.

    The day view lists every day of a month with data (0 on days without records); the month and
    year views list only periods with data and leave a source's count NULL where it has none. Both
    mean "nothing": a NULL count and an absent period compare as 0.
    """
    frames = _as_frames(out)
    present = [c for c in ADDITIVE if c in frames["kerncijfers"].columns]
    assert len(present) == len(ADDITIVE) > 0  # every count of every source is published; the checks sum each
    zero = [pl.col(c).fill_null(0) for c in present]

    def totals(frame: pl.DataFrame, keys: list[str]) -> dict[tuple[int, ...], tuple[int, ...]]:
        summed = frame.select(*keys, *zero).group_by(keys).agg(pl.sum(c) for c in present)
        return {
            tuple(r[k] for k in keys): tuple(r[c] for c in present)
            for r in summed.iter_rows(named=True)
            if any(r[c] for c in present)
        }

    assert totals(frames["kerncijfers_dag"], ["jaar", "maand"]) == totals(
        frames["kerncijfers_maand"], ["jaar", "maand"]
    )
    assert totals(frames["kerncijfers_maand"], ["jaar"]) == totals(frames["kerncijfers"], ["jaar"])
    assert totals(frames["kerncijfers_dag"], ["jaar"]) == totals(frames["kerncijfers"], ["jaar"])


def check_breakdowns_add_up(out: Published) -> None:
    """The breakdown views count the same calls and appointments as the day figures."""
    days = out.frame("kerncijfers_dag").select(
        "datum", "telefoontjes_platform", "telefoontjes_gemeente", "afspraken_totaal"
    )
    calls = (
        out.frame("telefonie_uitsplitsing")
        .group_by("datum")
        .agg(
            pl.sum("aantal").alias("platform"), pl.col("aantal").filter(pl.col("voor_utrecht")).sum().alias("gemeente")
        )
    )
    appts = out.frame("afspraken_uitsplitsing").group_by("datum").agg(pl.sum("aantal").alias("totaal"))
    joined = days.join(calls, on="datum", how="left").join(appts, on="datum", how="left").fill_null(0)
    assert (joined["telefoontjes_platform"] == joined["platform"]).all()
    assert (joined["telefoontjes_gemeente"] == joined["gemeente"]).all()
    assert (joined["afspraken_totaal"] == joined["totaal"]).all()


def check_percentages(out: Published) -> None:
    """bereikbaarheid_pct is 100 x answered / calls rounded half up at every grain; NULL without calls."""
    for frame in _as_frames(out).values():
        for row in frame.iter_rows(named=True):
            calls, answered = row["telefoontjes_gemeente"], row["telefoontjes_beantwoord"]
            expected = (200 * answered + calls) // (2 * calls) if calls else None
            assert row["bereikbaarheid_pct"] == expected, row


# Each example runs the whole pipeline: few examples, and no shrinking (a failing example is small
# already, and shrinking one costs minutes of pipeline runs).
PIPELINE_EXAMPLES = settings(deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])


@pytest.mark.slow
@settings(PIPELINE_EXAMPLES, max_examples=4)
@given(files=_deliveries())
def test_days_sum_to_months_and_months_to_years(files: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        land = Landing(Path(tmp))
        for day, (rel, data) in enumerate(files):
            _deliver(land, rel, data, day)
        out = land.run("backfill")
        check_days_add_up(out)
        check_breakdowns_add_up(out)
        check_percentages(out)


@pytest.mark.slow
@settings(PIPELINE_EXAMPLES, max_examples=3)
@given(files=_deliveries(nightly=True), split=st.integers(1, 4), rewrite=st.booleans())
def test_nightly_runs_in_any_order_equal_one_backfill(
    files: list[tuple[str, bytes]], split: int, rewrite: bool
) -> None:
    # The files arrive over two nights, in a random order; which row wins depends on file names and
    # gewijzigd only, so the result must be what one backfill of the final landing folder gives.
    # With `rewrite`, the second night also re-delivers a file of the first night under the same
    # name with the content of another file of its source (the earlier delivery is replaced).
    split = min(split, len(files) - 1)
    nights = [list(files[:split]), list(files[split:])]
    if rewrite:
        first = files[0][0]
        same_source = [data for rel, data in files[1:] if rel.split("/")[0] == first.split("/")[0]]
        if same_source:
            nights[1].append((first, same_source[-1]))
    with tempfile.TemporaryDirectory() as tmp:
        night = Landing(Path(tmp) / "nightly")
        final: dict[str, bytes] = {}
        for day, delivered in enumerate(nights):
            for rel, data in delivered:
                _deliver(night, rel, data, day)
                final[rel] = data
            night.run("nightly")
        got = view_contents(night.warehouse)
        # A backfill of the same warehouse reads what counts from its archive: it changes nothing.
        rebuilt = view_contents(night.run("backfill").path)
        assert {k: v for k, v in got.items() if k != "leveringen"} == {
            k: v for k, v in rebuilt.items() if k != "leveringen"
        }
        # A rejected re-delivery leaves the content accepted before counting; a warehouse that never saw
        # that content (a fresh one, from the final landing folder alone) cannot count it.
        kept = rows(
            night.warehouse,
            "SELECT bestand FROM leveringen GROUP BY bestand "
            "HAVING count(*) FILTER (status = 'verwerkt') > 0 AND count(*) FILTER (status = 'afgewezen') > 0",
        )
        if kept:
            return
        fresh = Landing(Path(tmp) / "backfill")
        for rel, data in final.items():
            _deliver(fresh, rel, data, 0)
        expected = view_contents(fresh.run("backfill").path)
        leveringen: Any = got.pop("leveringen"), expected.pop("leveringen")
        assert got == expected
        # the nightly ledger also keeps the replaced delivery; what is current is the same
        current = [{r for r in rows if "vervangen" not in r} for rows in leveringen]
        assert current[0] == current[1]
