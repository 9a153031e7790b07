"""Files only their owner may read: the state database, the key, the archive, staging, the lock.

Everything the pipeline keeps beside the published warehouse holds what others may not see (keyed
hashes of callers, free text as delivered, the deliveries themselves), so it is made owner-only
whatever the umask: folders 0700, files 0600 (archived blobs 0400). The published warehouse is the one
file made for others: BI tools of other accounts read it, so it gets `PUBLISHED_MODE` (0644: everyone
reads, only the owner writes), also whatever the umask. The folder of the warehouse keeps the mode
it has (BI readers pass through it).

DuckDB creates its files itself: the database, its write-ahead log (again after every checkpoint)
and spill files, each with mode 0666 less the process's umask; no setting changes that. A chmod
afterwards leaves a moment in which another account can open the file, and an open descriptor keeps
its access to everything written later. A file made owner-only in advance is refused by DuckDB (an
empty file is "not a valid DuckDB database"). So while a read-write connection is open the process's
umask is 077 (`owner_only_files`): the kernel creates every file owner-only, with no moment between.
The umask belongs to the whole process, so this holds for as long as any caller is inside, and gives
the umask back after the last.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

OWNER_FILE = 0o600
OWNER_DIR = 0o700
PUBLISHED_MODE = 0o644
WAREHOUSE_DIR = 0o755
PRIVATE_UMASK = 0o077
_OTHERS = 0o077  # the group's and others' bits

_lock = threading.Lock()
_depth = 0
_saved_umask = 0


class PrivateFileExposed(ValueError):
    """A private file that others can read; the message says how to make it the owner's only."""


@contextmanager
def owner_only_files() -> Iterator[None]:
    """Every file and folder this process creates meanwhile (DuckDB's too) is its owner's only."""
    global _depth, _saved_umask
    with _lock:
        if _depth == 0:
            _saved_umask = os.umask(PRIVATE_UMASK)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                os.umask(_saved_umask)


def make_private_dir(path: Path) -> Path:
    """`path` as a folder only its owner can enter (0700), with any missing parent made the same; a
    folder already there is narrowed to 0700. Safe for a new folder: the umask can only take bits
    away from the 0700 it is made with, so it is never open to others, not even for a moment."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with suppress(FileExistsError):  # another reader made it at the same time
            folder.mkdir(mode=OWNER_DIR)
    if not path.is_dir():  # a file where the folder should be: say so here, not in whoever writes into it
        raise NotADirectoryError(f"{path} is not a folder")
    narrow(path)
    return path


def narrow(path: Path) -> None:
    """Take the group's and others' bits from a file or folder of ours that exists (made by an older
    version, or under another umask); nothing when it is missing or another account's."""
    try:
        found = path.stat(follow_symlinks=False)
    except FileNotFoundError:
        return
    if found.st_uid == os.getuid() and stat.S_IMODE(found.st_mode) & _OTHERS:
        path.chmod(stat.S_IMODE(found.st_mode) & ~_OTHERS)


def make_warehouse_dir(path: Path) -> Path:
    """The warehouse's folder, made when missing, with its missing parents, as 0755 whatever the umask:
    BI tools of other accounts pass through it to the published file; nothing private lies open in
    it. A folder already there keeps the mode its owner gave it."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=WAREHOUSE_DIR)  # never more than 0755, whatever the umask
        except FileExistsError:
            continue
        folder.chmod(WAREHOUSE_DIR)  # and no less: a new, empty folder
    return path


def check_owner_only(path: Path, what: str) -> None:
    """Refuse a private file that others can read, saying how to put it right."""
    found = stat.S_IMODE(path.stat().st_mode)
    if found & _OTHERS:
        raise PrivateFileExposed(
            f"{what} {path} can be read or changed by others (mode {found:04o}); make it the owner's only: "
            f"chmod 600 {path}"
        )


def publishable(path: Path) -> None:
    """The published warehouse, readable by BI tools of any account: `PUBLISHED_MODE` whatever the umask."""
    path.chmod(PUBLISHED_MODE)
