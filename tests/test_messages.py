"""Messages that do not mislead (docs/operations.md, "messages"): each failure an operator meets is
said in one line naming its cause (UTF-16, a huge field, a landing path that is a file, a full disk
after the commit, a file that is not a warehouse, a missing folder or warehouse), and leaves no file
behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from pipeline.core.ledger_values import TOO_LONG
from pipeline.core.settings import Settings
from tests.sources.telefonie.lines import CALL_HEADER, call, calls_counted
from tests.support.cli import cli, one_line, problems
from tests.support.deliveries import settings_for, write
from tests.support.faults import NO_SPACE, cli_with_full_disk
from tests.support.published import rows


def files_below(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


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
    assert calls_counted(s.warehouse) == 1


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


@pytest.mark.slow
@pytest.mark.parametrize("case", list(MESSAGE_CASES))
def test_messages_that_do_not_mislead(tmp_path: Path, case: str) -> None:
    s = settings_for(tmp_path)
    s.raw_dir.mkdir(parents=True)
    MESSAGE_CASES[case](s, tmp_path)
