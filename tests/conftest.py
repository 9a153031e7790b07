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
# longest processing time first. By a full run's seconds (setup, calls and teardown summed, 2 cores at
# load 14, 2026-12-03); the others, 70 s or less, follow in the order collected.
LONGEST_FIRST = (
    "test_end_to_end.py",  # one fixture of 128 s: the sample of the published table, generated and backfilled
    "test_idempotency.py",  # 245 s
    "test_safety.py",  # 237 s
    "test_scale_out.py",  # 203 s, 88 s of it the Dask cluster and the Prefect API
    "test_scheduling.py",  # 166 s, 59 s of it the Prefect server
    "test_nightly.py",  # 158 s
    "test_landing_entries.py",  # 133 s
    "test_storage.py",  # 127 s
    "test_prefect.py",  # 125 s
    "test_bi_readers.py",  # 109 s
    "test_wheel.py",  # 103 s
    "test_status_problems.py",  # 68 s
    "test_freeze.py",  # 66 s
    "core/test_privacy.py",  # 155 s before its properties were checked in batches, some 60 s since
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
    if any("prefect_server" in getattr(item, "fixturenames", ()) for item in session.items):
        launch_early(_shared(session.config))


@pytest.fixture(scope="session")
def prefect_server(request: pytest.FixtureRequest) -> dict[str, str]:
    """A real Prefect server for the session (tests/support/prefect_server.py): the settings that reach it."""
    return shared_server(_shared(request.config))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the process that runs the session, not a worker
        stop_shared_server(_shared(session.config))
