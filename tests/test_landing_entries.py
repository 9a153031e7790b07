"""What a run makes of the landing folder's entries (docs/operations.md, "the landing folder"): one bad
entry (a name that is not UTF-8, a dangling link, a link loop, a named pipe) never blocks a night; a
folder is trusted no more than needed (links outside it, a delivery overwritten, removed, appended to
while read, or withdrawn); files that are not deliveries are reported on every nightly."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from pipeline.core.settings import Settings
from tests.sources.telefonie.lines import CALL_HEADER, call, calls_counted
from tests.support.cli import cli, cli_process, problems
from tests.support.deliveries import PII_KEY, settings_for, write
from tests.support.published import rows, view_contents

# --- one bad entry never blocks a night -----------------------------------------------------------


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


@pytest.mark.slow
def test_one_bad_entry_never_blocks_a_night(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    write_bad_entries(s.raw_dir)
    done = cli_process("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse, timeout=120)  # a hang fails here
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
    again = cli_process("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse, timeout=120)
    assert again.returncode == 0, again.stderr
    assert sorted(again.stderr.strip().splitlines()[1:]) == sorted(entries)
    assert again.stderr.startswith("nightly: 0 deliveries processed, 0 rejected, 1 ignored, 3 skipped")


# --- the landing folder is trusted no more than needed --------------------------------------------


def _ledger(s: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    """The state database's deliveries ledger, per (path, content)."""
    con = duckdb.connect(str(s.state_db), read_only=True)
    try:
        found = con.sql("SELECT * FROM leveringen").pl().to_dicts()
    finally:
        con.close()
    return {(r["bestand"], r["sha256"]): r for r in found}


def _figures(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
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
    assert calls_counted(s.warehouse) == 1
    counted = [sha for (_, sha), r in _ledger(s).items() if r["status"] == "verwerkt"]
    assert len(counted) == 1
    assert _archived(s, counted[0])["veld:gesprek_id"].to_list() == ["here"]
    packs = [pl.read_parquet(p)["levering"] for p in s.archive_dir.rglob("*.parquet")]
    assert sorted(set(pl.concat(packs).to_list())) == counted  # neither /etc/passwd nor the other delivery
    done = cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert done.returncode == 0 and calls_counted(s.warehouse) == 1


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
        assert _figures(s.warehouse) == accepted and calls_counted(s.warehouse) == 2
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
        assert _figures(s.warehouse) == both and calls_counted(s.warehouse) == 2
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
    assert calls_counted(s.warehouse) == counted["rijen"] == path.read_bytes().count(b"\n") - 1
    skipped = [line for line in during.stderr.splitlines() if line.startswith("  skipped")]
    assert skipped in (
        [],
        ["  skipped telefonie/telefonie_20200107.csv: changed while being read; it is read again on the next run"],
    )


def _withdrawn(s: Settings, tmp_path: Path) -> None:
    write(s.raw_dir / "telefonie/telefonie_20200107.csv", CALL_HEADER, [call("c1", "2020-01-06T10:00:00+01:00")])
    bad = write(s.raw_dir / "telefonie/telefonie_20200108.csv", CALL_HEADER, [call("c2", "2020-01-07T10:00:00+01:00")])
    assert cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse).returncode == 0
    assert calls_counted(s.warehouse) == 2
    reason = "test calls of the supplier, not real ones (ticket 4711)"
    done = cli("withdraw", "--warehouse", s.warehouse, "--file", "telefonie/telefonie_20200108.csv", "--reason", reason)
    assert done.returncode == 0, done.stderr
    assert calls_counted(s.warehouse) == 1
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
        assert calls_counted(s.warehouse) == 1, kind
        assert (
            "  withdrawn telefonie/telefonie_20200108.csv: withdrawn delivery: not counted" in done.stderr.splitlines()
        )
    # New content under the same name is a new delivery: it counts.
    write(bad, CALL_HEADER, [call("c2-real", "2020-01-07T10:00:00+01:00"), call("c3", "2020-01-07T11:00:00+01:00")])
    assert cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse).returncode == 0
    assert calls_counted(s.warehouse) == 3


LANDING_CASES: dict[str, Callable[[Settings, Path], None]] = {
    "links outside the folder are not read": _links_outside,
    "a delivery overwritten by an empty file": _overwritten_by_an_empty_file,
    "a delivery removed from the folder": _removed_from_the_folder,
    "a file appended while it is read": _appended_while_read,
    "a withdrawn delivery": _withdrawn,
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(LANDING_CASES))
def test_the_landing_folder_is_trusted_no_more_than_needed(tmp_path: Path, case: str) -> None:
    s = settings_for(tmp_path)
    s.raw_dir.mkdir(parents=True)
    LANDING_CASES[case](s, tmp_path)


# --- files that are not deliveries are reported on every nightly ----------------------------------


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


@pytest.mark.slow
def test_files_that_are_not_deliveries_are_reported_on_every_nightly(tmp_path: Path) -> None:
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
