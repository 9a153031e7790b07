"""The pipeline under Prefect (docs/operations.md, "Prefect"): `pipeline serve` without a server
refuses, saying how to start one; the personal-data key from a Secret block; the flows fail visibly
when `pipeline status` finds a problem. Against the session's real Prefect server on 127.0.0.1
(tests/support/prefect_server.py), shared with test_scheduling."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import hmac
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.core.settings import Settings
from pipeline.run import run
from tests.sources.telefonie.lines import CALL_HEADER, call, calls_on
from tests.support.cli import cli, cli_process, one_line
from tests.support.deliveries import OTHER_KEY, PII_KEY, open_weekdays, settings_for, write
from tests.support.faults import NO_SPACE
from tests.support.prefect_server import drain_to_server
from tests.support.published import rows

pytestmark = pytest.mark.slow


def test_serve_without_a_prefect_server_refuses_and_says_how_to_start_one(tmp_path: Path) -> None:
    # No PREFECT_API_URL, and a Prefect home of its own (no profile that sets one), which Prefect reads
    # when it is imported: a fresh process. A hang fails here.
    done = cli_process("serve", timeout=120, PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_API_URL=None)
    line = one_line(done)
    assert "prefect server start --host 127.0.0.1" in line and "PREFECT_API_URL=http://127.0.0.1:4200/api" in line
    assert line.startswith("pipeline: pipeline serve needs a running Prefect server")


# --- against the session's Prefect server on 127.0.0.1 ----------------------------------------------


@pytest.fixture(scope="module")
def prefect_api(prefect_server: dict[str, str]) -> Iterator[None]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_server["PREFECT_API_URL"]}):
        yield
        drain_to_server()


def _keyed_hash(key: str, value: str) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def _state_rows(s: Settings, query: str) -> list[dict[str, Any]]:
    con = duckdb.connect(str(s.state_db), read_only=True)
    try:
        return con.sql(query).pl().to_dicts()
    finally:
        con.close()


CALLER = "0611122233"
BLOCK_KEY = "key-from-a-secret-block-" + "b" * 24


def test_the_key_from_a_secret_block_or_the_environment_and_retention_of_pseudonyms(
    prefect_api: None, tmp_path: Path
) -> None:
    from prefect.blocks.system import Secret

    from pipeline.run.state import key_fingerprint

    Secret(value=BLOCK_KEY).save("pipeline-pii-key", overwrite=True)
    s = Settings(
        raw_dir=tmp_path / "raw", warehouse=tmp_path / "wh" / "w.duckdb", pii_key_block="pipeline-pii-key", workers=1
    )
    assert s.pii_key is None
    recent = dt.date.today() - dt.timedelta(days=1)
    write(
        s.raw_dir / "telefonie/telefonie_20200107.csv",
        CALL_HEADER,
        [
            call("old1", "2020-01-06T10:00:00+01:00", beller=CALLER),
            call("old2", "2020-01-07T10:00:00+01:00", beller=CALLER),  # a repeat caller
            call("old3", "2020-01-07T11:00:00+01:00"),  # no caller's number delivered
        ],
    )
    write(
        s.raw_dir / f"telefonie/telefonie_{recent:%Y%m%d}.csv",
        CALL_HEADER,
        [call("new1", f"{recent.isoformat()}T12:00:00Z", beller=CALLER)],
    )
    run(s, "nightly")  # the key comes from the Secret block, through the Prefect API
    (meta,) = _state_rows(s, "SELECT waarde FROM meta WHERE sleutel = 'sleutel_vingerafdruk'")
    assert meta["waarde"] == key_fingerprint(BLOCK_KEY.encode())
    hashes = {r["gesprek_id"]: r["beller_hash"] for r in _state_rows(s, "SELECT * FROM telefonie_versies")}
    assert hashes == {c: _keyed_hash(BLOCK_KEY, CALLER) for c in ("old1", "old2", "new1")} | {"old3": None}
    figures = rows(s.warehouse, "SELECT jaar, herhaalbellers_7d FROM kerncijfers ORDER BY jaar")

    # The same key from the environment (no Prefect API here) is the same key; another one is refused.
    done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_PII_KEY=BLOCK_KEY)
    assert done.returncode == 0, done.stderr
    done = cli("nightly", "--raw", s.raw_dir, "--warehouse", s.warehouse, PIPELINE_PII_KEY=OTHER_KEY)
    assert "personal-data key differs" in one_line(done)

    # Retention: the nightly run erases the keyed hashes of staged calls older than the horizon, and
    # says so in the run ledger; the figures computed with them stay.
    def nightly_with_retention() -> Any:
        return cli(
            "nightly",
            "--raw",
            s.raw_dir,
            "--warehouse",
            s.warehouse,
            PIPELINE_PII_KEY=BLOCK_KEY,
            PIPELINE_RETENTION_DAYS="30",
        )

    done = nightly_with_retention()
    assert done.returncode == 0, done.stderr
    hashes = {r["gesprek_id"]: r["beller_hash"] for r in _state_rows(s, "SELECT * FROM telefonie_versies")}
    assert hashes == {"old1": None, "old2": None, "old3": None, "new1": _keyed_hash(BLOCK_KEY, CALLER)}
    last = rows(s.warehouse, "SELECT bewaartermijn_dagen, pseudoniemen_gewist FROM runs ORDER BY gestart_op")
    assert last[-1] == {"bewaartermijn_dagen": 30, "pseudoniemen_gewist": 2}
    assert rows(s.warehouse, "SELECT jaar, herhaalbellers_7d FROM kerncijfers ORDER BY jaar") == figures
    # Applied every night: nothing left to erase the next time, and the ledger says so.
    done = nightly_with_retention()
    assert done.returncode == 0, done.stderr
    last = rows(s.warehouse, "SELECT bewaartermijn_dagen, pseudoniemen_gewist FROM runs ORDER BY gestart_op")
    assert last[-1] == {"bewaartermijn_dagen": 30, "pseudoniemen_gewist": 0}


def _artifacts_of(flow_run_id: Any) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return "\n".join(str(a.data) for a in found)


def _flow_healthy(s: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    yesterday = dt.date.today() - dt.timedelta(days=1)
    calls_on(s.raw_dir, [yesterday])
    return "nightly", []


def _flow_stale(s: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    calls_on(s.raw_dir, open_weekdays(dt.date(2020, 12, 28), dt.date(2020, 12, 31)))
    return "nightly", ["telefonie is stale: no records for "]


def _flow_stale_backfill(s: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    calls_on(s.raw_dir, open_weekdays(dt.date(2020, 12, 28), dt.date(2020, 12, 31)))
    return "backfill", ["telefonie is stale: no records for "]


def _flow_key_mismatch(s: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    yesterday = dt.date.today() - dt.timedelta(days=1)
    calls_on(s.raw_dir, [yesterday])
    run(s, "nightly")
    monkeypatch.setenv("PIPELINE_PII_KEY", OTHER_KEY)
    return "nightly", ["StateError: the personal-data key differs", "(nightly) failed: StateError"]


def _flow_rejected(s: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    yesterday = dt.date.today() - dt.timedelta(days=1)
    calls_on(s.raw_dir, [yesterday])
    (s.raw_dir / "telefonie/telefonie_20200107_leeg.csv").write_bytes(b"")
    return "nightly", ["rejected: telefonie/telefonie_20200107_leeg.csv: empty file: no header row"]


def _flow_full_disk(s: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    yesterday = dt.date.today() - dt.timedelta(days=1)
    calls_on(s.raw_dir, [yesterday])

    def no_space(*args: object) -> None:
        raise OSError(errno.ENOSPC, NO_SPACE)

    import pipeline.run.job

    monkeypatch.setattr(pipeline.run.job, "publish", no_space)
    return "nightly", ["PublishFailed: the run's deliveries and figures are committed", "not published: publishing"]


FLOW_CASES: dict[str, Callable[[Settings, pytest.MonkeyPatch], tuple[str, list[str]]]] = {
    "a healthy nightly completes": _flow_healthy,
    "stale: the nightly fails": _flow_stale,
    "stale: the backfill fails": _flow_stale_backfill,
    "a key mismatch": _flow_key_mismatch,
    "a rejected delivery": _flow_rejected,
    "a full disk when publishing": _flow_full_disk,
}


@pytest.mark.parametrize("case", list(FLOW_CASES))
def test_the_prefect_flow_fails_visibly_when_status_finds_a_problem(
    prefect_api: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    from flows.backfill import backfill
    from flows.nightly import nightly

    s = settings_for(tmp_path)
    for name, value in {
        "PIPELINE_RAW_DIR": s.raw_dir,
        "PIPELINE_WAREHOUSE": s.warehouse,
        "PIPELINE_PII_KEY": PII_KEY,
        "PIPELINE_WORKERS": "1",
        "PIPELINE_RARE_BELOW": "1",
    }.items():
        monkeypatch.setenv(name, str(value))
    kind, expected = FLOW_CASES[case](s, monkeypatch)
    state = (nightly if kind == "nightly" else backfill)(return_state=True)
    artifact = _artifacts_of(state.state_details.flow_run_id)
    if not expected:
        assert state.is_completed(), state
        assert "deliveries processed | 1" in artifact and "Problems" not in artifact, artifact
        return
    assert state.is_failed(), state
    assert "## Problems (pipeline status)" in artifact, artifact
    for text in expected:
        assert text in artifact, artifact
        assert text in str(state.message) or any(text in p for p in artifact.split("\n- ")), state.message
