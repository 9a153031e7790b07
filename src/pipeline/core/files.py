"""Files written so that a reader never sees half of one: written beside, synced, renamed into place."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_atomically(temporary: Path, target: Path) -> None:
    """Sync `temporary`, rename it over `target` and sync the folder, so the switch survives a crash."""
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    _fsync_directory(target.parent)


@contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a hidden temporary path beside `target`; on success it replaces `target`, else it is removed."""
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        yield temporary
        replace_atomically(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
