"""Scale-out: a backfill that reads on a real Dask cluster publishes exactly what a local one does.

A real `dask scheduler` and two `dask worker` processes on 127.0.0.1, started here as a cluster run
by someone else would be: no PIPELINE_* or PREFECT_* settings of their own. They reach the landing
folder and the warehouse's folder by path (shared storage) and find the personal-data key in the
key file beside the warehouse. No PREFECT_API_URL is set either: the pipeline starts Prefect's
temporary server once in this process, and no worker may start one of its own.

The cluster and the API are started once for the module (one xdist group): a worker process
reports to the first Prefect API it ever saw.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.settings import MissingKey, Settings
from pipeline.run import PipelineError, run
from pipeline.sample import generate
from tests.sources.telefonie.lines import CALL_HEADER, call
from tests.support.deliveries import PII_KEY, write
from tests.support.processes import free_port, stop_group
from tests.support.published import view_contents

pytestmark = [pytest.mark.xdist_group("dask-cluster"), pytest.mark.slow]

BIN = Path(sys.executable).parent
N_WORKERS = 2
STARTUP_S = 180  # the scheduler, the workers and Prefect's temporary server, on a busy 2-core machine
TARGETS = (
    "jaar,baliebezoeken_met_afspraak,telefoontjes_gemeente,telefoontjes_14030,bereikbaarheid_pct\n"
    "2020,3000,4000,2500,90\n"
)
CASES = "jaar,reisdocumenten_thuisbezorgd,geboorteaangiften_digitaal\n2020,500,60\n"
FIRST_DAY, LAST_DAY = "20200201", "20200331"
# Chunks of 1 MB: one task per source, enough for both workers.
CHUNK_MB = "1"


@dataclass
class Cluster:
    address: str
    logs: Path

    def worker_log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("worker-*.log")))

    def executed(self) -> dict[str, int]:
        """Tasks each worker has run so far."""
        import distributed

        def count(dask_worker: Any) -> int:
            return int(dask_worker.state.executed_count)

        with distributed.Client(self.address, timeout=60) as client:
            return {str(w): int(n) for w, n in client.run(count).items()}

    def prefect_servers(self) -> dict[str, list[str]]:
        """Prefect servers each worker process started (its own children, or in its memory)."""
        import distributed

        def servers() -> list[str]:
            import sys

            import psutil

            found = [
                " ".join(child.cmdline())
                for child in psutil.Process().children(recursive=True)
                if any("uvicorn" in part or "prefect" in part for part in child.cmdline())
            ]
            module = sys.modules.get("prefect.server.api.server")  # look, do not import
            if module is not None:
                found += [s.api_url for s in module.SubprocessASGIServer._instances.values() if s.running]
            return found

        with distributed.Client(self.address, timeout=60) as client:
            return {str(w): list(found) for w, found in client.run(servers).items()}


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Scheduler + workers (subprocesses, own process groups) and one Prefect API for the module."""
    import distributed

    logs = tmp_path_factory.mktemp("dask")
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PIPELINE_"))}
    env |= {
        "PREFECT_HOME": str(logs / "worker-prefect-home"),  # nothing a worker does touches ~/.prefect
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    processes: list[subprocess.Popen[bytes]] = []
    handles = []

    def spawn(name: str, *args: str) -> subprocess.Popen[bytes]:
        handle = (logs / f"{name}.log").open("wb")
        handles.append(handle)
        process = subprocess.Popen(
            [str(BIN / "dask"), *args],
            env=env,
            cwd=logs,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(process)
        return process

    deadline = time.monotonic() + STARTUP_S
    try:
        scheduler = spawn("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
        while not _listening(port):
            if scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((logs / "scheduler.log").read_text()[-3000:])
            time.sleep(0.2)
        for i in range(N_WORKERS):
            spawn(
                f"worker-{i}",
                *("worker", address, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"),
                *("--name", f"w{i}", "--local-directory", str(logs / f"w{i}")),
                # Imported while the worker starts, not by its first task (README: Scaling out).
                *("--preload", "prefect.task_engine", "--preload", "pipeline.run.read"),
            )
        # Meanwhile, this process's Prefect home and API (not ~/.prefect; PREFECT_HOME is read on import).
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PREFECT_HOME", str(home))
            patch.delenv("PREFECT_API_URL", raising=False)
            from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

            from flows.cluster import prefect_api

            with (
                temporary_settings(updates={PREFECT_HOME: str(home)}, restore_defaults={PREFECT_API_URL}),
                prefect_api(startup_timeout_s=STARTUP_S),
            ):
                with distributed.Client(address, timeout=60) as client:
                    client.wait_for_workers(N_WORKERS, timeout=max(10.0, deadline - time.monotonic()))
                try:
                    yield Cluster(address, logs)
                finally:
                    # Workers first: they must not outlive the API they report to.
                    for process in reversed(processes):
                        stop_group(process, timeout_s=20)
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                stop_group(process, timeout_s=20)
        for handle in handles:
            handle.close()


def _settings(raw: Path, warehouse: Path, **extra: Any) -> Settings:
    return Settings(raw_dir=raw, warehouse=warehouse, rare_below=1, workers=1, chunk_mb=int(CHUNK_MB), **extra)


def _key_file(warehouse: Path, key: str = PII_KEY) -> None:
    """The key file beside the warehouse, on the storage the workers share."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    path = Settings(warehouse=warehouse).key_file
    path.write_text(key)
    path.chmod(0o600)


@dataclass
class Sample:
    raw: Path
    local: Path  # the warehouse a local backfill published
    processed: int


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """Two months of generated deliveries, one with invalid rows, and the local backfill of them."""
    tmp = tmp_path_factory.mktemp("sample")
    (tmp / "targets.csv").write_text(TARGETS)
    (tmp / "cases.csv").write_text(CASES)
    raw = tmp / "raw"
    generate([tmp / "targets.csv", tmp / "cases.csv"], raw, seed=11)
    for path in raw.rglob("*_*.csv"):  # two months (with a change to summer time) are enough
        if not FIRST_DAY <= path.stem.split("_")[1] <= LAST_DAY:
            path.unlink()
    lines = [call(f"q{n}", "2020-03-03T10:00:00+01:00", beller="06-12345678") for n in range(40)]
    write(raw / "telefonie/telefonie_20200304_extra.csv", CALL_HEADER, [*lines, call("bad", "gisteren")])
    local = tmp / "local" / "w.duckdb"
    _key_file(local)
    summary = run(_settings(raw, local, pii_key=PII_KEY), "backfill")
    assert summary.rows_quarantined > 0
    return Sample(raw, local, summary.processed)


@pytest.fixture
def no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PIPELINE_PII_KEY", "PIPELINE_PII_KEY_BLOCK", "PIPELINE_RAW_DIR", "PIPELINE_WAREHOUSE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIPELINE_CHUNK_MB", CHUNK_MB)
    monkeypatch.setenv("PIPELINE_RARE_BELOW", "1")


def test_a_backfill_on_the_cluster_publishes_what_a_local_one_does(
    cluster: Cluster, sample: Sample, tmp_path: Path, no_key_in_env: None
) -> None:
    warehouse = tmp_path / "wh" / "w.duckdb"
    _key_file(warehouse)
    before = cluster.executed()

    started = time.monotonic()
    result = CliRunner().invoke(
        app,
        ["backfill", "--raw", str(sample.raw), "--warehouse", str(warehouse), "--dask-address", cluster.address],
    )
    elapsed = time.monotonic() - started

    assert result.exit_code == 0, result.output
    assert f"backfill: {sample.processed} deliveries processed" in result.output
    assert view_contents(warehouse) == view_contents(sample.local)
    after = cluster.executed()
    assert all(after[w] > before.get(w, 0) for w in after), (before, after)  # both workers read chunks
    assert cluster.prefect_servers() == {w: [] for w in after}
    assert "Starting temporary server" not in cluster.worker_log()
    print(f"backfill of {sample.processed} deliveries on {N_WORKERS} Dask workers: {elapsed:.1f} s")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_failing_chunk_fails_the_run_with_its_own_error_and_leaves_the_published_file(
    cluster: Cluster, sample: Sample, tmp_path: Path, no_key_in_env: None
) -> None:
    from flows.backfill import backfill

    # A published warehouse (a copy of the local one, with its archive and key), and a landing
    # folder with one new delivery, of a new year, whose staged rows cannot be written (a file is in
    # the way of the folder of their year).
    shutil.copytree(sample.local.parent, tmp_path / "wh")
    warehouse = tmp_path / "wh" / sample.local.name
    raw = tmp_path / "raw"
    shutil.copytree(sample.raw, raw)
    write(raw / "telefonie/telefonie_20210105_extra.csv", CALL_HEADER, [call("n1", "2021-01-04T10:00:00+01:00")])
    (Settings(warehouse=warehouse).versions_dir / "telefonie" / "2021").write_text("in the way\n")
    published = _digest(warehouse)

    with pytest.raises((FileExistsError, NotADirectoryError), match="telefonie/2021"):
        backfill(dask_address=cluster.address, raw_dir=raw, warehouse=warehouse)

    assert _digest(warehouse) == published
    assert view_contents(warehouse) == view_contents(sample.local)
    assert not list(Settings(warehouse=warehouse).staging_dir.glob("2*"))


def test_workers_with_another_key_than_the_writer_stop_the_run(
    cluster: Cluster, sample: Sample, tmp_path: Path, no_key_in_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.backfill import backfill

    warehouse = tmp_path / "wh" / "w.duckdb"
    _key_file(warehouse)  # what the workers find
    monkeypatch.setenv("PIPELINE_PII_KEY", "another-key-" + "x" * 20)  # what the writer has

    with pytest.raises(PipelineError, match="another personal-data key"):
        backfill(dask_address=cluster.address, raw_dir=sample.raw, warehouse=warehouse)
    assert not warehouse.exists()


def test_an_existing_cluster_and_a_local_one_exclude_each_other(tmp_path: Path) -> None:
    from flows.cluster import ClusterChoice, DaskCluster

    result = CliRunner().invoke(
        app, ["backfill", "--raw", str(tmp_path), "--dask-address", "tcp://h:1", "--dask-workers", "2"]
    )
    assert result.exit_code == 1
    assert "not both" in result.output
    with pytest.raises(ClusterChoice):
        DaskCluster.of("tcp://h:1", 2)
    assert DaskCluster.of(None, None) is None
    assert DaskCluster.of("", None) is None


def test_a_worker_takes_the_key_file_beside_the_warehouse_and_never_makes_one_up(
    tmp_path: Path, no_key_in_env: None
) -> None:
    settings = Settings(warehouse=tmp_path / "wh" / "w.duckdb")
    with pytest.raises(MissingKey, match="PIPELINE_PII_KEY"):
        settings.hmac_key(create=False)
    assert not settings.key_file.exists()
    _key_file(settings.warehouse)
    assert settings.hmac_key(create=False) == PII_KEY.encode()
