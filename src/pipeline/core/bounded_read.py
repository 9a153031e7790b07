"""Reading one file the scan listed, once, into memory, with the SHA-256 of exactly the bytes read.

It refuses a file that is not the one the scan saw, one that is too large, one that changes while it
is read, and one that takes too long: `Unreadable`, whose message names the file and the reason.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.landing import LandingFile, error_text, kind_of, open_below, split_path


class Unreadable(Exception):
    """A listed file that is not read this run; the message names the file and the reason."""

    def __init__(self, entry: LandingFile, reason: str) -> None:
        super().__init__(f"{entry.shown}: {reason}")
        self.path = entry.path
        self.shown = entry.shown
        self.reason = reason


@dataclass(frozen=True)
class Read:
    """The bytes of one file, their SHA-256, and the size and modification time they were read at."""

    data: bytes
    sha256: str
    size: int
    mtime_ns: int


_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
CHUNK_BYTES = 1 << 20


def read_file(
    root: Path,
    entry: LandingFile,
    max_bytes: int,
    timeout_s: float,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    after_chunk: Callable[[int], None] | None = None,
) -> Read:
    """Read `entry` (from `scan(root)`) once into memory; raise `Unreadable` when it cannot be.

    The file is opened without following any symbolic link, at the path the scan resolved, and
    must be the regular file the scan saw (same device and inode). At most `max_bytes` are read;
    reading stops after `timeout_s` seconds (checked between chunks of `chunk_bytes`). A file whose
    size or modification time changes while it is read is refused: it is read again on the next
    run. `after_chunk(bytes_read_so_far)` is called after each chunk (progress reporting)."""
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be at least 1")
    started = time.monotonic()
    fd = _open(root, entry)
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise Unreadable(entry, f"is not a regular file but a {kind_of(before.st_mode)}")
        if (before.st_dev, before.st_ino) != (entry.device, entry.inode):
            raise Unreadable(entry, "was replaced by another file after the scan; it is read again on the next run")
        if before.st_size > max_bytes:
            raise Unreadable(entry, f"is {before.st_size} bytes, larger than the limit of {max_bytes} bytes")
        chunks = _chunks(fd, entry, max_bytes, (started, timeout_s), chunk_bytes, after_chunk)
        total = sum(len(chunk) for chunk in chunks)
        if total > max_bytes:
            raise Unreadable(entry, f"is more than {max_bytes} bytes (grew to at least {total} while being read)")
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or after.st_size != total:
        raise Unreadable(entry, "changed while being read; it is read again on the next run")
    data = b"".join(chunks)
    return Read(data=data, sha256=hashlib.sha256(data).hexdigest(), size=total, mtime_ns=after.st_mtime_ns)


def _open(root: Path, entry: LandingFile) -> int:
    """`entry` opened below `root` without following any symbolic link (a file descriptor)."""
    try:
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise Unreadable(entry, f"the landing folder cannot be opened: {error_text(error)}") from None
    try:
        return open_below(root_fd, split_path(os.fsencode(entry.target)), _READ_FLAGS)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise Unreadable(entry, "was replaced by a symbolic link after the scan") from None
        if error.errno == errno.ENOTDIR:
            raise Unreadable(entry, "a folder on its path was replaced by a link or a file after the scan") from None
        if error.errno == errno.ENOENT:
            raise Unreadable(entry, "was removed after the scan") from None
        raise Unreadable(entry, f"cannot be opened: {error_text(error)}") from None
    finally:
        os.close(root_fd)


def _chunks(
    fd: int,
    entry: LandingFile,
    max_bytes: int,
    clock: tuple[float, float],
    chunk_bytes: int,
    after_chunk: Callable[[int], None] | None,
) -> list[bytes]:
    """The file's bytes in chunks, up to one byte more than `max_bytes` (which tells that it is larger);
    `Unreadable` when reading has taken longer than `timeout_s` since `started` (`clock`)."""
    started, timeout_s = clock
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:
        try:
            chunk = os.read(fd, min(chunk_bytes, max_bytes + 1 - total))
        except BlockingIOError:
            raise Unreadable(entry, "would block; only regular files are read") from None
        except OSError as error:
            raise Unreadable(entry, f"cannot be read: {error_text(error)}") from None
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if after_chunk is not None:
            after_chunk(total)
        if time.monotonic() - started > timeout_s:
            raise Unreadable(
                entry,
                f"reading took longer than {timeout_s:g} s ({total} bytes read); it is read again on the next run",
            )
    return chunks
