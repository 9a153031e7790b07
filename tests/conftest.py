"""Fixtures every test may ask for. The helpers the tests share are modules of `tests/support/`, and
each source's line builders live beside its tests (`tests/sources/<name>/lines.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.deliveries import Landing
from tests.support.prefect_server import launch_early, shared_server, stop_shared_server

TESTS = Path(__file__).resolve().parent
# `make test` gives whole files to its two workers in the order collected (--dist loadfile
# --no-loadscope-reorder; xdist would otherwise start the files with the most tests first). The files
# that take longest start first, so that none of them starts last and leaves the other core idle:
# longest processing time first. By a full run's seconds (setup, calls and teardown summed; 2 cores at
# load 3, 436 s, 2026-12-03, after core/test_db, kit/test_dates and the Prefect server were made
# cheaper); the others, 10 s or less, follow in the order collected.
LONGEST_FIRST = (
    "test_safety.py",  # 90 s
    "test_storage.py",  # 78 s
    "test_end_to_end.py",  # 61 s, one fixture: the sample of the published table, generated and backfilled
    "test_nightly.py",  # 56 s
    "test_scale_out.py",  # 54 s, the Dask cluster, Prefect's temporary server and the sample
    "test_scheduling.py",  # 50 s, the served nightly 39 s; the session's Prefect server boots while the first files run
    "test_bi_readers.py",  # 41 s
    "test_landing_entries.py",  # 39 s
    "test_prefect.py",  # 31 s, 46 s with Prefect's test harness
    "sources/zaken/test_golden.py",  # 31 s
    "test_idempotency.py",  # 30 s
    "test_wheel.py",  # 26 s
    "test_delivery_rules.py",  # 23 s
    "test_status_problems.py",  # 23 s
    "sources/telefonie/test_golden.py",  # 21 s
    "core/test_privacy.py",  # 15 s
    "test_generate.py",  # 15 s
    "test_bench.py",  # 14 s
    "test_freeze.py",  # 13 s
    "test_bi_clients.py",  # 11 s
    "test_partial_backfill.py",  # 11 s
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    assert all((TESTS / name).is_file() for name in rank), "LONGEST_FIRST names a file that is gone"
    # A stable sort: a file's tests stay together and in their order, so its fixtures are made once.
    items.sort(key=lambda item: rank.get(item.path.relative_to(TESTS).as_posix(), len(rank)))


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    return Landing(tmp_path)


def _shared(config: pytest.Config) -> Path:
    """The session's base temporary folder: above an xdist worker's own, which is one of the session's."""
    factory: pytest.TempPathFactory = getattr(config, "_tmp_path_factory")  # noqa: B009 (pytest's, unannotated)
    base = factory.getbasetemp()
    return base.parent if hasattr(config, "workerinput") else base


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    if any("prefect_server" in getattr(item, "fixturenames", ()) for item in session.items):
        launch_early(_shared(session.config))


@pytest.fixture(scope="session")
def prefect_server(request: pytest.FixtureRequest) -> dict[str, str]:
    """A real Prefect server for the session (tests/support/prefect_server.py): the settings that reach it."""
    return shared_server(_shared(request.config))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the process that runs the session, not a worker
        stop_shared_server(_shared(session.config))
