"""The `pipeline` command on its own: exit codes, messages on stderr, the report on stdout in Dutch
number format; wrong arguments and settings refused in one line before anything is touched. In this
process (Typer's runner), except one failure run as cron runs it, as a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from tests.sources.afspraken.lines import APPT_HEADER, appointment
from tests.sources.telefonie.lines import utrecht_calls
from tests.support.cli import cli
from tests.support.deliveries import PII_KEY, Landing


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("pipeline")
    env = {**os.environ, "PIPELINE_PII_KEY": PII_KEY}
    env.pop("COLUMNS", None)
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_cli_backfill_and_csv_report_in_dutch_number_format(landing: Landing) -> None:
    landing.csv("telefonie/telefonie_20200702.csv", *utrecht_calls(2020, 1234, answered=617))
    landing.csv(
        "afspraken/afspraken_20200316.csv",
        appointment("a1", "15-03-2020"),
        header=APPT_HEADER.replace("status", "toestand"),  # lacks 'status': rejected, the run still succeeds
    )
    done = cli("backfill", "--raw", landing.raw, "--warehouse", landing.warehouse, cwd=landing.root)
    assert done.returncode == 0, done.stderr
    assert "rejected" in done.stderr and "afspraken_20200316.csv" in done.stderr

    report = cli("report", "--warehouse", landing.warehouse, "--format", "csv", cwd=landing.root)
    assert report.returncode == 0, report.stderr
    lines = report.stdout.splitlines()
    assert lines[0] == "kerncijfer,2020"
    # 1234 calls -> '1.234'; 617/1234 = 50 %; 1234/366 = 3.37 -> 3; no visits -> '-'
    assert "aantal telefoontjes naar gemeente,1.234" in lines
    assert "aantal telefoontjes via 14030,1.234" in lines
    assert "% telefonische bereikbaarheid,50" in lines
    assert "telefoontjes per dag,3" in lines
    assert "aantal baliebezoeken* met afspraak,-" in lines


def test_cli_missing_landing_folder_fails_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "landingsmap-die-er-niet-is" / "nog-een-map" / "raw"
    done = _cli("backfill", "--raw", str(missing), "--warehouse", str(tmp_path / "wh" / "w.duckdb"), cwd=tmp_path)
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert str(missing) in lines[0] and "does not exist" in lines[0]
    assert not (tmp_path / "wh" / "w.duckdb").exists()


def test_backfill_from_after_to_is_refused_before_anything_is_touched(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh" / "w.duckdb"
    raw = tmp_path / "raw"
    raw.mkdir()
    done = CliRunner().invoke(
        app, ["backfill", "--raw", str(raw), "--warehouse", str(warehouse), "--from", "2021", "--to", "2020"]
    )
    assert done.exit_code == 1
    assert "--from 2021 is after --to 2020" in done.output
    assert not warehouse.parent.exists()


def test_a_bad_setting_is_named_in_one_line(tmp_path: Path) -> None:
    done = CliRunner().invoke(
        app,
        ["backfill", "--raw", str(tmp_path), "--warehouse", str(tmp_path / "w.duckdb")],
        env={"PIPELINE_MAX_INVALID_SHARE": "veel", "PIPELINE_PII_KEY": PII_KEY},
    )
    assert done.exit_code == 1
    assert done.output.strip().startswith("pipeline: setting PIPELINE_MAX_INVALID_SHARE:")
    assert len(done.output.strip().splitlines()) == 1


def test_generate_refuses_a_bad_targets_table_naming_file_and_line(tmp_path: Path) -> None:
    targets = tmp_path / "doelen.csv"
    targets.write_text("jaar,reisdocumenten_thuisbezorgd,geboorteaangiften_digitaal\n2020,veel,3\n", encoding="utf-8")
    done = CliRunner().invoke(app, ["generate", "--targets", str(targets), "--out", str(tmp_path / "raw")])
    assert done.exit_code == 1
    assert f"{targets}:2: reisdocumenten_thuisbezorgd must be a whole number" in done.output.replace("\n", "")
    assert not (tmp_path / "raw").exists()
