"""Missing deliveries are open service days without records; weekends and holidays are not alarms."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline import run as jobs
from pipeline.status import check
from tests.sources.afspraken.lines import APPT_HEADER, appointment
from tests.sources.telefonie.lines import CALL_HEADER, call
from tests.support.cli import cli
from tests.support.deliveries import settings_for, write
from tests.support.published import rows


def _calls_on(raw: Path, days: list[dt.date]) -> None:
    for day in days:
        export = day + dt.timedelta(days=1)
        write(
            raw / f"telefonie/telefonie_{export:%Y%m%d}.csv",
            CALL_HEADER,
            [call(f"c{day:%Y%m%d}", f"{day.isoformat()}T10:00:00+02:00")],
        )


@pytest.mark.slow
def test_a_missing_weekday_is_a_gap_but_weekends_and_kings_day_are_not(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    # Thu 23 Apr .. Thu 30 Apr 2020: Sat 25 and Sun 26 are weekend, Mon 27 is King's Day,
    # Wed 29 April has no delivery.
    _calls_on(s.raw_dir, [dt.date(2020, 4, d) for d in (23, 24, 28, 30)])
    write(
        s.raw_dir / "afspraken/afspraken_20200424.csv",
        APPT_HEADER,
        [appointment("a1", "23-04-2020", gewijzigd="2020-04-23T17:00:00+01:00")],
    )
    write(
        s.raw_dir / "afspraken/afspraken_20200425.csv",
        APPT_HEADER,
        [appointment("a2", "24-04-2020", gewijzigd="2020-04-24T17:00:00+01:00")],
    )
    jobs.run(s, "backfill")

    gaps = rows(s.warehouse, "SELECT bron, datum FROM ontbrekende_leveringen")
    assert gaps == [{"bron": "telefonie", "datum": dt.date(2020, 4, 29)}]

    found = check(s, today=dt.date(2020, 5, 1))
    assert not found.healthy
    assert found.problems == ["missing deliveries telefonie: 1 open days without records: 2020-04-29"]
    assert any(line.startswith("telefonie: last day with records 2020-04-30 (1 days ago)") for line in found.lines)
    assert found.lines[0].startswith("last run: backfill") and " done, " in found.lines[0]

    _calls_on(s.raw_dir, [dt.date(2020, 4, 29)])
    jobs.run(s, "nightly")
    found = check(s, today=dt.date(2020, 5, 1))
    assert found.healthy, found.problems
    done = cli("status", "--warehouse", s.warehouse, "--today", "2020-05-01")
    assert done.returncode == 0, done.stderr
    assert "missing deliveries: none" in done.stdout
