"""The served deployments against a real `prefect server start` on 127.0.0.1.

Prefect cannot run schedules on its ephemeral in-process server, so these use the real one the
session shares (tests/support/prefect_server.py), serve `pipeline serve` against it, and trigger the
deployments through the API.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.sources.telefonie.lines import CALL_HEADER, call
from tests.support.deliveries import write
from tests.support.processes import stop_group
from tests.support.published import rows

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CLIENT = """
import asyncio, json, sys, time
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

async def deployments():
    async with get_client() as client:
        for _ in range(240):
            try:
                nightly = await client.read_deployment_by_name("nightly/nightly")
                backfill = await client.read_deployment_by_name("backfill/backfill")
                return nightly, backfill
            except Exception:
                await asyncio.sleep(0.5)
        raise SystemExit("deployments never appeared")

async def artifacts(flow_run_id):
    async with get_client() as client:
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
        only_this_run = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        found = await client.read_artifacts(artifact_filter=only_this_run)
        return [a.data for a in found]

nightly, backfill = asyncio.run(deployments())
schedule = nightly.schedules[0].schedule
result = {"cron": schedule.cron, "timezone": schedule.timezone, "backfill_schedules": len(backfill.schedules)}
run = run_deployment("nightly/nightly", timeout=240, poll_interval=1)
result["nightly_state"] = run.state.type.value
result["nightly_artifacts"] = asyncio.run(artifacts(run.id))
run = run_deployment("backfill/backfill", parameters={"from_year": YEAR, "to_year": YEAR}, timeout=240, poll_interval=1)
result["backfill_state"] = run.state.type.value
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def prefect_api(prefect_server: dict[str, str]) -> dict[str, str]:
    """The environment of a process that reaches the session's server (tests/support/prefect_server.py)."""
    return {**os.environ, **prefect_server}


def test_served_nightly_runs_through_the_api_and_loads_the_data(prefect_api: dict[str, str], tmp_path: Path) -> None:
    raw, warehouse = tmp_path / "raw", tmp_path / "wh" / "w.duckdb"
    # A call of yesterday, delivered today: the flows fail when `pipeline status` finds a stale source.
    today = dt.datetime.now(AMSTERDAM).date()
    yesterday = today - dt.timedelta(days=1)
    write(
        raw / f"telefonie/telefonie_{today:%Y%m%d}.csv",
        CALL_HEADER,
        [call("b1", dt.datetime.combine(yesterday, dt.time(10), AMSTERDAM).isoformat())],
    )
    env = {
        **prefect_api,
        "PIPELINE_RAW_DIR": str(raw),
        "PIPELINE_WAREHOUSE": str(warehouse),
        "PIPELINE_PII_KEY": "k" * 32,
    }
    serve_log = (tmp_path / "serve.log").open("wb")
    serving = subprocess.Popen(
        [str(BIN / "pipeline"), "serve"],
        env=env,
        cwd=ROOT,
        stdout=serve_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        client = subprocess.run(
            [sys.executable, "-c", CLIENT.replace("YEAR", str(yesterday.year))],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert client.returncode == 0, client.stderr[-3000:] + (tmp_path / "serve.log").read_text()[-3000:]
        result = json.loads(client.stdout.strip().splitlines()[-1])
    finally:
        stop_group(serving)
        serve_log.close()

    assert result["cron"] == "0 2 * * *"
    assert result["timezone"] == "Europe/Amsterdam"
    assert result["backfill_schedules"] == 0
    assert result["nightly_state"] == "COMPLETED"
    assert result["backfill_state"] == "COMPLETED"
    assert any("deliveries processed | 1" in (a or "") for a in result["nightly_artifacts"])
    (figures,) = rows(warehouse, "SELECT jaar, telefoontjes_gemeente FROM kerncijfers")
    assert figures == {"jaar": yesterday.year, "telefoontjes_gemeente": 1}
    kinds = [r["soort"] for r in rows(warehouse, "SELECT soort FROM runs ORDER BY gestart_op")]
    assert kinds == ["nachtelijk", "herberekening"]


DEPLOYED = """
import asyncio, json
from prefect.client.orchestration import get_client

async def main():
    async with get_client() as client:
        nightly = await client.read_deployment_by_name("nightly/nightly")
        backfill = await client.read_deployment_by_name("backfill/backfill")
        schedule = nightly.schedules[0].schedule
        return {
            "pool": nightly.work_pool_name,
            "cron": schedule.cron,
            "timezone": schedule.timezone,
            "entrypoints": [nightly.entrypoint, backfill.entrypoint],
        }

print(json.dumps(asyncio.run(main())))
"""


def test_prefect_yaml_deploys_both_deployments_to_a_work_pool(prefect_api: dict[str, str], tmp_path: Path) -> None:
    env = {**prefect_api, "PIPELINE_HOME": str(ROOT)}
    prefect = str(BIN / "prefect")
    for command in (
        [prefect, "work-pool", "create", "publieksdienstverlening", "--type", "process"],
        [prefect, "--no-prompt", "deploy", "--all"],
        [sys.executable, "-c", DEPLOYED],
    ):
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {
        "pool": "publieksdienstverlening",
        "cron": "0 2 * * *",
        "timezone": "Europe/Amsterdam",
        "entrypoints": ["flows/nightly.py:nightly", "flows/backfill.py:backfill"],
    }
