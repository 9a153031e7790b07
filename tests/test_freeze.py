"""Adopted figures stay adopted (`pipeline freeze`, issue 4 part 6).

A year is adopted with its figures, the deliveries behind them (sha256 of every processed delivery)
and the code version. A later run that computes the year differently never changes the adopted
values silently: `verschillen_vastgesteld` lists the difference, `pipeline status` and the run's
summary say so, and the report shows the adopted figure with a mark and the current one beside it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.locking import WriterBusy, writer_lock
from pipeline.core.settings import Settings
from pipeline.run import freeze
from tests.sources.afspraken.lines import APPT_HEADER_NO_PII
from tests.sources.telefonie.lines import CALL_HEADER_NO_PII
from tests.support import deliveries
from tests.support.deliveries import file_sha256


@dataclass
class Landing(deliveries.Landing):
    """The shared landing folder, with whole days of deliveries and plain reads of the warehouse."""

    def settings(self, max_invalid_share: float = 0.05, **extra: Any) -> Settings:
        return super().settings(max_invalid_share).model_copy(update=extra)

    def calls_on(self, rel: str, day: dt.date, n: int, prefix: str, answered_every: int = 10) -> Path:
        lines = []
        for i in range(n):
            nummer, keuze = ("14030", "Utrecht") if i % 4 else ("0302860000", "")
            outcome = "verbroken" if i % answered_every == 0 else "beantwoord"
            duur = 90 if outcome == "beantwoord" else 0
            lines.append(
                f"{prefix}{i};{day.isoformat()}T10:{i % 60:02d}:00Z;{nummer};{keuze};Algemeen;{outcome};20;{duur}"
            )
        return self.csv(rel, *lines, header=CALL_HEADER_NO_PII)

    def visits_on(self, rel: str, day: dt.date, n: int, prefix: str) -> Path:
        lines = [
            f"{prefix}{i};Stadskantoor;balie;Paspoort;{day:%d-%m-%Y};10:00;verschenen;{day.isoformat()}T18:00:00+01:00"
            for i in range(n)
        ]
        return self.csv(rel, *lines, header=APPT_HEADER_NO_PII)

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def year(self, jaar: int) -> dict[str, Any]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            cursor = con.execute("SELECT * FROM kerncijfers WHERE jaar = ?", [jaar])
            names = [d[0] for d in cursor.description]
            return dict(zip(names, cursor.fetchall()[0], strict=True))
        finally:
            con.close()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Landing:
    here = Landing(tmp_path_factory.mktemp("published"))
    here.calls_on("telefonie/telefonie_20190302.csv", dt.date(2019, 3, 1), 40, "a")
    here.visits_on("afspraken/afspraken_20190302.csv", dt.date(2019, 3, 1), 20, "p")
    here.calls_on("telefonie/telefonie_20200302.csv", dt.date(2020, 3, 2), 50, "b")
    here.visits_on("afspraken/afspraken_20200303.csv", dt.date(2020, 3, 2), 12, "q")
    # A delivery that lacks a required column is rejected whole: it is no part of the manifest.
    here.csv("telefonie/telefonie_20200304.csv", "x1;2020-03-03T10:00:00Z;14030", header="gesprek_id;starttijd;nummer")
    assert here.run().summary.status == "voltooid"
    return here


@pytest.fixture
def landing(published: Landing, tmp_path: Path) -> Landing:
    """A copy of the published landing folder, state and warehouse for one test to change."""
    shutil.copytree(published.root, tmp_path / "copy")
    return Landing(tmp_path / "copy")


def test_freeze_records_the_figures_the_deliveries_and_the_code(landing: Landing) -> None:
    adopted = freeze.freeze(landing.settings(), 2020)

    figures = landing.year(2020)
    frozen = dict(landing.query("SELECT cijfer, vastgesteld FROM vastgestelde_cijfers WHERE jaar = 2020"))
    assert set(frozen) == set(figures) - {"jaar"}
    assert all(
        frozen[name] == (None if value is None else float(value)) for name, value in figures.items() if name in frozen
    )
    assert frozen["telefoontjes_gemeente"] == 50 and frozen["baliebezoeken_met_afspraak"] == 12

    processed = sorted(p.relative_to(landing.raw).as_posix() for p in landing.raw.rglob("*.csv"))
    processed.remove("telefonie/telefonie_20200304.csv")  # rejected: not a delivery the figures use
    manifest = landing.query("SELECT bestand, sha256 FROM vastgestelde_leveringen WHERE jaar = 2020 ORDER BY bestand")
    assert manifest == [(name, file_sha256(landing.raw / name)) for name in processed]
    lines = "".join(f"{file_sha256(landing.raw / name)}  {name}\n" for name in processed)

    ((when, count, n_files, digest, version, commit),) = landing.query(
        "SELECT vastgesteld_op, aantal_cijfers, aantal_leveringen, manifest_sha256, pakketversie, git_commit "
        "FROM vaststellingen"
    )
    assert digest == adopted.manifest_sha256 == hashlib.sha256(lines.encode()).hexdigest()
    assert n_files == len(processed) == 4
    assert count == sum(v is not None for v in frozen.values())
    assert version == metadata.version("pipeline")
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent)
    assert commit == (head.stdout.strip() if head.returncode == 0 else None)
    assert abs(when - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert landing.query("SELECT * FROM verschillen_vastgesteld") == []


@pytest.mark.slow
def test_later_runs_never_silently_change_an_adopted_year(landing: Landing) -> None:
    freeze.freeze(landing.settings(), 2020)
    # A correction arrives: five more calls on 2 March 2020, two of them not answered.
    landing.calls_on("telefonie/telefonie_20200310_correctie.csv", dt.date(2020, 3, 2), 5, "late", answered_every=3)
    summary = landing.run("nightly").summary
    assert summary.status == "voltooid"

    assert landing.year(2020)["telefoontjes_gemeente"] == 55, "the warehouse computes the year anew"
    assert landing.query("SELECT vastgesteld FROM vastgestelde_cijfers WHERE cijfer = 'telefoontjes_gemeente'") == [
        (50.0,)
    ], "the adopted value stays"
    differences = {r[1]: r for r in landing.query("SELECT * FROM verschillen_vastgesteld")}
    assert differences["telefoontjes_gemeente"][:5] == (2020, "telefoontjes_gemeente", 50.0, 55.0, 5.0)
    assert differences["telefoontjes_14030"][2:5] == (37.0, 40.0, 3.0)
    assert "baliebezoeken_met_afspraak" not in differences
    assert all(r[0] == 2020 for r in differences.values())

    runner = CliRunner()
    status = runner.invoke(app, ["status", "--warehouse", str(landing.warehouse)])
    assert "adopted figures 2020" in status.output and "telefoontjes_gemeente 50 -> 55" in status.output

    report = runner.invoke(app, ["report", "--warehouse", str(landing.warehouse), "--format", "markdown"])
    assert report.exit_code == 0, report.output
    assert "| aantal telefoontjes naar gemeente | 40 | 50 † |" in report.output, "the report shows the adopted figure"
    assert "vastgesteld 50, de huidige leveringen geven 55" in report.output

    # Adopting again takes today's figures; then nothing differs any more.
    again = runner.invoke(app, ["freeze", "--year", "2020", "--warehouse", str(landing.warehouse), "--replace"])
    assert again.exit_code == 0, again.output
    assert landing.query("SELECT * FROM verschillen_vastgesteld") == []


@pytest.mark.slow
def test_freeze_refuses_a_second_time_and_a_year_without_figures(landing: Landing) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["freeze", "--year", "2019", "--warehouse", str(landing.warehouse)])
    assert first.exit_code == 0, first.output
    assert "2019 adopted" in first.output
    second = runner.invoke(app, ["freeze", "--year", "2019", "--warehouse", str(landing.warehouse)])
    assert second.exit_code == 1 and "--replace" in second.output
    none = runner.invoke(app, ["freeze", "--year", "2016", "--warehouse", str(landing.warehouse)])
    assert none.exit_code == 1 and "no figures for 2016" in none.output
    assert landing.query("SELECT jaar FROM vaststellingen") == [(2019,)]


def test_freeze_takes_the_writer_lock(landing: Landing) -> None:
    settings = landing.settings(lock_timeout_s=0.3)
    published = file_sha256(landing.warehouse)
    with writer_lock(settings), pytest.raises(WriterBusy):
        freeze.freeze(settings, 2020)
    assert file_sha256(landing.warehouse) == published
    assert freeze.freeze(settings, 2020).jaar == 2020
