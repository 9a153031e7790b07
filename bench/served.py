"""Prefect's own cost: a backfill through the `backfill` deployment of `pipeline serve`, on a real
Prefect server on 127.0.0.1, as an operator starts one (`prefect deployment run backfill/backfill`).

Measured, in this process: from the API call that creates the flow run to its completion (what the
operator waits), and the flow run's own time as Prefect records it (its start to its end). The case
compares the latter with `pipeline backfill` on the same files (the CLI, measured beside it).

`pipeline serve` asks the server for scheduled runs every `PREFECT_RUNNER_POLL_FREQUENCY` seconds
(Prefect's default is 10): a run started by hand waits up to that long before it starts. The case
serves with the default, and with 1 second, the setting that shortens the wait.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

from bench.cases import ROOT

DEPLOYMENT = "backfill/backfill"
STARTUP_S = 240


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(check: Any, what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what}: the process ended (exit {process.returncode})")
        try:
            if check():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {STARTUP_S} s")
        time.sleep(0.5)


def _deployed(api: str) -> bool:
    # By the REST API, not Prefect's client: importing Prefect here, before PREFECT_API_URL is in this
    # process's environment, fixed its settings to a temporary server of its own, so the deployment
    # was never found (the served case failed with "not ready after 240 s").
    import httpx

    return httpx.get(f"{api}/deployments/name/{DEPLOYMENT}", timeout=2).status_code == 200


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run(task: dict[str, Any]) -> dict[str, Any]:
    """Serve the deployments, run the backfill deployment once per polling setting; the timings."""
    home = Path(tempfile.mkdtemp(prefix="prefect-"))
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = os.environ | {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    # Prefect reads its settings once, at its first import in this process: they must be in place first.
    os.environ.update({key: env[key] for key in ("PREFECT_HOME", "PREFECT_API_URL", "PREFECT_LOGGING_LEVEL")})
    bin_dir = Path(sys.executable).parent
    server = subprocess.Popen(
        [str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results: dict[str, Any] = {}
    try:
        import httpx

        _wait(lambda: httpx.get(f"{api}/health", timeout=2).status_code == 200, "the Prefect server", server)
        for poll in task["polls"]:
            results[f"poll_{poll}"] = _served_run(task, env | {"PREFECT_RUNNER_POLL_FREQUENCY": str(poll)}, api, poll)
    finally:
        _stop(server)
        shutil.rmtree(home, ignore_errors=True)
    return results | {"work_s": max(r["api_to_done_s"] for r in results.values())}


def _served_run(task: dict[str, Any], env: dict[str, str], api: str, poll: int) -> dict[str, Any]:
    warehouse = Path(task["warehouse"]).with_name(f"served-{poll}.duckdb")
    serving = env | {
        "PIPELINE_RAW_DIR": task["raw"],
        "PIPELINE_WAREHOUSE": str(warehouse),
        "PIPELINE_PII_KEY": task["pii_key"],
    }
    serve = subprocess.Popen(
        [str(Path(sys.executable).parent / "pipeline"), "serve"],
        env=serving,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: _deployed(api), "pipeline serve", serve)
        time.sleep(poll)  # the runner has polled once since it started: the next poll is a full interval away
        from prefect.deployments import run_deployment

        os.environ["PREFECT_API_URL"] = api
        started = time.perf_counter()
        # judge=False: `pipeline backfill` does not judge the warehouse either (`pipeline status` does).
        started_run = run_deployment(DEPLOYMENT, parameters={"judge": False}, timeout=None, poll_interval=0.5)
        flow_run = cast("FlowRun", started_run)
        waited = time.perf_counter() - started
    finally:
        _stop(serve)
    state = flow_run.state.type.value if flow_run.state else "?"
    if state != "COMPLETED":
        raise RuntimeError(f"the served backfill ended {state}: {flow_run.state.message if flow_run.state else ''}")
    ran = (
        (flow_run.end_time - flow_run.start_time).total_seconds() if flow_run.start_time and flow_run.end_time else None
    )
    return {"api_to_done_s": waited, "flow_run_s": ran, "poll_s": poll}
