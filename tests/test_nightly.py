"""Nightly runs: only what is new, same answer whatever the path, state and data together."""

from __future__ import annotations

import fcntl
import itertools
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import run as jobs
from pipeline.core.locking import WriterBusy
from pipeline.run import stage
from tests.sources.afspraken.lines import APPT_HEADER, appointment
from tests.sources.telefonie.lines import CALL_HEADER, call
from tests.support.cli import cli
from tests.support.deliveries import settings_for, write
from tests.support.published import figures, rows


def _history(raw: Path) -> None:
    """Two years of tiny history: 2017 and 2020."""
    write(
        raw / "telefonie/2017/telefonie_20170315.csv",
        CALL_HEADER,
        [call("a1", "2017-03-14T10:00:00+01:00"), call("a2", "2017-03-14T11:00:00+01:00", afhandeling="verbroken")],
    )
    write(raw / "telefonie/2020/telefonie_20200604.csv", CALL_HEADER, [call("b1", "2020-06-03T10:00:00+02:00")])
    write(
        raw / "afspraken/afspraken_20170315.csv",
        APPT_HEADER,
        [
            appointment("x1", "14-03-2017", gewijzigd="2017-03-14T17:00:00+01:00"),
            appointment("x2", "14-03-2017", gewijzigd="2017-03-14T17:00:00+01:00"),
        ],
    )
    write(
        raw / "afspraken/afspraken_20200604.csv",
        APPT_HEADER,
        [appointment("y1", "03-06-2020", gewijzigd="2020-06-03T17:00:00+01:00")],
    )


@pytest.mark.slow
def test_nothing_new_changes_nothing(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    _history(s.raw_dir)
    jobs.run(s, "backfill")
    before = figures(s.warehouse)
    summary = jobs.run(s, "nightly")
    assert (summary.processed, summary.partitions, summary.rows_read) == (0, 0, 0)
    assert figures(s.warehouse) == before


@pytest.mark.slow
def test_a_late_2017_correction_reopens_2017_only(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    _history(s.raw_dir)
    jobs.run(s, "backfill")
    write(
        s.raw_dir / "telefonie/2017/telefonie_20170315_correctie.csv",
        CALL_HEADER,
        [call("a2", "2017-03-14T11:00:00+01:00", afhandeling="beantwoord")],
    )
    summary = jobs.run(s, "nightly")
    assert summary.processed == 1
    assert summary.years_recomputed == [2017]
    # The correction's day (and the 7 days after it, for repeat callers), its month, its year.
    assert summary.partitions == 8 + 1 + 1
    by_year = {r["jaar"]: r for r in rows(s.warehouse, "SELECT * FROM kerncijfers")}
    assert by_year[2017]["bereikbaarheid_pct"] == 100
    assert by_year[2020]["telefoontjes_gemeente"] == 1


@pytest.mark.slow
def test_a_redelivered_file_replaces_the_earlier_content(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    _history(s.raw_dir)
    jobs.run(s, "nightly")
    write(s.raw_dir / "telefonie/2020/telefonie_20200604.csv", CALL_HEADER, [call("b9", "2020-06-03T12:00:00+02:00")])
    jobs.run(s, "nightly")
    nightly = figures(s.warehouse)
    statuses = {(r["bestand"], r["status"]) for r in rows(s.warehouse, "SELECT bestand, status FROM leveringen")}
    assert ("telefonie/2020/telefonie_20200604.csv", "vervangen") in statuses
    assert ("telefonie/2020/telefonie_20200604.csv", "verwerkt") in statuses

    # And back to the first content: that is the path's delivery again.
    write(s.raw_dir / "telefonie/2020/telefonie_20200604.csv", CALL_HEADER, [call("b1", "2020-06-03T10:00:00+02:00")])
    assert jobs.run(s, "nightly").processed == 1
    ids = rows(s.warehouse, "SELECT sum(telefoontjes_gemeente) AS n FROM kerncijfers_dag WHERE datum = '2020-06-03'")
    assert ids == [{"n": 1}]
    current = rows(
        s.warehouse,
        "SELECT status FROM leveringen WHERE bestand = ? ORDER BY status",
        ["telefonie/2020/telefonie_20200604.csv"],
    )
    assert current == [{"status": "vervangen"}, {"status": "verwerkt"}]
    write(s.raw_dir / "telefonie/2020/telefonie_20200604.csv", CALL_HEADER, [call("b9", "2020-06-03T12:00:00+02:00")])
    jobs.run(s, "nightly")
    nightly = figures(s.warehouse)

    fresh = settings_for(tmp_path / "again")
    shutil.copytree(s.raw_dir, fresh.raw_dir)
    jobs.run(fresh, "backfill")
    assert figures(fresh.warehouse) == nightly


# Deliveries for the random-split property: originals, a correction that sorts after its
# original, a later overlapping export, a stale appointment re-export, an invalid row and a
# rejected file. Their order of arrival must not matter.
DELIVERIES: dict[str, tuple[str, list[str]]] = {
    "telefonie/telefonie_20200101.csv": (  # exported on 1 January: c2's 00:30 local had come
        CALL_HEADER,
        [call("c1", "2019-12-30T10:00:00+01:00"), call("c2", "2019-12-31T23:30:00Z", afhandeling="verbroken")],
    ),
    "telefonie/telefonie_20200102.csv": (
        CALL_HEADER,
        [
            call("c3", "2020-01-02T09:00:00+01:00", beller="0611111111"),
            call("c4", "2020-01-02T10:00:00+01:00", keuze="Zeist", afhandeling="doorgeschakeld"),
            call("c5", "2020-01-02T11:00:00+01:00", nummer="030 286 0000", keuze=""),
            call("c6", "2020-01-02T11:30:00+01:00", wachttijd="-3"),
        ]
        + [call(f"f{i}", "2020-01-02T12:00:00+01:00", beller="0611111111") for i in range(20)],
    ),
    "telefonie/telefonie_20200103_correctie.csv": (
        CALL_HEADER,
        [call("c3", "2020-01-03T09:00:00+01:00", afhandeling="verbroken", beller="0611111111")],
    ),
    "telefonie/telefonie_20200106.csv": (
        CALL_HEADER,
        [call("c2", "2020-01-01T00:30:00+01:00", afhandeling="beantwoord"), call("c7", "2020-01-06T09:00:00+01:00")],
    ),
    "telefonie/telefonie_20200104.csv": (CALL_HEADER, [call("r1", "bad"), call("r2", "2020-01-04T09:00:00+01:00")]),
    "afspraken/afspraken_20200102.csv": (
        APPT_HEADER,
        [
            appointment("a1", "02-01-2020", "gepland", "2019-12-01T10:00:00+01:00"),
            appointment("a2", "02-01-2020", "verschenen", "2020-01-02T10:00:00+01:00"),
        ],
    ),
    "afspraken/afspraken_20200103.csv": (
        APPT_HEADER,
        [
            appointment("a1", "02-01-2020", "verschenen", "2020-01-02T11:00:00+01:00"),
            appointment("a3", "03-01-2020", "niet verschenen", "2020-01-03T11:00:00+01:00"),
        ],
    ),
    "afspraken/afspraken_20200110.csv": (
        APPT_HEADER,
        [appointment("a1", "09-01-2020", "gepland", "2019-12-01T10:00:00+01:00")],  # stale re-export
    ),
}


@pytest.fixture(scope="module")
def one_backfill(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, object]]]:
    s = settings_for(tmp_path_factory.mktemp("backfill"))
    for name, (header, lines) in DELIVERIES.items():
        write(s.raw_dir / name, header, lines)
    jobs.run(s, "backfill")
    return figures(s.warehouse)


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(sorted(DELIVERIES)), cuts=st.sets(st.integers(1, len(DELIVERIES) - 1), max_size=3))
def test_any_split_into_nightly_batches_gives_the_backfill(
    tmp_path_factory: pytest.TempPathFactory,
    one_backfill: dict[str, list[dict[str, object]]],
    order: list[str],
    cuts: set[int],
) -> None:
    s = settings_for(tmp_path_factory.mktemp("split"))
    bounds = [0, *sorted(cuts), len(order)]
    for start, end in itertools.pairwise(bounds):
        for name in order[start:end]:
            header, lines = DELIVERIES[name]
            write(s.raw_dir / name, header, lines)
        jobs.run(s, "nightly")
    assert figures(s.warehouse) == one_backfill


def test_the_golden_figures_of_the_split_deliveries(one_backfill: dict[str, list[dict[str, object]]]) -> None:
    # By hand: 2019: c1 only (c2 moved to 1 Jan 2020 local). 2020: c2, c3 (corrected: 3 Jan,
    # verbroken), c5 (030), c7 and f0-f19 are Utrecht's; c4 forwarded; c6 invalid; the file with
    # r1 (1 of 2 invalid) is rejected. 14030: c2, c3, c7, f0-f19 = 23 of 24. Answered: c2 (the later
    # file's version), c5, c7, f* = 23; c3's correction made it verbroken.
    by_year = {r["jaar"]: r for r in one_backfill["kerncijfers"]}
    assert by_year[2019]["telefoontjes_gemeente"] == 1
    assert by_year[2020]["telefoontjes_gemeente"] == 24
    assert by_year[2020]["telefoontjes_14030"] == 23
    assert by_year[2020]["bereikbaarheid_pct"] == 96  # 23 / 24 = 95.8
    assert by_year[2020]["baliebezoeken_met_afspraak"] == 2
    assert by_year[2020]["balie_niet_verschenen"] == 1
    assert by_year[2020]["telefoontjes_doorgeschakeld"] == 1


@pytest.mark.slow
def test_a_failed_commit_leaves_state_and_data_as_they_were(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings_for(tmp_path)
    _history(s.raw_dir)
    jobs.run(s, "backfill")
    before = figures(s.warehouse)
    write(s.raw_dir / "telefonie/2020/telefonie_20200605.csv", CALL_HEADER, [call("b2", "2020-06-04T10:00:00+02:00")])

    def broken(*args: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(stage, "refresh_figures", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        jobs.run(s, "nightly")
    monkeypatch.undo()
    assert figures(s.warehouse) == before
    # The delivery was not recorded either, so the next run takes it in.
    summary = jobs.run(s, "nightly")
    assert summary.processed == 1
    ledger = rows(s.warehouse, "SELECT status, melding FROM runs ORDER BY gestart_op")
    assert [r["status"] for r in ledger] == ["voltooid", "mislukt", "voltooid"]
    assert "disk full" in ledger[1]["melding"]


@pytest.mark.slow
def test_a_second_writer_waits_then_stops_with_a_clear_message(tmp_path: Path) -> None:
    s = settings_for(tmp_path, lock_timeout_s=0.5)
    _history(s.raw_dir)
    s.lock_file.parent.mkdir(parents=True, exist_ok=True)
    holder = os.open(s.lock_file, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(WriterBusy, match=r"gave up after 0\.5 s"):
            jobs.run(s, "nightly")
        done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_LOCK_TIMEOUT_S="0.3")
        assert done.returncode == 1
        assert "another run holds" in done.stderr
    finally:
        os.close(holder)
    assert not s.warehouse.exists()
    jobs.run(s, "nightly")
    assert rows(s.warehouse, "SELECT count(*) AS n FROM kerncijfers")[0]["n"] == 2
