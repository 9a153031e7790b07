"""The package installs anywhere: its wheel, in a fresh virtual environment outside the checkout, with
the dependencies pinned by uv.lock, generates deliveries, backfills them and publishes the figures.

SQL files and the report template are read with `importlib.resources`, so they must be package data
in the wheel; nothing may be read from the working directory or the checkout. The steps use uv's
cache, which `make setup` has filled: offline first (seconds), online only if the cache lacks
something. Measured on 2 loaded cores: build 1 s, environment and install 1-4 s, generate 5-10 s,
backfill 10-30 s (most of it starting the reading processes), html report 5-13 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from tests.support.deliveries import PII_KEY

pytestmark = pytest.mark.external

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"src/pipeline": "pipeline", "schemas": "schemas", "flows": "flows"}
SECTION = "Paspoort thuisbezorgd en digitaal geboorteaangifte"
TARGETS = {
    "baliebezoeken_met_afspraak": 120,
    "telefoontjes_gemeente": 200,
    "telefoontjes_14030": 150,
    "bereikbaarheid_pct": 90,
    "reisdocumenten_thuisbezorgd": 30,
    "geboorteaangiften_digitaal": 12,
}


def _uv() -> str:
    found = Path(sys.executable).with_name("uv")
    return str(found) if found.exists() else str(shutil.which("uv"))


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _uv_cached(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """A uv command from the cache alone, else (a cold cache) with the package index."""
    done = _run([_uv(), *args, "--offline"], cwd)
    if done.returncode != 0:
        done = _run([_uv(), *args], cwd)
    assert done.returncode == 0, done.stderr
    return done


def _clean_env() -> dict[str, str]:
    """The environment of a shell that has never seen the checkout: no virtual environment, no
    PYTHONPATH, no pipeline settings but the key."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not k.startswith("PIPELINE_")
    }
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT)))
    env["PIPELINE_PII_KEY"] = PII_KEY
    return env


@dataclass
class Installed:
    wheel: Path
    venv: Path
    work: Path
    env: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)

    def pipeline(self, *args: str) -> subprocess.CompletedProcess[str]:
        started = time.perf_counter()
        done = _run([str(self.venv / "bin" / "pipeline"), *args], self.work, self.env)
        self.seconds[args[0]] = round(time.perf_counter() - started, 1)
        assert done.returncode == 0, done.stderr
        return done


def _git_status() -> str | None:
    if shutil.which("git") is None:
        return None
    done = _run(["git", "status", "--porcelain", "--untracked-files=all"], ROOT)
    return done.stdout if done.returncode == 0 else None


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    tmp = tmp_path_factory.mktemp("wheel")
    assert ROOT not in tmp.resolve().parents, "the environment must be outside the checkout"
    before = _git_status()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    _uv_cached(["build", "--wheel", "--out-dir", str(tmp / "dist"), str(ROOT)], tmp)
    (wheel,) = (tmp / "dist").glob("*.whl")
    seconds["build"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    requirements = tmp / "requirements.txt"
    pinned = ["--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "--project", str(ROOT)]
    _uv_cached(["export", *pinned, "--output-file", str(requirements), "--quiet"], tmp)
    venv = tmp / "venv"
    _uv_cached(["venv", "--quiet", "--python", sys.executable, str(venv)], tmp)
    python = str(venv / "bin" / "python")
    _uv_cached(["pip", "install", "--quiet", "--python", python, "-r", str(requirements), str(wheel)], tmp)
    seconds["install"] = round(time.perf_counter() - started, 1)

    work = tmp / "elsewhere"
    work.mkdir()
    yield Installed(wheel, venv, work, _clean_env(), seconds)
    # Building and installing leave the checkout as it was (no build/ or dist/ folders in it).
    assert _git_status() == before


@pytest.fixture(scope="module")
def published(installed: Installed) -> Installed:
    targets = installed.work / "targets.csv"
    targets.write_text(
        ",".join(("jaar", *TARGETS)) + "\n" + ",".join(map(str, (2020, *TARGETS.values()))) + "\n", encoding="utf-8"
    )
    installed.pipeline("generate", "--targets", "targets.csv", "--out", "raw")
    installed.pipeline("backfill", "--raw", "raw", "--warehouse", "wh/kerncijfers.duckdb")
    installed.pipeline("report", "--warehouse", "wh/kerncijfers.duckdb", "--format", "html", "--out", "verslag.html")
    print("seconds per step:", installed.seconds)  # shown with pytest -rP
    return installed


def _package_files() -> set[str]:
    """Every file of the three packages in the checkout, by its path inside the wheel."""
    return {
        f"{target}/{path.relative_to(ROOT / source).as_posix()}"
        for source, target in PACKAGES.items()
        for path in (ROOT / source).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_the_wheel_holds_every_file_of_its_packages_sql_and_templates_included(installed: Installed) -> None:
    expected = _package_files()
    data = {name for name in expected if not name.endswith(".py")}
    assert {
        "pipeline/run/state.sql",
        "pipeline/publish/publish.sql",
        "pipeline/report/templates/report.html.j2",
    } <= data
    assert {f"pipeline/sources/{name}/views.sql" for name in ("afspraken", "telefonie", "zaken")} <= data
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    assert {n for n in names if ".dist-info/" not in n} == expected
    # nothing beside the three packages and the metadata (no tests, no reference tables)
    assert {n.split("/")[0] for n in names} == {*PACKAGES.values(), "pipeline-0.1.0.dist-info"}


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    done = _run(
        [str(installed.venv / "bin" / "python"), "-c", "import pipeline, schemas, flows; print(pipeline.__file__)"],
        installed.work,
        installed.env,
    )
    assert done.returncode == 0, done.stderr
    where = Path(done.stdout.strip()).resolve()
    assert installed.venv.resolve() in where.parents and ROOT not in where.parents


def test_generate_backfill_and_report_outside_the_checkout(published: Installed) -> None:
    warehouse = published.work / "wh" / "kerncijfers.duckdb"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = ", ".join(TARGETS)
        row = con.execute(f"SELECT {names} FROM kerncijfers WHERE jaar = 2020").fetchall()
        # every source's views (SQL beside its module) are there and filled
        breakdown = {
            view: con.execute(f"SELECT sum(aantal) FROM {view}").fetchone()
            for view in ("telefonie_uitsplitsing", "afspraken_uitsplitsing", "zaken_uitsplitsing")
        }
    finally:
        con.close()
    assert row == [tuple(TARGETS.values())]
    assert all(total is not None and total[0] > 0 for total in breakdown.values()), breakdown
    page = (published.work / "verslag.html").read_text(encoding="utf-8")
    assert SECTION in page and "<svg" in page
    # what the run kept beside the warehouse stays beside it, not in the checkout or the working directory
    assert sorted(p.name for p in published.work.iterdir()) == ["raw", "targets.csv", "verslag.html", "wh"]
