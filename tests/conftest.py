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
# longest processing time first. By a quiet full run's seconds (setup, calls and teardown summed, 2 cores,
# 446 s, 2026-12-03), less what the tests' own changes since took out (measured file by file); the
# others, 10 s or less, follow in the order collected.
LONGEST_FIRST = (
    "test_safety.py",  # 94 s
    "test_storage.py",  # 61 s
    "test_scale_out.py",  # 60 s, 36 s of it the Dask cluster, Prefect's temporary server and the sample
    "test_end_to_end.py",  # 57 s, one fixture: the sample of the published table, generated and backfilled
    "test_nightly.py",  # 44 s
    "test_landing_entries.py",  # 43 s
    "test_idempotency.py",  # 42 s
    "test_scheduling.py",  # 41 s (60 s with its own server; the session's boots while the files above run)
    "test_bi_readers.py",  # 38 s
    "test_prefect.py",  # 31 s (46 s with Prefect's test harness)
    "sources/zaken/test_golden.py",  # 26 s
    "sources/telefonie/test_golden.py",  # 25 s
    "test_delivery_rules.py",  # 23 s
    "test_wheel.py",  # 23 s
    "test_status_problems.py",  # 19 s
    "test_bench.py",  # 16 s
    "core/test_privacy.py",  # 12 s
    "test_generate.py",  # 12 s
    "test_freeze.py",  # 10 s
    "test_bi_clients.py",  # 10 s
    # core/test_db.py (29 s, 7 s since its switches are placed) and kit/test_dates.py (28 s, 7 s since
    # its properties read batches) are among the others now.
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
