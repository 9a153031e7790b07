"""What the pipeline keeps on disk, and what becomes of it when things go wrong (issue 15, items 4, 7, 8
and the run layer's part of 9): the archive without personal data in clear, retention in the archive,
a lost state database noticed and rebuilt from the archive, every run seen (real `kill -9` of the
`pipeline` command at several points), a rejection kept across backfills, archive damage named and
repaired, and a full disk while publishing named (a real, small file system).

Real files, a real DuckDB, the real `pipeline` command (in this process, and in a process of its own
where it is killed).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from pipeline.core.settings import Settings
from tests.sources.telefonie.lines import CALL_HEADER, call
from tests.support.cli import ROOT, Done, cli, environment, one_line, problems
from tests.support.deliveries import PII_KEY, file_sha256, settings_for, write
from tests.support.published import rows, view_contents

CALLER = "0611122233"
OTHER_CALLER = "0677788899"


def _calls(raw: Path, day: dt.date, count: int, prefix: str, caller: str = CALLER) -> Path:
    """`count` answered Utrecht calls on `day`, delivered the next day in one file."""
    return write(
        raw / f"telefonie/telefonie_{day + dt.timedelta(days=1):%Y%m%d}.csv",
        CALL_HEADER,
        [
            call(f"{prefix}{i}", f"{day.isoformat()}T{8 + i // 60:02d}:{i % 60:02d}:00+01:00", beller=caller)
            for i in range(count)
        ],
    )


FIGURES = "SELECT jaar, telefoontjes_gemeente, herhaalbellers_7d FROM kerncijfers ORDER BY jaar"


def _ok(done: Done) -> Done:
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _calls_2020(warehouse: Path) -> int:
    found = rows(warehouse, "SELECT telefoontjes_gemeente AS n FROM kerncijfers WHERE jaar = 2020")
    return int(found[0]["n"]) if found else 0


def files_of(s: Settings) -> dict[str, list[str]]:
    """The files the pipeline keeps beside the warehouse, per folder."""
    found = {}
    for folder in (s.versions_dir, s.archive_dir):
        found[folder.name] = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return found


def named_files(s: Settings) -> dict[str, list[str]]:
    """The files the state database names: staged files in `partities`, packs in the ledger."""
    con = duckdb.connect(str(s.state_db), read_only=True)
    try:
        staged = sorted(p for (p,) in con.execute("SELECT bestand FROM partities").fetchall())
        packs = sorted(
            {p for (p,) in con.execute("SELECT archief FROM leveringen WHERE archief IS NOT NULL").fetchall()}
        )
    finally:
        con.close()
    return {s.versions_dir.name: staged, s.archive_dir.name: sorted([*packs, "manifest.json"])}


def parquet_text(folder: Path) -> str:
    """Every value, column name and metadata text of every Parquet file below `folder`, and its JSON."""
    parts: list[str] = []
    for path in sorted(folder.rglob("*.parquet")):
        frame = pl.read_parquet(path)
        parts.append(" ".join(frame.columns))
        parts.extend(pl.read_parquet_metadata(path).values())
        parts.extend(repr(v) for column in frame.columns for v in frame[column].to_list())
    parts.extend(p.read_text(errors="replace") for p in folder.rglob("*.json"))
    return "\n".join(parts)


def raw_bytes(folder: Path) -> bytes:
    """The bytes of every file below `folder` (what `grep -a` searches)."""
    return b"\n".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


# ---------------------------------------------------------------------------------------------
# Item 4: the archive holds no personal data in clear, and retention applies to it
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_archive_keeps_every_field_but_no_personal_value_in_clear(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    header = CALL_HEADER + ";notitie"
    lines = [call(f"c{i}", "2020-03-16T09:00:00+01:00", beller=CALLER) + ";gewoon" for i in range(40)]
    lines += [
        call("q1", "2020-03-16T10:00:00+01:00", wachtrij="06-12345678", beller=OTHER_CALLER) + ";x",  # free text
        call("q2", "2020-03-16T10:01:00+01:00", nummer="0687654321") + ";x",  # an invalid value
        call("q3", "2020-03-16T10:02:00+01:00") + ";bel jan.jansen@example.nl terug",  # an extra column
        "r1;2020-03-16T10:03:00+01:00;14030;0699988877",  # a ragged record
    ]
    write(s.raw_dir / "telefonie/telefonie_20200317.csv", header, lines)
    _ok(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    personal = (CALLER, OTHER_CALLER, "06-12345678", "0687654321", "jan.jansen@example.nl", "0699988877")
    decoded = parquet_text(s.archive_dir) + parquet_text(s.versions_dir)
    stored = raw_bytes(s.warehouse.parent)
    for value in personal:
        assert value not in decoded, value
        assert value.encode() not in stored, value
    # Everything else is there, as delivered: the extra column, the ragged record's other fields.
    assert "gewoon" in decoded and "'r1'" in decoded
    before = view_contents(s.warehouse)
    # The archive alone gives the same: remove the delivery from the landing folder and rebuild.
    (s.raw_dir / "telefonie/telefonie_20200317.csv").unlink()
    _ok(cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    after = view_contents(s.warehouse)
    assert {k: v for k, v in after.items() if k != "leveringen"} == {
        k: v for k, v in before.items() if k != "leveringen"
    }
    quarantined = rows(s.warehouse, "SELECT regel, kolom, waarde FROM quarantaine ORDER BY regel")
    assert [(r["regel"], r["kolom"]) for r in quarantined] == [(43, "nummer"), (45, None)]
    assert quarantined[0]["waarde"].startswith("[telefoonnummer #")


@pytest.mark.slow
def test_retention_erases_keyed_hashes_and_sealed_values_in_the_archive(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    recent = dt.date.today() - dt.timedelta(days=1)
    _calls(s.raw_dir, dt.date(2020, 1, 6), 3, "old", caller=CALLER)
    write(
        s.raw_dir / "telefonie/telefonie_20200108.csv",
        CALL_HEADER,
        [call("old-q", "2020-01-07T10:00:00+01:00", wachtrij="06-12345678", beller=CALLER) for _ in range(1)]
        + [call(f"old-r{i}", "2020-01-07T11:00:00+01:00", beller=CALLER) for i in range(30)],
    )
    _calls(s.raw_dir, recent, 2, "new", caller=OTHER_CALLER)
    _ok(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    figures = rows(s.warehouse, FIGURES)
    _ok(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_RETENTION_DAYS="30"))
    packs = pl.concat(
        [pl.read_parquet(p).with_columns(pl.lit(p.name).alias("_pack")) for p in s.archive_dir.rglob("*.parquet")],
        how="diagonal",
    )
    old = packs.filter(pl.col("veld:gesprek_id").str.starts_with("old"))
    new = packs.filter(pl.col("veld:gesprek_id").str.starts_with("new"))
    assert old["pseudoniem:beller_hash"].null_count() == old.height
    assert new["pseudoniem:beller_hash"].null_count() == 0
    sealed = old.filter(pl.col("soort:veld:wachtrij").is_not_null())
    assert sealed["soort:veld:wachtrij"].to_list() == ["telefoonnummer"]
    assert sealed["verzegeld:veld:wachtrij"].to_list() == [None]  # only the kind is left
    assert (
        rows(s.warehouse, "SELECT jaar, telefoontjes_gemeente, herhaalbellers_7d FROM kerncijfers ORDER BY jaar")
        == figures
    )
    # A backfill from the archive gives every figure again, except repeat callers past the horizon.
    _ok(cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_RETENTION_DAYS="30"))
    again = rows(s.warehouse, "SELECT jaar, telefoontjes_gemeente, herhaalbellers_7d FROM kerncijfers ORDER BY jaar")
    assert [(r["jaar"], r["telefoontjes_gemeente"]) for r in again] == [
        (r["jaar"], r["telefoontjes_gemeente"]) for r in figures
    ]
    assert again[0]["herhaalbellers_7d"] == 0 < figures[0]["herhaalbellers_7d"]


# ---------------------------------------------------------------------------------------------
# Item 7: a lost state database is noticed, and rebuilt from the archive on request
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_lost_state_database_is_refused_then_rebuilt_from_the_archive(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    day = dt.date(2020, 3, 2)
    for n in range(6):  # 141 calls: 135 in five files that stay, 6 in one that leaves the landing folder
        _calls(s.raw_dir, day + dt.timedelta(days=n), 6 if n == 0 else 27, f"d{n}-")
    _ok(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    assert _calls_2020(s.warehouse) == 141
    (s.raw_dir / f"telefonie/telefonie_{day + dt.timedelta(days=1):%Y%m%d}.csv").unlink()
    _ok(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    before = view_contents(s.warehouse, skip=("runs", "meldingen", "leveringen"))
    s.state_db.unlink()

    for kind in ("backfill", "nightly"):
        line = one_line(cli(kind, "--raw", s.raw_dir, "--warehouse", s.warehouse))
        assert "no state database" in line and "--rebuild-from-archive" in line and "an archive of 6 deliveries" in line
        assert not s.state_db.exists()
    assert _calls_2020(s.warehouse) == 141  # nothing was built over the published file

    done = _ok(cli("backfill", "--rebuild-from-archive", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    assert _calls_2020(s.warehouse) == 141
    assert view_contents(s.warehouse, skip=("runs", "meldingen", "leveringen")) == before
    assert "gone telefonie/telefonie_20200303.csv" in done.stderr
    # With a state database there is nothing to rebuild from the archive: a plain backfill does it.
    assert "--rebuild-from-archive is only for" in one_line(
        cli("backfill", "--rebuild-from-archive", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    )


# ---------------------------------------------------------------------------------------------
# Item 8: every run is seen; kill -9 at any point stays safe
# ---------------------------------------------------------------------------------------------

# The real command, with one named function made to stop and wait (before, or after it ran) so that
# the test can kill the process at that point with SIGKILL.
PAUSED = """
import importlib, os, sys, time
from pathlib import Path
where, name, when, marker = sys.argv[1:5]
module = importlib.import_module(where.split(":")[0])
owner = getattr(module, where.split(":")[1]) if ":" in where else module
original = getattr(owner, name)
def paused(*args, **kwargs):
    if when == "after":
        original(*args, **kwargs)
    Path(marker).write_text(str(os.getpid()))
    time.sleep(600)
setattr(owner, name, paused)
from pipeline.cli import app
sys.argv = ["pipeline", *sys.argv[5:]]
app()
"""

KILL_POINTS = {
    "while reading": ("pipeline.run.job", "read_chunk", "before"),
    "after reading, before the commit": ("pipeline.run.uow:UnitOfWork", "commit", "before"),
    "inside the commit's transaction": ("pipeline.run.uow", "record_run", "before"),
    "after the commit, before the manifest and the publish": ("pipeline.run.uow:UnitOfWork", "commit", "after"),
    "after the manifest, before publishing": ("pipeline.run.job", "_publish", "before"),
    "while publishing, its new file written": ("pipeline.publish.write", "_write", "after"),
}


def _killed(s: Settings, point: str, tmp_path: Path, *args: object) -> None:
    where, name, when = KILL_POINTS[point]
    marker = tmp_path / "paused"
    marker.unlink(missing_ok=True)
    child = subprocess.Popen(
        [sys.executable, "-c", PAUSED, where, name, when, str(marker), *map(str, args)],
        cwd=ROOT,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert child.poll() is None, f"the run ended before {point}"
        assert time.monotonic() < deadline, f"the run never reached {point}"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(60) == -signal.SIGKILL


SKIP = ("runs", "meldingen", "leveringen")


@pytest.fixture(scope="module")
def before_the_kill(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[tuple[Any, ...]]]]:
    """A backfilled landing folder and warehouse with the next night's deliveries waiting (a new file, and
    a changed one), and what that nightly publishes when nothing kills it. Each test kills a copy."""
    root = tmp_path_factory.mktemp("kill")
    s = settings_for(root)
    _calls(s.raw_dir, dt.date(2020, 3, 2), 30, "a")
    _ok(cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    _calls(s.raw_dir, dt.date(2020, 3, 3), 31, "b", caller=OTHER_CALLER)
    write(
        s.raw_dir / "telefonie/telefonie_20200303.csv",
        CALL_HEADER,
        [call("a0", "2020-03-02T10:00:00+01:00", afhandeling="verbroken")],
    )
    reference = settings_for(tmp_path_factory.mktemp("reference"))
    shutil.copytree(root, reference.raw_dir.parent, dirs_exist_ok=True)
    _ok(cli("nightly", "--raw", reference.raw_dir, "--warehouse", reference.warehouse))
    return root, view_contents(reference.warehouse, skip=SKIP)


@pytest.mark.slow
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_run_killed_at_any_point_is_seen_and_the_next_run_cleans_up(
    tmp_path: Path, point: str, before_the_kill: tuple[Path, dict[str, list[tuple[Any, ...]]]]
) -> None:
    ready, reference = before_the_kill
    shutil.copytree(ready, tmp_path / "killed")
    s = settings_for(tmp_path / "killed")
    published = s.warehouse.read_bytes()

    _killed(s, point, tmp_path, "nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    committed = point.startswith(("after the commit", "after the manifest", "while publishing"))
    if not point.startswith("while publishing"):
        assert s.warehouse.read_bytes() == published  # BI readers see the file as it was
    status = cli("status", "--warehouse", s.warehouse, "--today", "2020-03-05")
    found = problems(status.stdout)
    if committed:
        assert any("the state database holds run" in p and "it was not published" in p for p in found), found
    else:
        assert any("and never ended: it was killed" in p for p in found), found

    done = _ok(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    if not committed:
        assert "never ended" in done.stderr
        killed = rows(s.warehouse, "SELECT status, melding FROM runs ORDER BY gestart_op")[-2]
        assert killed["status"] == "afgebroken" and "found by run" in killed["melding"], killed
    assert view_contents(s.warehouse, skip=SKIP) == reference
    assert files_of(s) == named_files(s)  # no file a commit does not name is left behind
    assert not problems(cli("status", "--warehouse", s.warehouse, "--today", "2020-03-05").stdout)


# ---------------------------------------------------------------------------------------------
# Item 9: a rejection kept across backfills; archive damage named and repaired; a full disk named
# ---------------------------------------------------------------------------------------------


def _ledger(s: Settings) -> list[dict[str, Any]]:
    return rows(s.warehouse, "SELECT bestand, sha256, status, in_landingsmap FROM leveringen ORDER BY status")


@pytest.mark.slow
def test_a_rejected_redelivery_stays_in_the_ledger_across_backfills(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    path = _calls(s.raw_dir, dt.date(2020, 1, 6), 2, "c")
    accepted = file_sha256(path)
    _ok(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    path.write_bytes(b"")
    _ok(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    for kind in ("backfill", "backfill", "nightly", "backfill"):
        _ok(cli(kind, "--raw", s.raw_dir, "--warehouse", s.warehouse))
        assert _ledger(s) == [
            {
                "bestand": "telefonie/telefonie_20200107.csv",
                "sha256": file_sha256(path),
                "status": "afgewezen",
                "in_landingsmap": None,
            },
            {
                "bestand": "telefonie/telefonie_20200107.csv",
                "sha256": accepted,
                "status": "verwerkt",
                "in_landingsmap": False,
            },
        ], kind
        assert _calls_2020(s.warehouse) == 2


@pytest.mark.slow
def test_archive_damage_names_the_pack_and_the_delivery_and_is_repaired_from_an_identical_copy(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    kept = _calls(s.raw_dir, dt.date(2020, 1, 6), 3, "a")
    gone = _calls(s.raw_dir, dt.date(2020, 1, 7), 4, "b")
    _ok(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    (pack,) = list(s.archive_dir.rglob("*.parquet"))
    os.chmod(pack, 0o600)
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pack.write_bytes(bytes(data))

    # With both files still delivered, a backfill repairs the pack from them and says so.
    done = _ok(cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    assert f"repaired {kept.relative_to(s.raw_dir).as_posix()}: archive pack {pack}" in done.stderr.replace("\n", "")
    assert _calls_2020(s.warehouse) == 7
    _ok(cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse))  # the new pack reads

    # Damaged again, and one delivery is no longer in the landing folder: the backfill names both.
    (pack,) = list(s.archive_dir.rglob("*.parquet"))
    os.chmod(pack, 0o600)
    pack.write_bytes(pack.read_bytes()[:-100])
    gone.unlink()
    line = one_line(cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    assert f"archive pack {pack} is damaged" in line
    assert gone.relative_to(s.raw_dir).as_posix() in line and "no identical copy" in line
    assert _calls_2020(s.warehouse) == 7  # the published figures are as they were


@pytest.fixture
def small_disk(tmp_path: Path) -> Path:
    """A real 16 MB file system (tmpfs), for a disk that fills up; root only."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    where = tmp_path / "klein"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.mark.slow
def test_a_full_disk_while_publishing_says_so(tmp_path: Path, small_disk: Path) -> None:
    s = Settings(raw_dir=tmp_path / "raw", warehouse=small_disk / "w.duckdb", pii_key=PII_KEY, workers=1, rare_below=1)
    _calls(s.raw_dir, dt.date(2020, 1, 6), 30, "a")
    _ok(cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    _calls(s.raw_dir, dt.date(2020, 1, 7), 30, "b")
    filler = small_disk / "vulling"
    # Fill the disk until what is left holds the commit but not a new published file.
    free = shutil.disk_usage(small_disk).free
    filler.write_bytes(b"\0" * max(0, free - s.warehouse.stat().st_size // 2))
    done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    line = one_line(done)
    assert "the disk is full" in line and "publishing" in line, line
    assert "CHECKPOINT" not in line
    filler.unlink()
    _ok(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    assert _calls_2020(s.warehouse) == 60


@pytest.mark.slow
def test_an_archive_of_the_earlier_layout_is_converted_by_a_backfill_and_its_clear_bytes_removed(
    tmp_path: Path,
) -> None:
    import zstandard

    s = settings_for(tmp_path)
    path = _calls(s.raw_dir, dt.date(2020, 1, 6), 3, "a")
    _ok(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    before = view_contents(s.warehouse, skip=("runs", "meldingen", "leveringen"))
    # What layout 3 kept: the delivered bytes as a zstd blob, staged versions in a table, no packs.
    sha = file_sha256(path)
    blob = s.archive_dir / sha[:2] / f"{sha}.zst"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(zstandard.ZstdCompressor(level=-3).compress(path.read_bytes()))
    shutil.rmtree(s.versions_dir)
    for pack in s.archive_dir.rglob("*.parquet"):
        pack.unlink()
    con = duckdb.connect(str(s.state_db))
    try:
        con.execute("UPDATE leveringen SET archief = NULL, archief_sha256 = NULL")
        con.execute("ALTER TABLE leveringen DROP COLUMN archief")
        con.execute("ALTER TABLE leveringen DROP COLUMN archief_sha256")
        con.execute("ALTER TABLE leveringen DROP COLUMN archief_gewist_tot")
        con.execute("DELETE FROM partities")
        con.execute("DROP VIEW telefonie_versies")
        con.execute("CREATE TABLE telefonie_versies AS SELECT 1 AS telt")
        con.execute("UPDATE meta SET waarde = '3' WHERE sleutel = 'schema_versie'")
    finally:
        con.close()
    path.unlink()  # only the old archive has it now

    assert "layout 3" in one_line(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    _ok(cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    assert view_contents(s.warehouse, skip=("runs", "meldingen", "leveringen")) == before
    assert not blob.exists()  # the delivered bytes in clear are gone, the pack holds the delivery
    assert sorted(p.suffix for p in s.archive_dir.rglob("*") if p.is_file()) == [".json", ".parquet"]
    assert CALLER.encode() not in raw_bytes(s.warehouse.parent)


@pytest.mark.slow
def test_a_missing_staged_file_is_named_and_a_backfill_stages_everything_anew(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    _calls(s.raw_dir, dt.date(2020, 1, 6), 3, "a")
    _ok(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    before = view_contents(s.warehouse, skip=("runs", "meldingen", "leveringen"))
    lost = next(s.versions_dir.rglob("*.parquet"))
    lost.unlink()
    line = one_line(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    assert "staged files the state database names are missing" in line and "pipeline backfill" in line
    _ok(cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    _ok(cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse))
    assert view_contents(s.warehouse, skip=("runs", "meldingen", "leveringen")) == before
