"""End to end: sample deliveries for the published targets give the published table exactly."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import run as jobs
from pipeline.sample import generate
from tests.conftest import rows, settings_for

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference" / "kerncijfers_utrecht_2017_2020.csv"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("e2e")
    s = settings_for(tmp)
    generate(REFERENCE, s.raw_dir, seed=2020)
    summary = jobs.run(s, "backfill")
    assert summary.rejected == 0 and summary.rows_quarantined > 0
    return s.warehouse


def test_the_published_table_is_reproduced_exactly(published: Path) -> None:
    with REFERENCE.open(newline="") as handle:
        expected = [{k: int(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    columns = ", ".join(expected[0])
    assert rows(published, f"SELECT {columns} FROM kerncijfers ORDER BY jaar") == expected


def test_the_statements_of_the_report(published: Path) -> None:
    by_year = {r["jaar"]: r for r in rows(published, "SELECT * FROM kerncijfers")}
    assert by_year[2020]["baliebezoeken_verandering_pct"] == -38
    assert by_year[2020]["telefoontjes_verandering_pct"] == 2
    assert (by_year[2019]["aandeel_14030_pct"], by_year[2020]["aandeel_14030_pct"]) == (66, 73)
    assert by_year[2020]["telefoontjes_per_dag"] == 831  # 304196 / 366 days
    assert by_year[2017]["baliebezoeken_verandering_pct"] is None


def test_days_and_months_add_up_to_the_years(published: Path) -> None:
    for column in (
        "baliebezoeken_met_afspraak",
        "telefoontjes_gemeente",
        "telefoontjes_14030",
        "telefoontjes_beantwoord",
    ):
        per_year = {r["jaar"]: r["n"] for r in rows(published, f"SELECT jaar, {column} AS n FROM kerncijfers")}
        months = rows(published, f"SELECT jaar, sum({column}) AS n FROM kerncijfers_maand GROUP BY jaar")
        days = rows(published, f"SELECT jaar, sum({column}) AS n FROM kerncijfers_dag GROUP BY jaar")
        assert {r["jaar"]: r["n"] for r in months if r["jaar"] in per_year} == per_year
        assert {r["jaar"]: r["n"] for r in days if r["jaar"] in per_year} == per_year


def test_the_2020_lockdown_dip_and_tozo_peak_show_per_month(published: Path) -> None:
    month = {
        (r["jaar"], r["maand"]): r
        for r in rows(
            published, "SELECT jaar, maand, baliebezoeken_met_afspraak, telefoontjes_gemeente FROM kerncijfers_maand"
        )
    }
    assert month[(2020, 4)]["baliebezoeken_met_afspraak"] < month[(2019, 4)]["baliebezoeken_met_afspraak"] / 5
    assert month[(2020, 4)]["telefoontjes_gemeente"] > month[(2019, 4)]["telefoontjes_gemeente"] * 1.3


def test_the_cli_report_prints_dutch_numbers(published: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "report", "--warehouse", str(published), "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "kerncijfer,2017,2018,2019,2020"
    assert lines[1] == "aantal baliebezoeken* met afspraak,291.215,294.794,237.660,146.695"
    assert lines[4] == "% telefonische bereikbaarheid,90,90,88,88"
