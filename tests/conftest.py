"""Fixtures every test may ask for. The helpers the tests share are modules of `tests/support/`, and
each source's line builders live beside its tests (`tests/sources/<name>/lines.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.deliveries import Landing

TESTS = Path(__file__).resolve().parent
# `make test` gives whole files to its two workers in the order collected (--dist loadfile
# --no-loadscope-reorder; xdist would otherwise start the files with the most tests first). The files
# that take longest start first, so that none of them starts last and leaves the other core idle:
# longest processing time first. Slowest first by a full run's seconds (setup and calls, 2 loaded
# cores, 2026-12-03); the others follow in the order collected.
LONGEST_FIRST = (
    "test_end_to_end.py",  # the sample of the published table, generated and backfilled: 135 s
    "test_safety.py",
    "test_prefect.py",
    "test_storage.py",
    "test_scheduling.py",
    "test_bi_readers.py",
    "test_scale_out.py",
    "test_landing_entries.py",
    "test_idempotency.py",
    "test_nightly.py",
    "core/test_privacy.py",
    "test_wheel.py",
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
