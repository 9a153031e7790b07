"""BI clients older than DuckDB 2.0, and in JavaScript, read the published file as our DuckDB does (issue 14).

A file in DuckDB 2.0's own storage format is refused by every 1.x client (Python, @duckdb/node-api,
WASM, the JDBC/ODBC drivers of BI tools): "version number 69 ... we can only read 64-68". The file is
published in the storage version `PIPELINE_STORAGE_VERSION` (v1.0.0 by default), and these tests
read it with real clients, each in its own environment made from the package registries:

- Python duckdb 1.1.3 (`bi/clients/requirements-duckdb-1.1.3.txt`, pinned with hashes);
- the newest `@duckdb/node-api` (`bi/clients/package.json` + `package-lock.json`), which
  Evidence and Observable-style dashboards use.

Each runs `bi/clients/read_published.*`, which lists every table and view of every schema of the
file with its comment, its columns' types and comments, and its rows; all of it must equal what the
project's own DuckDB reads with the same script. The comparison knows no view by name.

The environments are made once under `.venv/clients/` (keyed by their pin files) and reused. Only a
registry that cannot be reached skips these tests, saying so; in CI (`CI` set) it fails them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pydantic import ValidationError

from pipeline.core.settings import Settings
from pipeline.run import freeze, run
from tests.sources.afspraken.lines import appointment
from tests.sources.telefonie.lines import call
from tests.sources.zaken.lines import case
from tests.support.deliveries import Landing

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ROOT / "bi" / "clients"
CACHE = ROOT / ".venv" / "clients"
PYTHON_CLIENT = CLIENTS / "requirements-duckdb-1.1.3.txt"
NODE_FILES = ("package.json", "package-lock.json")
# What an installer prints when it cannot reach its registry (uv, npm): then, and only then, skip.
UNREACHABLE = (
    "dns error",
    "failed to lookup address",
    "failed to fetch",
    "error sending request",
    "connection refused",
    "network is unreachable",
    "enotfound",
    "eai_again",
    "econnrefused",
    "econnreset",
    "etimedout",
    "enetunreach",
)

# One worker makes the environments and the file.
pytestmark = [pytest.mark.xdist_group("bi-clients"), pytest.mark.external]


# --- the clients' environments ------------------------------------------------------------------


def _unavailable(reason: str) -> None:
    """Skip with the reason; in CI, where the registries are reachable, fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must reach the registries)")
    pytest.skip(reason)


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """One process at a time makes an environment (pytest-xdist workers, parallel runs)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _environment(name: str, pins: list[Path], build: Callable[[Path], list[list[str]]]) -> Path:
    """`.venv/clients/<name>`, made by `build`'s commands once per content of the `pins` files."""
    home = CACHE / name
    stamp = hashlib.sha256(b"".join(p.read_bytes() for p in pins)).hexdigest()
    with _locked(name):
        if (home / ".stamp").exists() and (home / ".stamp").read_text() == stamp:
            return home
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        for command in build(home):
            done = subprocess.run(command, cwd=home, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                output = (done.stdout + done.stderr).strip()
                shutil.rmtree(home, ignore_errors=True)
                if any(marker in output.lower() for marker in UNREACHABLE):
                    _unavailable(f"the package registry is unreachable: {' '.join(command[:3])}: {output[-300:]}")
                pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{output[-3000:]}")
        (home / ".stamp").write_text(stamp)
    return home


def _uv() -> str:
    found = Path(sys.executable).with_name("uv")  # the project's own, pinned in pyproject.toml
    return str(found) if found.exists() else (shutil.which("uv") or _missing("uv"))


def _missing(program: str) -> str:
    _unavailable(f"{program} is not installed")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def python_client() -> list[str]:
    """The command that runs read_published.py under Python duckdb 1.1.3."""

    def build(home: Path) -> list[list[str]]:
        python = str(home / "venv" / "bin" / "python")
        return [
            [_uv(), "venv", "--quiet", "--python", sys.executable, str(home / "venv")],
            [_uv(), "pip", "install", "--quiet", "--python", python, "--require-hashes", "-r", str(PYTHON_CLIENT)],
        ]

    home = _environment("python-duckdb-1.1.3", [PYTHON_CLIENT], build)
    return [str(home / "venv" / "bin" / "python"), str(CLIENTS / "read_published.py")]


@pytest.fixture(scope="session")
def node_client() -> list[str]:
    """The command that runs read_published.mjs with the pinned @duckdb/node-api."""
    node = shutil.which("node") or _missing("node")
    npm = shutil.which("npm") or _missing("npm")

    def build(home: Path) -> list[list[str]]:
        for name in NODE_FILES:
            shutil.copy(CLIENTS / name, home / name)
        return [[npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]]

    home = _environment("node", [CLIENTS / n for n in NODE_FILES], build)
    shutil.copy(CLIENTS / "read_published.mjs", home / "read_published.mjs")  # resolves node_modules beside it
    return [node, str(home / "read_published.mjs")]


# --- the published file -------------------------------------------------------------------------


KANAAL = ("thuisbezorgd", "balie")


def _deliver(landing: Landing, day: str, tag: str, calls: int) -> None:
    """A day of all three sources, with one invalid call (quarantined, within the allowed share)."""
    stem = day.replace("-", "") + tag
    landing.csv(
        f"telefonie/telefonie_{stem}.csv",
        *[
            call(
                f"c{stem}-{i}",
                f"{day}T{9 + i % 8:02d}:{i:02d}:00+01:00",
                nummer="14030" if i % 3 else "0302860000",
                keuze="Utrecht" if i % 3 else "",
                afhandeling="beantwoord" if i % 4 else "verbroken",
                wachtrij=("Algemeen", "Parkeren", "Belastingen")[i % 3],
            )
            for i in range(calls)
        ],
        call(f"c{stem}-bad", f"{day}T10:00:00+01:00", afhandeling="opgehangen?"),
    )
    dmy = f"{day[8:]}-{day[5:7]}-{day[:4]}"
    landing.csv(
        f"afspraken/afspraken_{stem}.csv",
        *[
            appointment(f"a{stem}-{i}", dmy, "verschenen" if i % 5 else "niet verschenen", f"{day}T18:00:00+01:00")
            for i in range(calls // 2)
        ],
    )
    landing.csv(
        f"zaken/zaken_{stem}.csv",
        *[case(f"z{stem}-{i}", f"{day}T11:{i:02d}:00+01:00", kanaal=KANAAL[i % 2]) for i in range(9)],
    )


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with something in every view: figures of two years and three sources, the
    quarantine, a file that is not a delivery, an adopted year that today's deliveries give differently."""
    landing = Landing(tmp_path_factory.mktemp("clients"))
    landing.raw.mkdir(parents=True)
    (landing.raw / "README.txt").write_text("not a delivery\n")
    _deliver(landing, "2019-12-30", "", calls=40)
    _deliver(landing, "2020-01-06", "", calls=45)
    assert landing.run("backfill").summary.status == "voltooid"
    freeze.freeze(landing.settings(), 2019)
    _deliver(landing, "2019-12-31", "", calls=30)
    assert landing.run("nightly").summary.status == "voltooid"
    return landing.warehouse


def _read(command: list[str], warehouse: Path) -> dict[str, Any]:
    done = subprocess.run([*command, str(warehouse)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _comparable(contents: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Relations by (schema, name); rows in one order, doubles as floats (JSON writes 2.0 as 2 in node)."""
    relations = {}
    for relation in contents["relations"]:
        doubles = [kind in ("DOUBLE", "FLOAT") for _, kind, _ in relation["columns"]]
        rows = [
            tuple(float(v) if double and isinstance(v, int) else v for double, v in zip(doubles, row, strict=True))
            for row in relation["rows"]
        ]
        relations[relation["schema"], relation["name"]] = relation | {"rows": sorted(rows, key=repr)}
    return relations


@pytest.fixture(scope="module")
def ours(published: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """What the project's own DuckDB reads, with the same script."""
    return _comparable(_read([sys.executable, str(CLIENTS / "read_published.py")], published))


def _same_as_ours(theirs: dict[str, Any], ours: dict[tuple[str, str], dict[str, Any]]) -> None:
    found = _comparable(theirs)
    assert sorted(found) == sorted(ours), f"{theirs['client']} lists other tables and views"
    for key, relation in ours.items():
        other = found[key]
        where = f"{theirs['client']}: {key[0]}.{key[1]}"
        assert (other["kind"], other["comment"]) == (relation["kind"], relation["comment"]), where
        assert other["columns"] == relation["columns"], f"{where}: columns, types or column comments differ"
        assert other["rows"] == relation["rows"], f"{where}: rows differ"


def test_the_file_publishes_rows_in_every_table_and_view_and_a_comment_on_every_column(
    ours: dict[tuple[str, str], dict[str, Any]],
) -> None:
    """The comparison below is worth what the file holds: what BI users see (schema main, views or tables
    alike) has rows, a comment and a comment on every column."""
    shown = [r for r in ours.values() if r["schema"] == "main"]
    assert len(shown) >= 10
    assert [r["name"] for r in shown if not r["rows"]] == [], "a table or view without rows is compared for nothing"
    assert [r["name"] for r in shown if not r["comment"]] == []
    assert [(r["name"], c) for r in shown for c, _, comment in r["columns"] if not comment] == []


def test_python_duckdb_1_1_3_reads_every_table_and_view_as_our_duckdb(
    published: Path, python_client: list[str], ours: dict[tuple[str, str], dict[str, Any]]
) -> None:
    theirs = _read(python_client, published)
    assert theirs["client"] == "python duckdb 1.1.3"
    _same_as_ours(theirs, ours)


def test_the_newest_node_api_reads_every_table_and_view_as_our_duckdb(
    published: Path, node_client: list[str], ours: dict[tuple[str, str], dict[str, Any]]
) -> None:
    theirs = _read(node_client, published)
    assert theirs["client"].startswith("node @duckdb/node-api (DuckDB v1.")
    _same_as_ours(theirs, ours)


def test_the_storage_version_is_a_setting_and_2_0s_own_format_shuts_old_clients_out(
    published: Path, python_client: list[str], tmp_path: Path
) -> None:
    def storage(path: Path) -> str:
        con = duckdb.connect(str(path), read_only=True)
        try:
            found = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = current_database()")
            return str(found.fetchall()[0][0]["storage_version"])
        finally:
            con.close()

    assert Settings().storage_version == "v1.0.0"
    assert storage(published) == "v1.0.0+"

    landing = Landing(tmp_path)
    _deliver(landing, "2020-01-06", "", calls=40)
    landing.raw.mkdir(parents=True, exist_ok=True)
    run(landing.settings(storage_version="latest"), "backfill")
    assert storage(landing.warehouse) == "v2.0.0+"
    refused = subprocess.run([*python_client, str(landing.warehouse)], capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "version number" in refused.stderr, refused.stderr[-2000:]


def test_an_unknown_storage_version_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="not a known DuckDB version"):
        Settings(storage_version="1.0")
