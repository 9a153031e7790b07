"""A backfill of some years takes in what changed in other years too, and a nightly after it equals a
whole backfill (docs/operations.md, "partial backfills")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sources.afspraken.lines import APPT_HEADER, appointment
from tests.sources.telefonie.lines import CALL_HEADER, call
from tests.support.cli import cli
from tests.support.deliveries import settings_for, write
from tests.support.published import rows, view_contents

REPEAT_CALLER = "0655544433"


def write_two_years(raw: Path) -> None:
    """Calls and visits in 2019 and 2020; one caller calls on 30 December and again on 2 January."""
    write(
        raw / "telefonie/2019/telefonie_20190604.csv",
        CALL_HEADER,
        [call("a1", "2019-06-03T10:00:00+02:00"), call("a2", "2019-06-03T11:00:00+02:00", afhandeling="verbroken")],
    )
    write(
        raw / "telefonie/2019/telefonie_20191231.csv",
        CALL_HEADER,
        [call("a3", "2019-12-30T10:00:00+01:00", beller=REPEAT_CALLER)],
    )
    write(
        raw / "telefonie/2020/telefonie_20200103.csv",
        CALL_HEADER,
        [
            call("b1", "2020-01-02T10:00:00+01:00", beller=REPEAT_CALLER),
            call("b2", "2020-01-02T11:00:00+01:00", afhandeling="verbroken"),
        ],
    )
    write(
        raw / "afspraken/afspraken_20190604.csv",
        APPT_HEADER,
        [appointment("x1", "03-06-2019", gewijzigd="2019-06-03T17:00:00+02:00")],
    )
    write(
        raw / "afspraken/afspraken_20200103.csv",
        APPT_HEADER,
        [appointment("y1", "02-01-2020", gewijzigd="2020-01-02T17:00:00+01:00")],
    )


def change_2020(raw: Path) -> None:
    """The 2020 call file delivered again: b2 was answered after all, and a call b3 was missing."""
    write(
        raw / "telefonie/2020/telefonie_20200103.csv",
        CALL_HEADER,
        [
            call("b1", "2020-01-02T10:00:00+01:00", beller=REPEAT_CALLER),
            call("b2", "2020-01-02T11:00:00+01:00", afhandeling="beantwoord"),
            call("b3", "2020-01-02T12:00:00+01:00", afhandeling="verbroken"),
        ],
    )


@pytest.mark.slow
def test_a_backfill_of_2019_takes_in_a_changed_2020_file_and_a_nightly_then_equals_a_backfill(
    tmp_path: Path,
) -> None:
    import shutil

    s = settings_for(tmp_path)
    write_two_years(s.raw_dir)
    assert cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse).returncode == 0
    before = {r["jaar"]: r for r in rows(s.warehouse, "SELECT * FROM kerncijfers")}
    assert (before[2020]["telefoontjes_gemeente"], before[2020]["bereikbaarheid_pct"]) == (2, 50)

    change_2020(s.raw_dir)
    done = cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse, "--from", 2019, "--to", 2019)
    assert done.returncode == 0, done.stderr
    after = {r["jaar"]: r for r in rows(s.warehouse, "SELECT * FROM kerncijfers")}
    assert (after[2020]["telefoontjes_gemeente"], after[2020]["bereikbaarheid_pct"]) == (3, 67)
    assert after[2020]["herhaalbellers_7d"] == 1  # the caller of 30 December, again on 2 January
    assert after[2019] == before[2019]

    done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert done.returncode == 0, done.stderr
    nightly = view_contents(s.warehouse)

    # A whole backfill of the same warehouse (its ledger, its archive) gives every view alike ...
    copy = tmp_path / "copy"
    shutil.copytree(s.warehouse.parent, copy / "wh")
    whole = copy / "wh" / s.warehouse.name
    assert cli("backfill", "--raw", s.raw_dir, "--warehouse", whole).returncode == 0
    assert view_contents(whole) == nightly
    # ... and so does one into a new warehouse, except the ledger: that never saw the first 2020 content.
    fresh = tmp_path / "fresh" / "w.duckdb"
    assert cli("backfill", "--raw", s.raw_dir, "--warehouse", fresh).returncode == 0
    assert view_contents(fresh, skip=("runs", "meldingen", "leveringen")) == view_contents(
        s.warehouse, skip=("runs", "meldingen", "leveringen")
    )
