"""Output commands exit non-zero when they cannot read the warehouse, and a lock names its holder (issue 14).

`pipeline report`, `export` and `status` are run by cron: whenever they cannot read the published
warehouse they say why in one line and exit non-zero. When another process holds the file
read-write (DBeaver's default, a notebook's `duckdb.connect(path)`), DuckDB refuses every reader;
the line names that process (pid, program) and says that BI clients must connect read-only.

Publishing never waits for such a client: the run writes a new file and renames it over the old
one, so readers that connect afterwards read the new file while the client keeps the old one. But a
read-write client that then changes anything writes its log (`<file>.wal`) beside the new file, and
every new reader replays it: the commands refuse to read such a file, and `pipeline status` says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.test_bi_readers import FIRST_DAY, Landing

# A BI client that opens the file read-write and, when told, changes it.
HOLDER = r"""
import signal, sys
import duckdb
signal.alarm(120)  # never outlive a broken test
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
for line in sys.stdin:
    if line.strip() == "write":
        con.execute("CREATE TABLE kladblok AS SELECT 999999 AS telefoontjes_gemeente")
        print("written", flush=True)
    else:
        break
con.close()
"""


@dataclasses.dataclass
class Holder:
    process: subprocess.Popen[str]

    def tell(self, command: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
        assert self.process.wait(timeout=30) == 0


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Landing:
    here = Landing(tmp_path_factory.mktemp("exits"))
    for offset in range(2):
        here.deliver(FIRST_DAY + dt.timedelta(days=offset), calls=20, visits=10)
    here.run("backfill")
    return here


@pytest.fixture
def landing(published: Landing, tmp_path: Path) -> Landing:
    shutil.copytree(published.root, tmp_path / "copy")
    return dataclasses.replace(published, root=tmp_path / "copy")


@pytest.fixture
def hold(landing: Landing) -> Iterator[Holder]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(landing.warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    holder = Holder(process)
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield holder
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def _commands(warehouse: Path, out: Path) -> dict[str, list[str]]:
    where = ["--warehouse", str(warehouse)]
    return {
        "report": ["report", *where],
        "report csv": ["report", *where, "--format", "csv"],
        "report markdown": ["report", *where, "--format", "markdown"],
        "report html": ["report", *where, "--format", "html", "--out", str(out / "verslag.html")],
        "export": ["export", *where, "--format", "csv", "--out", str(out / "export")],
        "status": ["status", *where],
    }


def _outcomes(warehouse: Path, out: Path) -> dict[str, tuple[int, str]]:
    runner = CliRunner()
    found = {}
    for name, arguments in _commands(warehouse, out).items():
        result = runner.invoke(app, arguments, env={"COLUMNS": "400"})
        found[name] = (result.exit_code, " ".join(result.output.split()))
    return found


def test_a_read_write_client_makes_every_output_command_fail_naming_it(
    landing: Landing, hold: Holder, tmp_path: Path
) -> None:
    pid = hold.process.pid
    for name, (code, output) in _outcomes(landing.warehouse, tmp_path).items():
        assert code != 0, f"{name} exited 0 while it could not read the warehouse: {output}"
        assert f"(pid {pid})" in output, f"{name} does not name the process holding the file: {output}"
        assert "python" in output, f"{name} does not name the program holding the file: {output}"
        assert "BI clients must connect read-only" in output, output
    assert not (tmp_path / "verslag.html").exists() and not (tmp_path / "export").exists()


def test_the_command_itself_exits_non_zero_for_cron(landing: Landing, hold: Holder) -> None:
    """The process's own exit status, as cron sees it (not only the test runner's)."""
    command = [sys.executable, "-m", "pipeline.cli", "report", "--warehouse", str(landing.warehouse)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "400"})
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert f"(pid {hold.process.pid})" in done.stderr


def _missing(path: Path) -> None:
    path.unlink()


def _a_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _not_duckdb(path: Path) -> None:
    path.write_bytes(b"jaar;telefoontjes\n2020;1\n" * 200)


def _cut_short(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _another_database(path: Path) -> None:
    path.unlink()
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()


def _changed_by_a_client(path: Path) -> None:
    """What a read-write client leaves when it changed the file and was killed before closing."""
    script = (
        "import duckdb, os, sys; con = duckdb.connect(sys.argv[1]); "
        "con.execute('CREATE TABLE kladblok AS SELECT 1 AS x'); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    assert path.with_name(path.name + ".wal").exists()


UNREADABLE = {
    "missing": (_missing, "does not exist"),
    "a folder": (_a_folder, "is not a file"),
    "not a DuckDB file": (_not_duckdb, "cannot be opened as a DuckDB warehouse"),
    "cut short": (_cut_short, "cannot be"),
    "another DuckDB database": (_another_database, "not a published warehouse"),
    "changed by a read-write client": (_changed_by_a_client, "changed by a client that holds it read-write"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", UNREADABLE)
def test_every_output_command_exits_non_zero_when_it_cannot_read(landing: Landing, case: str, tmp_path: Path) -> None:
    damage, reason = UNREADABLE[case]
    damage(landing.warehouse)
    for name, (code, output) in _outcomes(landing.warehouse, tmp_path).items():
        assert code != 0, f"{name} exited 0 on a warehouse {case}: {output}"
        assert reason in output, f"{name} on a warehouse {case}: {output}"
        assert "Traceback" not in output


@pytest.mark.slow
def test_publishing_goes_on_while_a_client_holds_the_file_read_write(landing: Landing, hold: Holder) -> None:
    """The run renames a new file over the held one: new readers read the run, the client its old file.
    Once the client changes anything, its log lies beside the new file and every new reader would replay
    it: the output commands refuse and status names the log, until the client disconnects."""
    landing.deliver(FIRST_DAY + dt.timedelta(days=7), calls=9, visits=4)
    assert landing.run("nightly").summary.status == "voltooid", "a read-write client does not stop publishing"
    assert landing.state() == landing.expected, "a new reader reads the new run"

    assert hold.tell("write") == "written"
    wal = landing.warehouse.with_name(landing.warehouse.name + ".wal")
    assert wal.exists(), "the client's log lies beside the newly published file"
    con = duckdb.connect(str(landing.warehouse), read_only=True)
    try:
        replayed = con.execute("SELECT telefoontjes_gemeente FROM kladblok").fetchall()
    finally:
        con.close()
    assert replayed == [(999999,)], "DuckDB replays the client's log onto the new file: the hazard the commands refuse"
    runner = CliRunner()
    status = runner.invoke(app, ["status", "--warehouse", str(landing.warehouse)], env={"COLUMNS": "400"})
    assert status.exit_code == 3
    assert str(wal) in " ".join(status.output.split())
    assert runner.invoke(app, ["report", "--warehouse", str(landing.warehouse)]).exit_code == 1

    hold.close()  # the client's changes go into its own, old file
    assert not wal.exists()
    assert landing.state() == landing.expected, "readers read the pipeline's figures again"
    assert runner.invoke(app, ["report", "--warehouse", str(landing.warehouse)]).exit_code == 0
