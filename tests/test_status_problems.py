"""`pipeline status` names every problem an operator must see after a night, one line each, and exits 3
(docs/operations.md, "status"): failed runs (a corrupt state database, a key mismatch, a full disk in
the commit or when publishing), stale sources by their own calendars, an empty warehouse, and the
entries the last run rejected or skipped. A healthy warehouse exits 0."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from pipeline.core.settings import Settings
from pipeline.run import PipelineError, run
from tests.sources.afspraken.lines import appointments_on
from tests.sources.telefonie.lines import CALL_HEADER, call, calls_on
from tests.support.cli import cli, problems
from tests.support.deliveries import OTHER_KEY, open_weekdays, settings_for
from tests.support.faults import NO_SPACE, cli_with_full_disk

Scenario = Callable[[Settings], tuple[str, list[str]]]  # -> (--today, patterns of the problem lines)


def _failed_nightly_on_a_corrupt_state_database(s: Settings) -> tuple[str, list[str]]:
    calls_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 1), dt.date(2020, 6, 5)))
    run(s, "backfill")
    s.state_db.write_bytes(b"this is not a DuckDB database\n" * 100)
    with pytest.raises(duckdb.Error):
        run(s, "nightly")
    return "2020-06-06", [rf"the state database .*{re.escape(s.state_db.name)} cannot be opened: .+"]


def _failed_nightly_on_a_key_mismatch(s: Settings) -> tuple[str, list[str]]:
    calls_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 1), dt.date(2020, 6, 5)))
    run(s, "backfill")
    with pytest.raises(PipelineError, match="personal-data key differs"):
        run(Settings(raw_dir=s.raw_dir, warehouse=s.warehouse, pii_key=OTHER_KEY, workers=1), "nightly")
    return "2020-06-06", [r"last run \S+ \(nightly\) failed: StateError: the personal-data key differs .+"]


def _failed_nightly_on_a_full_disk_in_the_commit(s: Settings) -> tuple[str, list[str]]:
    calls_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 1), dt.date(2020, 6, 4)))
    run(s, "backfill")
    calls_on(s.raw_dir, [dt.date(2020, 6, 5)])
    done = cli_with_full_disk(
        "pipeline.run.stage.apply_source", "nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse
    )
    assert done.returncode == 1 and NO_SPACE in done.stderr, done.stderr
    return "2020-06-06", [rf"last run \S+ \(nightly\) failed: OSError: \[Errno 28\] {NO_SPACE}"]


def _failed_nightly_on_a_full_disk_when_publishing(s: Settings) -> tuple[str, list[str]]:
    calls_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 1), dt.date(2020, 6, 4)))
    run(s, "backfill")
    calls_on(s.raw_dir, [dt.date(2020, 6, 5)])
    done = cli_with_full_disk("pipeline.run.job.publish", "nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert done.returncode == 1 and NO_SPACE in done.stderr, done.stderr
    return "2020-06-06", [
        rf"last run \S+ \(nightly\) .*publishing failed: the disk is full: OSError: \[Errno 28\] {NO_SPACE}"
    ]


def _bad_file_names_do_not_fail_the_nightly(s: Settings) -> tuple[str, list[str]]:
    calls_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 1), dt.date(2020, 6, 4)))
    run(s, "backfill")
    calls_on(s.raw_dir, [dt.date(2020, 6, 5)])
    folder = os.fsencode(s.raw_dir / "telefonie")
    for name in (b"telefonie_2020\xff0101.csv", b"telefonie_20200101\n.csv"):
        with open(folder + b"/" + name, "wb") as handle:
            handle.write(CALL_HEADER.encode() + b"\n")
    done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert done.returncode == 0, done.stderr
    assert r"ignored telefonie/telefonie_2020\xff0101.csv: name does not match <source>_" in done.stderr
    # Nothing is wrong: the run took in 5 June, and the two names are listed (escaped) as ignored.
    return "2020-06-08", []


def _stale_for_2157_days(s: Settings) -> tuple[str, list[str]]:
    calls_on(s.raw_dir, open_weekdays(dt.date(2020, 12, 28), dt.date(2020, 12, 31)))
    appointments_on(s.raw_dir, open_weekdays(dt.date(2020, 12, 28), dt.date(2020, 12, 31)))
    run(s, "backfill")
    assert dt.date(2020, 12, 31) + dt.timedelta(days=2157) == dt.date(2026, 11, 27)
    return "2026-11-27", [
        r"afspraken is stale: no records for 15\d\d open days since 2020-12-31 \(allowed: 3\)",
        r"telefonie is stale: no records for 15\d\d open days since 2020-12-31 \(allowed: 3\)",
    ]


def _one_source_silent_for_half_a_year(s: Settings) -> tuple[str, list[str]]:
    calls_on(s.raw_dir, open_weekdays(dt.date(2020, 12, 14), dt.date(2020, 12, 18)))
    appointments_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 15), dt.date(2020, 6, 19)))
    run(s, "backfill")
    return "2020-12-19", [r"afspraken is stale: no records for 1\d\d open days since 2020-06-19 \(allowed: 3\)"]


def _an_empty_warehouse(s: Settings) -> tuple[str, list[str]]:
    s.raw_dir.mkdir(parents=True)
    run(s, "backfill")
    return "2020-12-19", [r"the warehouse holds no records of any source"]


def _rejected_and_skipped_entries_of_the_last_run(s: Settings) -> tuple[str, list[str]]:
    calls_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 1), dt.date(2020, 6, 5)))
    run(s, "backfill")
    (s.raw_dir / "telefonie/telefonie_20200606_utf16.csv").write_bytes(
        (CALL_HEADER + "\n" + call("u1", "2020-06-05T11:00:00+02:00") + "\n").encode("utf-16")
    )
    os.mkfifo(s.raw_dir / "telefonie/telefonie_20200607.csv")
    run(s, "nightly")
    return "2020-06-08", [
        r"rejected: telefonie/telefonie_20200606_utf16\.csv: UTF-16 little-endian text .+",
        r"skipped: telefonie/telefonie_20200607\.csv: named pipe \(FIFO\); only regular files are read",
    ]


def _stale_after_open_days_of_the_source_calendar(s: Settings) -> tuple[str, list[str]]:
    # Last records Friday 29 May 2020; judged on Thursday 4 June: Saturday, Sunday and Whit Monday
    # (1 June, a closed public holiday) do not count, 2 and 3 June do: 2 open days without records.
    calls_on(s.raw_dir, open_weekdays(dt.date(2020, 5, 25), dt.date(2020, 5, 29)))
    run(s, "backfill")
    return "2020-06-04", [r"telefonie is stale: no records for 2 open days since 2020-05-29 \(allowed: 1\)"]


SCENARIOS: dict[str, Scenario] = {
    "failed nightly: corrupt state database": _failed_nightly_on_a_corrupt_state_database,
    "failed nightly: key mismatch": _failed_nightly_on_a_key_mismatch,
    "failed nightly: full disk in the commit": _failed_nightly_on_a_full_disk_in_the_commit,
    "failed nightly: full disk when publishing": _failed_nightly_on_a_full_disk_when_publishing,
    "bad file names: the nightly goes on": _bad_file_names_do_not_fail_the_nightly,
    "stale: newest records 2157 days old": _stale_for_2157_days,
    "stale: one source silent for half a year": _one_source_silent_for_half_a_year,
    "stale: an empty warehouse": _an_empty_warehouse,
    "rejected and skipped entries of the last run": _rejected_and_skipped_entries_of_the_last_run,
    "stale: open days of the source calendar": _stale_after_open_days_of_the_source_calendar,
}


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_status_reports_every_problem_one_line_each_and_exits_non_zero(tmp_path: Path, scenario: str) -> None:
    s = settings_for(tmp_path)
    today, expected = SCENARIOS[scenario](s)
    stale_after = "1" if scenario == "stale: open days of the source calendar" else "3"
    done = cli("status", "--warehouse", s.warehouse, "--today", today, PIPELINE_STALE_AFTER_OPEN_DAYS=stale_after)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == (3 if expected else 0), done.stdout + done.stderr
    found = problems(done.stdout)
    assert len(found) == len(expected), found
    for line, pattern in zip(sorted(found), sorted(expected), strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
    if scenario == "bad file names: the nightly goes on":
        assert r"telefonie/telefonie_2020\xff0101.csv" in done.stdout
        assert r"telefonie/telefonie_20200101\n.csv" in done.stdout
    if scenario == "stale: open days of the source calendar":
        # One more open day allowed: not stale.
        done = cli("status", "--warehouse", s.warehouse, "--today", today, PIPELINE_STALE_AFTER_OPEN_DAYS="2")
        assert done.returncode == 0, done.stdout
        assert problems(done.stdout) == []
