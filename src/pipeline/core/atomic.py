"""Writing a file atomically: the one way the product replaces a file it writes (the published file,
exports, the report, archive packs, the manifest)."""

from __future__ import annotations

import glob
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

_TEMPORARY = ".{name}.tmp-"


def _fsync_directory(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(temporary: Path, target: Path, durable: bool = True) -> None:
    """Make the complete file `temporary` the file `target`: a reader sees the old or the new file,
    never part of one, and after a crash the disk holds one of them. Both must be in one folder.

    `durable=False` leaves the syncing to the caller, who syncs many files at once (`os.sync`)."""
    if durable:
        fd = os.open(temporary, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.replace(temporary, target)
    if durable:
        _fsync_directory(target.parent)


@contextmanager
def atomic_output(target: Path, durable: bool = True) -> Iterator[Path]:
    """Yield a path, not yet existing, in `target`'s folder (a hidden name with this process's id)
    to write the new file to; when the block ends without an exception it replaces `target`
    atomically (`replace_atomically`), otherwise it is removed."""
    temporary = target.with_name(f"{_TEMPORARY.format(name=target.name)}{os.getpid()}-{secrets.token_hex(4)}")
    try:
        yield temporary
        replace_atomically(temporary, target, durable)
    finally:
        with suppress(FileNotFoundError):
            temporary.unlink()


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Delete the temporaries of `atomic_output(target)` left by processes that no longer run (a
    killed run), with files named after them (a database's `.wal`); return what was deleted."""
    prefix = _TEMPORARY.format(name=target.name)
    removed: list[Path] = []
    for leftover in sorted(target.parent.glob(f"{glob.escape(prefix)}*")):
        pid = leftover.name[len(prefix) :].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with suppress(FileNotFoundError):
                leftover.unlink()
            removed.append(leftover)
        except PermissionError:
            pass  # a live process of another user
    return removed
