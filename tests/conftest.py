"""Fixtures every test may ask for. The helpers the tests share are modules of `tests/support/`, and
each source's line builders live beside its tests (`tests/sources/<name>/lines.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.deliveries import Landing


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    return Landing(tmp_path)
