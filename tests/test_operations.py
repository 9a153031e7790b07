"""Issue 9, case by case: what an operator meets at night, tested on real files, a real DuckDB and the
real `pipeline` command.

Each test is one case of the issue (numbered as there); `docs/operations.md` records, per case, what
the pipeline did before this round of work (commit 3805f7a) and what it does now. Nothing is mocked,
except that a full disk is simulated by making one write fail (there is no tiny tmpfs to fill).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from pipeline.core.ledger_values import CONTROL_CHARACTER, TOO_LONG
from pipeline.core.settings import Settings
from pipeline.run import PipelineError, run
from tests.conftest import (
    APPT_HEADER,
    CALL_HEADER,
    PII_KEY,
    all_text,
    appointment,
    call,
    rows,
    settings_for,
    write,
)

ROOT = Path(__file__).resolve().parents[1]
OTHER_KEY = "another-key-" + "o" * 32
NO_SPACE = "No space left on device"


# ---------------------------------------------------------------------------------------------
# The command, as cron runs it
# ---------------------------------------------------------------------------------------------


def _environment(**extra: str | None) -> dict[str, str]:
    """The environment of a run from cron: no PIPELINE_* or PREFECT_* settings leak in from outside;
    a variable given as None is left unset."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "PREFECT_"))}
    env |= {
        "PIPELINE_PII_KEY": PII_KEY,
        "PIPELINE_WORKERS": "1",
        "PIPELINE_RARE_BELOW": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "COLUMNS": "200",
    }
    env |= {name: value for name, value in extra.items() if value is not None}
    return {name: value for name, value in env.items() if extra.get(name, value) is not None}


def cli(
    *args: object, timeout: float = 180, cwd: Path | None = None, **env: str | None
) -> subprocess.CompletedProcess[str]:
    """`pipeline ARGS` in a fresh process; its output decoded as UTF-8 (a name that is not is a bug)."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *map(str, args)],
        capture_output=True,
        encoding="utf-8",
        timeout=timeout,
        cwd=cwd or ROOT,
        env=_environment(**env),
    )


# A full disk, simulated: the one function named fails with ENOSPC, then the real command runs.
FULL_DISK = """
import errno, importlib, sys
module, name = sys.argv.pop(1).rsplit(".", 1)
def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")
target = importlib.import_module(module)
getattr(target, name)  # a name that is gone would fake a full disk nowhere
setattr(target, name, no_space)
from pipeline.cli import app
sys.argv[0] = "pipeline"
app()
"""


def cli_with_full_disk(failing: str, *args: object, **env: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", FULL_DISK, failing, *map(str, args)],
        capture_output=True,
        encoding="utf-8",
        timeout=180,
        cwd=ROOT,
        env=_environment(**env),
    )


def problems(stdout: str) -> list[str]:
    return [line.removeprefix("problem: ") for line in stdout.splitlines() if line.startswith("problem: ")]


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exactly one line on stderr, no traceback, nothing on stdout."""
    assert done.returncode != 0, done
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def files_below(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def _calls_on(raw: Path, days: list[dt.date], prefix: str = "c") -> None:
    """One answered Utrecht call on each day, each delivered the next day in its own file."""
    for day in days:
        write(
            raw / f"telefonie/telefonie_{day + dt.timedelta(days=1):%Y%m%d}.csv",
            CALL_HEADER,
            [call(f"{prefix}{day:%Y%m%d}", f"{day.isoformat()}T10:00:00+01:00")],
        )


def _appointments_on(raw: Path, days: list[dt.date]) -> None:
    for day in days:
        write(
            raw / f"afspraken/afspraken_{day + dt.timedelta(days=1):%Y%m%d}.csv",
            APPT_HEADER,
            [appointment(f"a{day:%Y%m%d}", f"{day:%d-%m-%Y}", gewijzigd=f"{day.isoformat()}T17:00:00+01:00")],
        )


def open_weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    """Weekdays from `first` to `last` (the tests choose stretches without public holidays)."""
    days = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return [d for d in days if d.weekday() < 5]


# ---------------------------------------------------------------------------------------------
# Case 1: `pipeline status` reports every problem, one line each, and exits non-zero
# ---------------------------------------------------------------------------------------------

Scenario = Callable[[Settings], tuple[str, list[str]]]  # -> (--today, patterns of the problem lines)


def _failed_nightly_on_a_corrupt_state_database(s: Settings) -> tuple[str, list[str]]:
    _calls_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 1), dt.date(2020, 6, 5)))
    run(s, "backfill")
    s.state_db.write_bytes(b"this is not a DuckDB database\n" * 100)
    with pytest.raises(duckdb.Error):
        run(s, "nightly")
    return "2020-06-06", [rf"the state database .*{re.escape(s.state_db.name)} cannot be opened: .+"]


def _failed_nightly_on_a_key_mismatch(s: Settings) -> tuple[str, list[str]]:
    _calls_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 1), dt.date(2020, 6, 5)))
    run(s, "backfill")
    with pytest.raises(PipelineError, match="personal-data key differs"):
        run(Settings(raw_dir=s.raw_dir, warehouse=s.warehouse, pii_key=OTHER_KEY, workers=1), "nightly")
    return "2020-06-06", [r"last run \S+ \(nightly\) failed: StateError: the personal-data key differs .+"]


def _failed_nightly_on_a_full_disk_in_the_commit(s: Settings) -> tuple[str, list[str]]:
    _calls_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 1), dt.date(2020, 6, 4)))
    run(s, "backfill")
    _calls_on(s.raw_dir, [dt.date(2020, 6, 5)])
    done = cli_with_full_disk(
        "pipeline.run.stage.apply_source", "nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse
    )
    assert done.returncode == 1 and NO_SPACE in done.stderr, done.stderr
    return "2020-06-06", [rf"last run \S+ \(nightly\) failed: OSError: \[Errno 28\] {NO_SPACE}"]


def _failed_nightly_on_a_full_disk_when_publishing(s: Settings) -> tuple[str, list[str]]:
    _calls_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 1), dt.date(2020, 6, 4)))
    run(s, "backfill")
    _calls_on(s.raw_dir, [dt.date(2020, 6, 5)])
    done = cli_with_full_disk("pipeline.run.job.publish", "nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert done.returncode == 1 and NO_SPACE in done.stderr, done.stderr
    return "2020-06-06", [
        rf"last run \S+ \(nightly\) .*publishing failed: the disk is full: OSError: \[Errno 28\] {NO_SPACE}"
    ]


def _bad_file_names_do_not_fail_the_nightly(s: Settings) -> tuple[str, list[str]]:
    _calls_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 1), dt.date(2020, 6, 4)))
    run(s, "backfill")
    _calls_on(s.raw_dir, [dt.date(2020, 6, 5)])
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
    _calls_on(s.raw_dir, open_weekdays(dt.date(2020, 12, 28), dt.date(2020, 12, 31)))
    _appointments_on(s.raw_dir, open_weekdays(dt.date(2020, 12, 28), dt.date(2020, 12, 31)))
    run(s, "backfill")
    assert dt.date(2020, 12, 31) + dt.timedelta(days=2157) == dt.date(2026, 11, 27)
    return "2026-11-27", [
        r"afspraken is stale: no records for 15\d\d open days since 2020-12-31 \(allowed: 3\)",
        r"telefonie is stale: no records for 15\d\d open days since 2020-12-31 \(allowed: 3\)",
    ]


def _one_source_silent_for_half_a_year(s: Settings) -> tuple[str, list[str]]:
    _calls_on(s.raw_dir, open_weekdays(dt.date(2020, 12, 14), dt.date(2020, 12, 18)))
    _appointments_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 15), dt.date(2020, 6, 19)))
    run(s, "backfill")
    return "2020-12-19", [r"afspraken is stale: no records for 1\d\d open days since 2020-06-19 \(allowed: 3\)"]


def _an_empty_warehouse(s: Settings) -> tuple[str, list[str]]:
    s.raw_dir.mkdir(parents=True)
    run(s, "backfill")
    return "2020-12-19", [r"the warehouse holds no records of any source"]


def _rejected_and_skipped_entries_of_the_last_run(s: Settings) -> tuple[str, list[str]]:
    _calls_on(s.raw_dir, open_weekdays(dt.date(2020, 6, 1), dt.date(2020, 6, 5)))
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
    _calls_on(s.raw_dir, open_weekdays(dt.date(2020, 5, 25), dt.date(2020, 5, 29)))
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


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_case1_status_reports_every_problem_one_line_each_and_exits_non_zero(tmp_path: Path, scenario: str) -> None:
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


# ---------------------------------------------------------------------------------------------
# Case 2: personal data in the wrong column is never published
# ---------------------------------------------------------------------------------------------

SWAPPED_CALL_HEADER = CALL_HEADER.replace("nummer", "@@").replace("beller", "nummer").replace("@@", "beller")
CALLER_NUMBERS = ("0612345678", "06-23456789", "+31 6 34567890")  # in `nummer`: the header was swapped
BSN_IN_STATUS = "111222333"  # passes the eleven-test
PHONE_IN_TIME = "06-87654321"
EMAIL_IN_OUTCOME = "piet.puk@example.nl"
PHONE_IN_QUEUE = "0687654321"
EMAIL_IN_LOCATION = "klaas@voorbeeld.nl"
NAME_IN_PRODUCT = "Jan de Vries"
# and the personal data where the agreement puts it
CALLER = "0611122233"
CITIZEN = {"bsn": "123456782", "naam": "José Çelik", "telefoon": "0698765432", "email": "jose.celik@example.nl"}
PERSONAL_VALUES = (
    *CALLER_NUMBERS,
    BSN_IN_STATUS,
    PHONE_IN_TIME,
    EMAIL_IN_OUTCOME,
    PHONE_IN_QUEUE,
    EMAIL_IN_LOCATION,
    NAME_IN_PRODUCT,
    CALLER,
    *CITIZEN.values(),
)


def _mask(kind: str, value: str) -> str:
    """How the pipeline shows a personal value: its kind and a keyed hash (HMAC-SHA-256, 12 hex digits)."""
    import hashlib
    import hmac

    return f"[{kind} #{hmac.new(PII_KEY.encode(), value.strip().encode(), hashlib.sha256).hexdigest()[:12]}]"


def _text_of_export(folder: Path) -> str:
    """Every cell and name of every exported file (CSV text, Parquet values, the XML inside an xlsx)."""
    import zipfile

    import polars as pl

    parts = []
    for path in sorted(folder.iterdir()):
        if path.suffix == ".csv":
            parts.append(path.read_text(encoding="utf-8"))
        elif path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            parts.append(" ".join(frame.columns))
            parts.extend(str(v) for column in frame.columns for v in frame[column].to_list())
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                parts.extend(book.read(name).decode("utf-8") for name in book.namelist())
        else:
            raise AssertionError(f"unexpected export file {path}")
    return "\n".join(parts)


def _relations_holding(path: Path, values: tuple[str, ...]) -> dict[str, list[str]]:
    """Per value found: the tables and views of a DuckDB file that hold it in some column."""
    from tests.conftest import relation_names

    found: dict[str, list[str]] = {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        for relation in relation_names(con):
            text = "\n".join(str(v) for row in con.execute(f"SELECT * FROM {relation}").fetchall() for v in row)
            for value in values:
                if value in text:
                    found.setdefault(value, []).append(relation)
    finally:
        con.close()
    return found


def write_personal_data_in_the_wrong_columns(raw: Path) -> None:
    """Deliveries with personal data where it does not belong, and where it does."""
    day = "2020-03-16"
    ordinary = [call(f"o{i}", f"{day}T09:{i:02d}:00+01:00", beller=CALLER) for i in range(5)]
    write(raw / "telefonie/telefonie_20200317.csv", CALL_HEADER, ordinary)
    # The header names `nummer` and `beller` the wrong way round: the callers' numbers land in `nummer`.
    swapped = [call(f"s{i}", f"{day}T10:0{i}:00+01:00", beller=n) for i, n in enumerate(CALLER_NUMBERS)]
    write(raw / "telefonie/telefonie_20200317_verwisseld.csv", SWAPPED_CALL_HEADER, swapped)
    write(
        raw / "telefonie/telefonie_20200317_fout.csv",
        CALL_HEADER,
        [call("e1", f"{day}T11:00:00+01:00", afhandeling=EMAIL_IN_OUTCOME)],
    )
    # A phone number typed into the queue: a valid call (three of them, so the value is not rare).
    queue = [call(f"q{i}", f"{day}T12:0{i}:00+01:00", wachtrij=PHONE_IN_QUEUE) for i in range(3)]
    write(raw / "telefonie/telefonie_20200317_wachtrij.csv", CALL_HEADER, queue)

    visits = [appointment(f"v{i}", "16-03-2020", **CITIZEN) for i in range(5)]  # type: ignore[arg-type]
    visits += [appointment(f"l{i}", "16-03-2020", locatie=EMAIL_IN_LOCATION) for i in range(3)]
    visits.append(appointment("n1", "16-03-2020", product=NAME_IN_PRODUCT))
    write(raw / "afspraken/afspraken_20200317.csv", APPT_HEADER, visits)
    write(
        raw / "afspraken/afspraken_20200317_fout.csv",
        APPT_HEADER,
        [appointment("b1", "16-03-2020", status=BSN_IN_STATUS), appointment("t1", "16-03-2020", tijd=PHONE_IN_TIME)],
    )


def test_case2_personal_data_in_the_wrong_column_is_never_published(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    raw = s.raw_dir
    write_personal_data_in_the_wrong_columns(raw)
    backfill = cli("backfill", "--raw", raw, "--warehouse", s.warehouse, PIPELINE_RARE_BELOW="3")
    assert backfill.returncode == 0, backfill.stderr
    exports = {fmt: tmp_path / f"export-{fmt}" for fmt in ("csv", "parquet", "xlsx")}
    for fmt, folder in exports.items():
        done = cli("export", "--warehouse", s.warehouse, "--format", fmt, "--out", folder)
        assert done.returncode == 0, done.stderr

    texts = {
        "published file": all_text(s.warehouse),
        **{f"{fmt} export": _text_of_export(folder) for fmt, folder in exports.items()},
        "the run's output": backfill.stdout + backfill.stderr,
    }
    for where, text in texts.items():
        for value in PERSONAL_VALUES:
            assert value not in text, f"{value!r} found in the {where}"
    # The private state database holds no recognisable personal value either. A name typed into a
    # free-text column cannot be recognised: it stays in the staged records (private, like the
    # archive of deliveries) until publishing decides, per year, that it is rare.
    found = {value: sorted(relations) for value, relations in _relations_holding(s.state_db, PERSONAL_VALUES).items()}
    assert found == {
        NAME_IN_PRODUCT: [
            '"main"."afspraken_actueel"',
            '"main"."afspraken_uitsplitsing_dag"',
            '"main"."afspraken_versies"',
        ]
    }

    # The quarantine shows the kind of personal data and a keyed hash, with file, line and column.
    quarantined = {
        (r["bestand"].rsplit("/", 1)[1], r["regel"], r["kolom"]): r["waarde"]
        for r in rows(s.warehouse, "SELECT * FROM quarantaine")
    }
    assert quarantined == {
        **{
            ("telefonie_20200317_verwisseld.csv", line, "nummer"): _mask("telefoonnummer", number)
            for line, number in enumerate(CALLER_NUMBERS, 2)
        },
        ("telefonie_20200317_fout.csv", 2, "afhandeling"): _mask("e-mailadres", EMAIL_IN_OUTCOME),
        ("afspraken_20200317_fout.csv", 2, "status"): _mask("bsn", BSN_IN_STATUS),
        ("afspraken_20200317_fout.csv", 3, "tijd"): _mask("telefoonnummer", PHONE_IN_TIME),
    }
    # The breakdowns mask what looks personal, and group what is rare (a name cannot be recognised).
    queues = {r["wachtrij"] for r in rows(s.warehouse, "SELECT DISTINCT wachtrij FROM telefonie_uitsplitsing")}
    assert queues == {"Algemeen", _mask("telefoonnummer", PHONE_IN_QUEUE)}
    found = rows(s.warehouse, "SELECT locatie, product, sum(aantal) AS n FROM afspraken_uitsplitsing GROUP BY ALL")
    assert {(r["locatie"], r["product"], r["n"]) for r in found} == {
        ("Stadskantoor", "Paspoort", 5),
        (_mask("e-mailadres", EMAIL_IN_LOCATION), "Paspoort", 3),
        ("Stadskantoor", "(zelden)", 1),
    }


# ---------------------------------------------------------------------------------------------
# Case 3: a backfill of some years takes in what changed in other years too
# ---------------------------------------------------------------------------------------------

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


def test_case3_a_backfill_of_2019_takes_in_a_changed_2020_file_and_a_nightly_then_equals_a_backfill(
    tmp_path: Path,
) -> None:
    import shutil

    from tests.conftest import view_contents

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


# ---------------------------------------------------------------------------------------------
# Case 4: one bad entry never blocks a night
# ---------------------------------------------------------------------------------------------


def _make(folder: Path, name: bytes, data: bytes) -> None:
    with open(os.fsencode(folder) + b"/" + name, "wb") as handle:
        handle.write(data)


def write_bad_entries(raw: Path) -> None:
    """A good delivery, and beside it every kind of entry that once stopped a night."""
    tel = raw / "telefonie"
    write(tel / "telefonie_20200107.csv", CALL_HEADER, [call("good", "2020-01-06T10:00:00+01:00")])
    _make(tel, b"telefonie_2020\xff0101.csv", CALL_HEADER.encode() + b"\n")  # not UTF-8, not a delivery's name
    line = (call("latin", "2020-01-06T11:00:00+01:00") + "\n").encode()
    _make(tel, b"telefonie_20200107_\xff.csv", CALL_HEADER.encode() + b"\n" + line)  # a delivery, not UTF-8
    line = (call("newline", "2020-01-06T12:00:00+01:00") + "\n").encode()
    _make(tel, b"telefonie_20200107_a\nb.csv", CALL_HEADER.encode() + b"\n" + line)  # a delivery, a line break
    (tel / "telefonie_20200108.csv").symlink_to("telefonie_19990101.csv")  # dangling
    (tel / "telefonie_20200109.csv").symlink_to("telefonie_20200109.csv")  # a loop
    os.mkfifo(tel / "telefonie_20200101.csv")  # a named pipe: opening it for reading waits for a writer


def test_case4_one_bad_entry_never_blocks_a_night(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    write_bad_entries(s.raw_dir)
    done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse, timeout=120)  # a hang fails here
    assert done.returncode == 0, done.stderr
    summary, *entries = done.stderr.strip().splitlines()
    assert summary.startswith("nightly: 3 deliveries processed, 0 rejected, 1 ignored, 3 skipped; 3 valid rows")
    assert sorted(entries) == [
        r"  ignored telefonie/telefonie_2020\xff0101.csv: name does not match <source>_<YYYYMMDD>[_<suffix>].csv",
        "  skipped telefonie/telefonie_20200101.csv: named pipe (FIFO); only regular files are read",
        "  skipped telefonie/telefonie_20200108.csv: dangling symbolic link: its target telefonie_19990101.csv "
        "does not exist",
        "  skipped telefonie/telefonie_20200109.csv: symbolic link loop (link to telefonie_20200109.csv)",
    ]
    ledger = {r["bestand"]: r["status"] for r in rows(s.warehouse, "SELECT * FROM leveringen")}
    assert ledger == {
        "telefonie/telefonie_20200107.csv": "verwerkt",
        r"telefonie/telefonie_20200107_\xff.csv": "verwerkt",
        r"telefonie/telefonie_20200107_a\nb.csv": "verwerkt",
        r"telefonie/telefonie_2020\xff0101.csv": "genegeerd",
        "telefonie/telefonie_20200101.csv": "overgeslagen",
        "telefonie/telefonie_20200108.csv": "overgeslagen",
        "telefonie/telefonie_20200109.csv": "overgeslagen",
    }
    assert rows(s.warehouse, "SELECT telefoontjes_gemeente FROM kerncijfers") == [{"telefoontjes_gemeente": 3}]
    # The next night is no different: nothing is read again, every entry is reported again.
    again = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse, timeout=120)
    assert again.returncode == 0, again.stderr
    assert sorted(again.stderr.strip().splitlines()[1:]) == sorted(entries)
    assert again.stderr.startswith("nightly: 0 deliveries processed, 0 rejected, 1 ignored, 3 skipped")


# ---------------------------------------------------------------------------------------------
# Case 5: the landing folder is trusted no more than needed
# ---------------------------------------------------------------------------------------------


def _ledger(s: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    """The state database's deliveries ledger, per (path, content)."""
    con = duckdb.connect(str(s.state_db), read_only=True)
    try:
        found = con.sql("SELECT * FROM leveringen").pl().to_dicts()
    finally:
        con.close()
    return {(r["bestand"], r["sha256"]): r for r in found}


def _calls_counted(warehouse: Path) -> int:
    found = rows(warehouse, "SELECT coalesce(sum(telefoontjes_gemeente), 0) AS n FROM kerncijfers")
    return int(found[0]["n"])


def _figures(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    from tests.conftest import view_contents

    return view_contents(warehouse, skip=("runs", "meldingen", "leveringen"))


def _links_outside(s: Settings, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere / "telefonie_20200106.csv", CALL_HEADER, [call("elsewhere", "2020-01-05T10:00:00+01:00")])
    write(s.raw_dir / "telefonie/telefonie_20200107.csv", CALL_HEADER, [call("here", "2020-01-06T10:00:00+01:00")])
    (s.raw_dir / "telefonie/telefonie_20200105.csv").symlink_to("/etc/passwd")
    (s.raw_dir / "telefonie/telefonie_20200106.csv").symlink_to(elsewhere / "telefonie_20200106.csv")
    done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert done.returncode == 0, done.stderr
    outside = "symbolic link to a target outside the landing folder"
    assert f"  skipped telefonie/telefonie_20200105.csv: {outside}" in done.stderr.splitlines()
    assert f"  skipped telefonie/telefonie_20200106.csv: {outside}" in done.stderr.splitlines()
    assert _calls_counted(s.warehouse) == 1
    counted = [sha for (_, sha), r in _ledger(s).items() if r["status"] == "verwerkt"]
    assert len(counted) == 1
    assert _archived(s, counted[0])["veld:gesprek_id"].to_list() == ["here"]
    packs = [pl.read_parquet(p)["levering"] for p in s.archive_dir.rglob("*.parquet")]
    assert sorted(set(pl.concat(packs).to_list())) == counted  # neither /etc/passwd nor the other delivery
    done = cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert done.returncode == 0 and _calls_counted(s.warehouse) == 1


def _overwritten_by_an_empty_file(s: Settings, tmp_path: Path) -> None:
    path = s.raw_dir / "telefonie/telefonie_20200107.csv"
    write(path, CALL_HEADER, [call("c1", "2020-01-06T10:00:00+01:00"), call("c2", "2020-01-06T11:00:00+01:00")])
    assert cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse).returncode == 0
    accepted = _figures(s.warehouse)
    path.write_bytes(b"")
    for _ in range(2):  # reported again on the next night, not only the first
        done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
        assert done.returncode == 0, done.stderr
        assert (
            "  rejected telefonie/telefonie_20200107.csv: empty file: no header row "
            "(the delivery accepted earlier under this name keeps counting)"
        ) in done.stderr.splitlines()
        assert _figures(s.warehouse) == accepted and _calls_counted(s.warehouse) == 2
    statuses = {sha: r["status"] for (_, sha), r in _ledger(s).items()}
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # sha256 of no bytes
    assert statuses.pop(empty) == "afgewezen" and list(statuses.values()) == ["verwerkt"]
    status = cli("status", "--warehouse", s.warehouse, "--today", "2020-01-07")
    assert status.returncode == 3 and problems(status.stdout) == [
        "rejected: telefonie/telefonie_20200107.csv: empty file: no header row "
        "(the delivery accepted earlier under this name keeps counting)"
    ]
    assert cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse).returncode == 0
    assert _figures(s.warehouse) == accepted  # nightly and backfill agree


def _removed_from_the_folder(s: Settings, tmp_path: Path) -> None:
    write(s.raw_dir / "telefonie/telefonie_20200107.csv", CALL_HEADER, [call("c1", "2020-01-06T10:00:00+01:00")])
    gone = write(s.raw_dir / "telefonie/telefonie_20200108.csv", CALL_HEADER, [call("c2", "2020-01-07T10:00:00+01:00")])
    assert cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse).returncode == 0
    both = _figures(s.warehouse)
    gone.unlink()
    reported = (
        "  gone telefonie/telefonie_20200108.csv: no longer in the landing folder; the archived delivery keeps counting"
    )
    for kind in ("nightly", "backfill", "nightly"):
        done = cli(kind, "--raw", s.raw_dir, "--warehouse", s.warehouse)
        assert done.returncode == 0, done.stderr
        assert reported in done.stderr.splitlines(), done.stderr
        assert _figures(s.warehouse) == both and _calls_counted(s.warehouse) == 2
    (missing,) = [r for r in _ledger(s).values() if r["bestand"] == "telefonie/telefonie_20200108.csv"]
    assert (missing["status"], missing["in_landingsmap"]) == ("verwerkt", False) and missing["ontbreekt_sinds"]
    status = cli("status", "--warehouse", s.warehouse, "--today", "2020-01-08")
    assert problems(status.stdout) == [
        "gone: telefonie/telefonie_20200108.csv: no longer in the landing folder; the archived delivery keeps counting"
    ]


def _archived(s: Settings, sha: str) -> Any:
    """The records the archive holds of the delivery whose bytes have SHA-256 `sha`."""
    from pipeline.core import archive

    ((pack, pack_sha),) = set(
        _state_rows_tuples(s, "SELECT archief, archief_sha256 FROM leveringen WHERE sha256 = ?", [sha])
    )
    return archive.read_pack(s.archive_dir, pack, pack_sha, [sha], PII_KEY.encode()).rows


def _state_rows_tuples(s: Settings, query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(s.state_db), read_only=True)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def _appended_while_read(s: Settings, tmp_path: Path) -> None:
    import hashlib
    import threading

    path = write(
        s.raw_dir / "telefonie/telefonie_20200107.csv",
        CALL_HEADER,
        [call(f"c{i}", "2020-01-06T10:00:00+01:00") for i in range(200_000)],  # about 15 MB
    )
    stop = threading.Event()

    def append() -> None:
        n = 0
        while not stop.is_set():
            with path.open("a") as handle:
                handle.write(call(f"late{n}", "2020-01-06T11:00:00+01:00") + "\n")
            n += 1
            stop.wait(0.001)

    appender = threading.Thread(target=append)
    appender.start()
    try:
        during = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    finally:
        stop.set()
        appender.join()
    assert during.returncode == 0, during.stderr
    after = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert after.returncode == 0, after.stderr
    # Whether a run took the file while it grew or skipped it ("changed while being read"), what it
    # recorded is the hash of the bytes it counted: the archive holds exactly those records.
    for (_, sha), delivery in _ledger(s).items():
        if delivery["status"] in ("verwerkt", "vervangen"):
            assert delivery["rijen"] == _archived(s, sha).height  # the pack is checked against its SHA-256
    (counted,) = [r for r in _ledger(s).values() if r["status"] == "verwerkt"]
    assert counted["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert _calls_counted(s.warehouse) == counted["rijen"] == path.read_bytes().count(b"\n") - 1
    skipped = [line for line in during.stderr.splitlines() if line.startswith("  skipped")]
    assert skipped in (
        [],
        ["  skipped telefonie/telefonie_20200107.csv: changed while being read; it is read again on the next run"],
    )


def _withdrawn(s: Settings, tmp_path: Path) -> None:
    write(s.raw_dir / "telefonie/telefonie_20200107.csv", CALL_HEADER, [call("c1", "2020-01-06T10:00:00+01:00")])
    bad = write(s.raw_dir / "telefonie/telefonie_20200108.csv", CALL_HEADER, [call("c2", "2020-01-07T10:00:00+01:00")])
    assert cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse).returncode == 0
    assert _calls_counted(s.warehouse) == 2
    reason = "test calls of the supplier, not real ones (ticket 4711)"
    done = cli("withdraw", "--warehouse", s.warehouse, "--file", "telefonie/telefonie_20200108.csv", "--reason", reason)
    assert done.returncode == 0, done.stderr
    assert _calls_counted(s.warehouse) == 1
    (withdrawn,) = [r for r in rows(s.warehouse, "SELECT * FROM leveringen") if r["bestand"].endswith("0108.csv")]
    assert (withdrawn["status"], withdrawn["reden"]) == ("ingetrokken", reason) and withdrawn["ingetrokken_op"]
    assert rows(s.warehouse, "SELECT soort, status FROM runs ORDER BY gestart_op")[-1] == {
        "soort": "intrekking",
        "status": "voltooid",
    }
    bad.touch()  # touched again at the source: still the withdrawn content
    for kind in ("nightly", "backfill", "nightly"):
        done = cli(kind, "--raw", s.raw_dir, "--warehouse", s.warehouse)
        assert done.returncode == 0, done.stderr
        assert _calls_counted(s.warehouse) == 1, kind
        assert (
            "  withdrawn telefonie/telefonie_20200108.csv: withdrawn delivery: not counted" in done.stderr.splitlines()
        )
    # New content under the same name is a new delivery: it counts.
    write(bad, CALL_HEADER, [call("c2-real", "2020-01-07T10:00:00+01:00"), call("c3", "2020-01-07T11:00:00+01:00")])
    assert cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse).returncode == 0
    assert _calls_counted(s.warehouse) == 3


LANDING_CASES: dict[str, Callable[[Settings, Path], None]] = {
    "links outside the folder are not read": _links_outside,
    "a delivery overwritten by an empty file": _overwritten_by_an_empty_file,
    "a delivery removed from the folder": _removed_from_the_folder,
    "a file appended while it is read": _appended_while_read,
    "a withdrawn delivery": _withdrawn,
}


@pytest.mark.parametrize("case", list(LANDING_CASES))
def test_case5_the_landing_folder_is_trusted_no_more_than_needed(tmp_path: Path, case: str) -> None:
    s = settings_for(tmp_path)
    s.raw_dir.mkdir(parents=True)
    LANDING_CASES[case](s, tmp_path)


# ---------------------------------------------------------------------------------------------
# Case 6: files that are not deliveries are reported on every nightly
# ---------------------------------------------------------------------------------------------


def write_files_that_are_not_deliveries(raw: Path) -> None:
    write(raw / "telefonie/telefonie_20200107.csv", CALL_HEADER, [call("c1", "2020-01-06T10:00:00+01:00")])
    (raw / "README.txt").write_text("Landingsmap publieksdienstverlening\n")
    write(raw / "telefonie/telefonie_20200108.csv.tmp", CALL_HEADER, [call("c2", "2020-01-07T10:00:00+01:00")])
    write(raw / "telefonie/.telefonie_20200108.csv", CALL_HEADER, [call("c3", "2020-01-07T10:00:00+01:00")])
    write(raw / "telefonie/telefonie_2020-01-08.csv", CALL_HEADER, [call("c4", "2020-01-07T10:00:00+01:00")])


IGNORED = [
    "  ignored README.txt: not in a source's folder",
    "  ignored telefonie/.telefonie_20200108.csv: hidden file",
    "  ignored telefonie/telefonie_2020-01-08.csv: name does not match <source>_<YYYYMMDD>[_<suffix>].csv",
    "  ignored telefonie/telefonie_20200108.csv.tmp: partial upload (.tmp)",
]


def test_case6_files_that_are_not_deliveries_are_reported_on_every_nightly(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    write_files_that_are_not_deliveries(s.raw_dir)
    for expected in ("nightly: 1 deliveries processed", "nightly: 0 deliveries processed", "nightly: 0 deliveries"):
        done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
        assert done.returncode == 0, done.stderr
        summary, *entries = done.stderr.strip().splitlines()
        assert summary.startswith(expected) and ", 4 ignored, " in summary, summary
        assert sorted(entries) == IGNORED
    # The published ledger of that night and `pipeline status` list them too (not as problems).
    found = rows(s.warehouse, "SELECT bestand, reden FROM meldingen WHERE soort = 'genegeerd' ORDER BY gestart_op")
    assert len(found) == 3 * 4
    status = cli("status", "--warehouse", s.warehouse, "--today", "2020-01-07")
    assert status.returncode == 0, status.stdout
    assert sorted(line for line in status.stdout.splitlines() if line.startswith("ignored: ")) == sorted(
        line.replace("  ignored ", "ignored: ") for line in IGNORED
    )


# ---------------------------------------------------------------------------------------------
# Case 7: messages that do not mislead
# ---------------------------------------------------------------------------------------------


def _utf16_is_named(s: Settings, tmp_path: Path) -> None:
    text = CALL_HEADER + "\n" + call("u1", "2020-01-06T10:00:00+01:00") + "\n"
    (s.raw_dir / "telefonie").mkdir()
    (s.raw_dir / "telefonie/telefonie_20200107_bom.csv").write_bytes(text.encode("utf-16"))  # with BOM
    (s.raw_dir / "telefonie/telefonie_20200107_le.csv").write_bytes(text.encode("utf-16-le"))
    (s.raw_dir / "telefonie/telefonie_20200107_be.csv").write_bytes(text.encode("utf-16-be"))
    done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert done.returncode == 0, done.stderr
    agreed = "deliveries must be UTF-8 or Windows-1252"
    assert sorted(done.stderr.strip().splitlines()[1:]) == [
        "  rejected telefonie/telefonie_20200107_be.csv: UTF-16 big-endian text (no byte-order mark, NUL bytes in "
        f"every other position); {agreed}",
        f"  rejected telefonie/telefonie_20200107_bom.csv: UTF-16 little-endian text (byte-order mark FF FE); {agreed}",
        "  rejected telefonie/telefonie_20200107_le.csv: UTF-16 little-endian text (no byte-order mark, NUL bytes in "
        f"every other position); {agreed}",
    ]


def _a_50_mb_field(s: Settings, tmp_path: Path) -> None:
    ordinary = [call(f"c{i}", "2020-01-06T10:00:00+01:00") for i in range(40)]
    huge = call("huge", "2020-01-06T11:00:00+01:00", wachtrij='"' + "x" * (50 << 20) + '"')
    write(s.raw_dir / "telefonie/telefonie_20200107.csv", CALL_HEADER, [*ordinary, huge])
    done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert done.returncode == 0, done.stderr
    assert "quote" not in done.stderr
    assert done.stderr.startswith(
        "nightly: 1 deliveries processed, 0 rejected, 0 ignored, 0 skipped; 40 valid rows, 1 "
    )
    (row,) = rows(s.warehouse, "SELECT regel, kolom, reden FROM quarantaine")
    assert row == {
        "regel": 42,
        "kolom": "wachtrij",
        "reden": TOO_LONG.format(50 << 20, 4096),
    }


def _a_landing_path_that_is_a_file(s: Settings, tmp_path: Path) -> None:
    s.raw_dir.rmdir()
    s.raw_dir.write_text("not a folder\n")
    for kind in ("nightly", "backfill"):
        done = cli(kind, "--raw", s.raw_dir, "--warehouse", s.warehouse)
        assert one_line(done) == f"pipeline: landing folder {s.raw_dir} is a file, not a folder"
    assert not s.warehouse.parent.exists()


def _a_full_disk_after_the_commit(s: Settings, tmp_path: Path) -> None:
    write(s.raw_dir / "telefonie/telefonie_20200107.csv", CALL_HEADER, [call("c1", "2020-01-06T10:00:00+01:00")])
    done = cli_with_full_disk("pipeline.run.job.publish", "nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    message = one_line(done)
    assert "nothing was changed" not in message
    assert message == (
        f"pipeline: the run's deliveries and figures are committed to {s.state_db.name}, but publishing "
        f"{s.warehouse} failed (the disk is full: OSError: [Errno 28] {NO_SPACE}); the published file is as it was: "
        "run again to publish"
    )
    # Run again, with room on the disk: the committed figures are published; nothing is read twice.
    done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert done.returncode == 0 and done.stderr.startswith("nightly: 0 deliveries processed"), done.stderr
    assert _calls_counted(s.warehouse) == 1


def _not_a_warehouse(s: Settings, tmp_path: Path) -> None:
    text = tmp_path / "notes.duckdb"
    text.write_text("not a database\n")
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    folder = tmp_path / "a-folder.duckdb"
    folder.mkdir()
    for warehouse in (text, other, folder):
        for command in (
            ["status"],
            ["report"],
            ["report", "--format", "markdown"],
            ["report", "--format", "html", "--out", tmp_path / "r.html"],
            ["export", "--format", "csv", "--out", tmp_path / "export"],
        ):
            done = cli(*command, "--warehouse", warehouse)
            if command == ["status"]:  # its one line is its problem, on stdout with the rest of its report
                assert done.returncode == 3 and "Traceback" not in done.stderr, done
                assert len(problems(done.stdout)) == 1 and done.stdout.count("\n") == 1, done.stdout
                line = done.stdout
            else:
                line = one_line(done)
            assert str(warehouse) in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder.duckdb", "notes.duckdb", "other.duckdb", "raw"]


def _freeze_without_a_warehouse(s: Settings, tmp_path: Path) -> None:
    done = cli("freeze", "--year", 2020, "--warehouse", s.warehouse)
    assert one_line(done) == f"pipeline: there is no warehouse at {s.warehouse}; run 'pipeline backfill' first"
    assert files_below(tmp_path) == ["raw"]
    done = cli("freeze", "--year", 2020, "--warehouse", s.warehouse, PIPELINE_PII_KEY=None)
    one_line(done)
    assert files_below(tmp_path) == ["raw"]  # no .state.duckdb, .lock or .key


def _a_missing_landing_folder(s: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "not-there" / "raw"
    for kind in ("nightly", "backfill"):
        done = cli(kind, "--raw", missing, "--warehouse", s.warehouse, PIPELINE_PII_KEY=None)
        assert one_line(done) == f"pipeline: landing folder {missing} does not exist"
    assert files_below(tmp_path) == ["raw"]  # no warehouse folder, no .lock, no .key


MESSAGE_CASES: dict[str, Callable[[Settings, Path], None]] = {
    "a UTF-16 file is rejected naming UTF-16": _utf16_is_named,
    "a 50 MB field is not an unclosed quote": _a_50_mb_field,
    "a landing path that is a file": _a_landing_path_that_is_a_file,
    "a full disk after the commit": _a_full_disk_after_the_commit,
    "status, report and export on a file that is not a warehouse": _not_a_warehouse,
    "freeze on a missing warehouse leaves no files": _freeze_without_a_warehouse,
    "a missing landing folder leaves no files": _a_missing_landing_folder,
}


@pytest.mark.parametrize("case", list(MESSAGE_CASES))
def test_case7_messages_that_do_not_mislead(tmp_path: Path, case: str) -> None:
    s = settings_for(tmp_path)
    s.raw_dir.mkdir(parents=True)
    MESSAGE_CASES[case](s, tmp_path)


# ---------------------------------------------------------------------------------------------
# Case 8: a NUL byte inside a field quarantines the row and is never exported
# ---------------------------------------------------------------------------------------------


def write_nul_bytes(raw: Path) -> None:
    ordinary = [call(f"c{i}", "2020-01-06T10:00:00+01:00") for i in range(40)]
    nul = call("nul", "2020-01-06T11:00:00+01:00", wachtrij="Alge\x00meen")
    quoted = call("quoted", "2020-01-06T12:00:00+01:00", wachtrij='"Burger\x00zaken"')
    write(raw / "telefonie/telefonie_20200107.csv", CALL_HEADER, [*ordinary, nul, quoted])
    visits = [appointment(f"v{i}", "06-01-2020") for i in range(30)]
    visits.append(appointment("nul", "06-01-2020", product="Pas\x00poort"))
    write(raw / "afspraken/afspraken_20200107.csv", APPT_HEADER, visits)


def test_case8_a_nul_byte_in_a_field_quarantines_the_row_and_is_never_exported(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    write_nul_bytes(s.raw_dir)
    done = cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        "backfill: 2 deliveries processed, 0 rejected, 0 ignored, 0 skipped; 70 valid rows, 3 "
    )
    reason = CONTROL_CHARACTER
    assert rows(s.warehouse, "SELECT bron, regel, kolom, reden, waarde FROM quarantaine ORDER BY bron, regel") == [
        {"bron": "afspraken", "regel": 32, "kolom": "product", "reden": reason, "waarde": r"Pas\x00poort"},
        {"bron": "telefonie", "regel": 42, "kolom": "wachtrij", "reden": reason, "waarde": r"Alge\x00meen"},
        {"bron": "telefonie", "regel": 43, "kolom": "wachtrij", "reden": reason, "waarde": r"Burger\x00zaken"},
    ]
    figures = rows(s.warehouse, "SELECT telefoontjes_gemeente, baliebezoeken_met_afspraak FROM kerncijfers")
    assert figures == [{"telefoontjes_gemeente": 40, "baliebezoeken_met_afspraak": 30}]
    assert "\x00" not in all_text(s.warehouse) and "\x00" not in all_text(s.state_db)
    for fmt in ("csv", "parquet", "xlsx"):
        folder = tmp_path / f"export-{fmt}"
        assert cli("export", "--warehouse", s.warehouse, "--format", fmt, "--out", folder).returncode == 0
        assert "\x00" not in _text_of_export(folder)
        if fmt == "csv":
            assert all(b"\x00" not in path.read_bytes() for path in folder.iterdir())
            assert r"Alge\x00meen" in (folder / "quarantaine.csv").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Case 9: `pipeline serve` without a Prefect server refuses to start, saying how to start one
# ---------------------------------------------------------------------------------------------


def test_case9_serve_without_a_prefect_server_refuses_and_says_how_to_start_one(tmp_path: Path) -> None:
    # No PREFECT_API_URL, and a Prefect home of its own (no profile that sets one); a hang fails here.
    done = cli("serve", timeout=120, PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_API_URL=None)
    line = one_line(done)
    assert "prefect server start --host 127.0.0.1" in line and "PREFECT_API_URL=http://127.0.0.1:4200/api" in line
    assert line.startswith("pipeline: pipeline serve needs a running Prefect server")


# ---------------------------------------------------------------------------------------------
# Cases 10 and 11: against Prefect's test harness (a temporary Prefect server on 127.0.0.1)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prefect_api() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=240):  # a shared machine starts it slowly
        yield


def _keyed_hash(key: str, value: str) -> str:
    import hashlib
    import hmac

    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def _state_rows(s: Settings, query: str) -> list[dict[str, Any]]:
    con = duckdb.connect(str(s.state_db), read_only=True)
    try:
        return con.sql(query).pl().to_dicts()
    finally:
        con.close()


BLOCK_KEY = "key-from-a-secret-block-" + "b" * 24


def test_case10_the_key_from_a_secret_block_or_the_environment_and_retention_of_pseudonyms(
    prefect_api: None, tmp_path: Path
) -> None:
    from prefect.blocks.system import Secret

    from pipeline.run.state import key_fingerprint

    Secret(value=BLOCK_KEY).save("pipeline-pii-key", overwrite=True)
    s = Settings(
        raw_dir=tmp_path / "raw", warehouse=tmp_path / "wh" / "w.duckdb", pii_key_block="pipeline-pii-key", workers=1
    )
    assert s.pii_key is None
    recent = dt.date.today() - dt.timedelta(days=1)
    write(
        s.raw_dir / "telefonie/telefonie_20200107.csv",
        CALL_HEADER,
        [
            call("old1", "2020-01-06T10:00:00+01:00", beller=CALLER),
            call("old2", "2020-01-07T10:00:00+01:00", beller=CALLER),  # a repeat caller
            call("old3", "2020-01-07T11:00:00+01:00"),  # no caller's number delivered
        ],
    )
    write(
        s.raw_dir / f"telefonie/telefonie_{recent:%Y%m%d}.csv",
        CALL_HEADER,
        [call("new1", f"{recent.isoformat()}T12:00:00Z", beller=CALLER)],
    )
    run(s, "nightly")  # the key comes from the Secret block, through the Prefect API
    (meta,) = _state_rows(s, "SELECT waarde FROM meta WHERE sleutel = 'sleutel_vingerafdruk'")
    assert meta["waarde"] == key_fingerprint(BLOCK_KEY.encode())
    hashes = {r["gesprek_id"]: r["beller_hash"] for r in _state_rows(s, "SELECT * FROM telefonie_versies")}
    assert hashes == {c: _keyed_hash(BLOCK_KEY, CALLER) for c in ("old1", "old2", "new1")} | {"old3": None}
    figures = rows(s.warehouse, "SELECT jaar, herhaalbellers_7d FROM kerncijfers ORDER BY jaar")

    # The same key from the environment (no Prefect API here) is the same key; another one is refused.
    done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_PII_KEY=BLOCK_KEY)
    assert done.returncode == 0, done.stderr
    done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_PII_KEY=OTHER_KEY)
    assert "personal-data key differs" in one_line(done)

    # Retention: the nightly run erases the keyed hashes of staged calls older than the horizon, and
    # says so in the run ledger; the figures computed with them stay.
    done = cli(
        "nightly",
        "--raw",
        s.raw_dir,
        "--warehouse",
        s.warehouse,
        PIPELINE_PII_KEY=BLOCK_KEY,
        PIPELINE_RETENTION_DAYS="30",
    )
    assert done.returncode == 0, done.stderr
    hashes = {r["gesprek_id"]: r["beller_hash"] for r in _state_rows(s, "SELECT * FROM telefonie_versies")}
    assert hashes == {"old1": None, "old2": None, "old3": None, "new1": _keyed_hash(BLOCK_KEY, CALLER)}
    last = rows(s.warehouse, "SELECT bewaartermijn_dagen, pseudoniemen_gewist FROM runs ORDER BY gestart_op")
    assert last[-1] == {"bewaartermijn_dagen": 30, "pseudoniemen_gewist": 2}
    assert rows(s.warehouse, "SELECT jaar, herhaalbellers_7d FROM kerncijfers ORDER BY jaar") == figures
    # Applied every night: nothing left to erase the next time, and the ledger says so.
    done = cli(
        "nightly",
        "--raw",
        s.raw_dir,
        "--warehouse",
        s.warehouse,
        PIPELINE_PII_KEY=BLOCK_KEY,
        PIPELINE_RETENTION_DAYS="30",
    )
    assert done.returncode == 0, done.stderr
    last = rows(s.warehouse, "SELECT bewaartermijn_dagen, pseudoniemen_gewist FROM runs ORDER BY gestart_op")
    assert last[-1] == {"bewaartermijn_dagen": 30, "pseudoniemen_gewist": 0}


def _artifacts_of(flow_run_id: Any) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return "\n".join(str(a.data) for a in found)


def _flow_healthy(s: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    yesterday = dt.date.today() - dt.timedelta(days=1)
    _calls_on(s.raw_dir, [yesterday])
    return "nightly", []


def _flow_stale(s: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    _calls_on(s.raw_dir, open_weekdays(dt.date(2020, 12, 28), dt.date(2020, 12, 31)))
    return "nightly", ["telefonie is stale: no records for "]


def _flow_stale_backfill(s: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    _calls_on(s.raw_dir, open_weekdays(dt.date(2020, 12, 28), dt.date(2020, 12, 31)))
    return "backfill", ["telefonie is stale: no records for "]


def _flow_key_mismatch(s: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    yesterday = dt.date.today() - dt.timedelta(days=1)
    _calls_on(s.raw_dir, [yesterday])
    run(s, "nightly")
    monkeypatch.setenv("PIPELINE_PII_KEY", OTHER_KEY)
    return "nightly", ["StateError: the personal-data key differs", "(nightly) failed: StateError"]


def _flow_rejected(s: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    yesterday = dt.date.today() - dt.timedelta(days=1)
    _calls_on(s.raw_dir, [yesterday])
    (s.raw_dir / "telefonie/telefonie_20200107_leeg.csv").write_bytes(b"")
    return "nightly", ["rejected: telefonie/telefonie_20200107_leeg.csv: empty file: no header row"]


def _flow_full_disk(s: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    yesterday = dt.date.today() - dt.timedelta(days=1)
    _calls_on(s.raw_dir, [yesterday])

    def no_space(*args: object) -> None:
        raise OSError(errno.ENOSPC, NO_SPACE)

    import pipeline.run.job

    monkeypatch.setattr(pipeline.run.job, "publish", no_space)
    return "nightly", ["PublishFailed: the run's deliveries and figures are committed", "not published: publishing"]


FLOW_CASES: dict[str, Callable[[Settings, pytest.MonkeyPatch], tuple[str, list[str]]]] = {
    "a healthy nightly completes": _flow_healthy,
    "stale: the nightly fails": _flow_stale,
    "stale: the backfill fails": _flow_stale_backfill,
    "a key mismatch": _flow_key_mismatch,
    "a rejected delivery": _flow_rejected,
    "a full disk when publishing": _flow_full_disk,
}


@pytest.mark.parametrize("case", list(FLOW_CASES))
def test_case11_the_prefect_flow_fails_visibly_when_status_finds_a_problem(
    prefect_api: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    from flows.backfill import backfill
    from flows.nightly import nightly

    s = settings_for(tmp_path)
    for name, value in {
        "PIPELINE_RAW_DIR": s.raw_dir,
        "PIPELINE_WAREHOUSE": s.warehouse,
        "PIPELINE_PII_KEY": PII_KEY,
        "PIPELINE_WORKERS": "1",
        "PIPELINE_RARE_BELOW": "1",
    }.items():
        monkeypatch.setenv(name, str(value))
    kind, expected = FLOW_CASES[case](s, monkeypatch)
    state = (nightly if kind == "nightly" else backfill)(return_state=True)
    artifact = _artifacts_of(state.state_details.flow_run_id)
    if not expected:
        assert state.is_completed(), state
        assert "deliveries processed | 1" in artifact and "Problems" not in artifact, artifact
        return
    assert state.is_failed(), state
    assert "## Problems (pipeline status)" in artifact, artifact
    for text in expected:
        assert text in artifact, artifact
        assert text in str(state.message) or any(text in p for p in artifact.split("\n- ")), state.message
