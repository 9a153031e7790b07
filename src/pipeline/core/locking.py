"""One writer at a time: a second run waits a bounded time for the first, then stops clearly."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.core.private import OWNER_FILE, make_warehouse_dir, narrow
from pipeline.core.settings import Settings


class WriterBusy(Exception):
    pass


@contextmanager
def writer_lock(settings: Settings, poll_s: float = 0.2) -> Iterator[None]:
    """An exclusive advisory lock on `<warehouse>.lock`, released by the kernel if the process dies."""
    path = settings.lock_file
    make_warehouse_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, OWNER_FILE)  # it names the run's pid: the owner's only
    narrow(path)
    deadline = time.monotonic() + settings.lock_timeout_s
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another run"
                    raise WriterBusy(
                        f"another run holds {path} ({holder}); gave up after {settings.lock_timeout_s:g} s"
                    ) from None
                time.sleep(poll_s)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def idle_writer(settings: Settings) -> Iterator[bool]:
    """Hold off writers while reading their state: True when no run holds the lock (it is then held
    for the duration, so a run that starts waits), False when one does. Creates no file."""
    try:
        fd = os.open(settings.lock_file, os.O_RDONLY)
    except FileNotFoundError:
        yield True  # no run ever took the lock here
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def held_by(settings: Settings) -> str:
    """Who holds the writer lock, as the holder wrote it (pid and start)."""
    try:
        return settings.lock_file.read_text(errors="replace").strip() or "another run"
    except OSError:
        return "another run"
