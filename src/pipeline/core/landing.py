"""The landing folder as a file system: what is below it and may be read.

Pure file-system code: it knows nothing of the sources or the database. The landing folder is
written by other systems and people, so nothing in it is trusted: `scan` lists every entry below
the folder without ever raising for one bad entry. Regular files that may be read are listed in
`Scan.files`; everything else (named pipes, sockets, devices, dangling links, link loops, links to
targets outside the folder, entries that cannot be examined, folders that cannot be listed) in
`Scan.skipped`, as the run's notices with an English reason. `open_below` is the one way below the
folder without following a link, which `pipeline.core.bounded_read` reads with.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.ledger_values import NoticeKind
from pipeline.core.names import shown


class LandingFolderError(Exception):
    """The landing folder itself cannot be used (missing, not a folder, not listable)."""


@dataclass(frozen=True)
class LandingFile:
    """A regular file below the landing folder that may be read.

    `path` is its path below the folder as the scan found it (POSIX separators; a name that is not
    UTF-8 is kept lossless as `os.fsdecode` gives it, so it can be opened); `target` is the path
    below the folder of the file actually read, with every symbolic link resolved (equal to `path`
    unless a link was followed); `device` and `inode` identify that file."""

    path: str
    shown: str
    target: str
    size: int
    mtime_ns: int
    device: int
    inode: int


@dataclass(frozen=True)
class Notice:
    """Something about the landing folder an operator should know, reported with the run: an entry
    the scan skips, one that is not a delivery, a delivery refused or gone, and why (English)."""

    kind: NoticeKind
    path: str  # as shown (`names.shown`)
    reason: str


@dataclass(frozen=True)
class Scan:
    files: tuple[LandingFile, ...]
    skipped: tuple[Notice, ...]  # NoticeKind.SKIPPED


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_KINDS = (
    (stat.S_ISFIFO, "named pipe (FIFO)"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


def kind_of(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return f"file of unknown type (mode {stat.S_IFMT(mode):#o})"


def error_text(error: OSError) -> str:
    return error.strerror or str(error)


def _join(parent: bytes, name: bytes) -> bytes:
    return parent + b"/" + name if parent else name


def open_below(root_fd: int, parts: list[bytes], last_flags: int) -> int:
    """Open `parts` below the folder open as `root_fd`, never following a symbolic link on the way
    (each folder on the way is opened with O_NOFOLLOW, the last part with `last_flags`)."""
    if not parts:
        return os.open(".", last_flags, dir_fd=root_fd)
    fd = root_fd
    try:
        for part in parts[:-1]:
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            if fd != root_fd:
                os.close(fd)
            fd = child
        return os.open(parts[-1], last_flags, dir_fd=fd)
    finally:
        if fd != root_fd:
            os.close(fd)


def _lstat_below(root_fd: int, parts: list[bytes]) -> os.stat_result:
    if not parts:
        return os.fstat(root_fd)
    parent = open_below(root_fd, parts[:-1], _DIR_FLAGS)
    try:
        return os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
    finally:
        os.close(parent)


def split_path(relative: bytes) -> list[bytes]:
    return [p for p in relative.split(b"/") if p]


def _open_root(root: Path) -> tuple[int, bytes]:
    """The landing folder, open, and its real path; raises `LandingFolderError` with a distinct message."""
    try:
        info = os.stat(root)
    except FileNotFoundError:
        raise LandingFolderError(f"landing folder {root} does not exist") from None
    except NotADirectoryError:
        raise LandingFolderError(f"landing folder {root} does not exist (a part of its path is a file)") from None
    except OSError as error:
        raise LandingFolderError(f"landing folder {root} cannot be examined: {error_text(error)}") from None
    if stat.S_ISREG(info.st_mode):
        raise LandingFolderError(f"landing folder {root} is a file, not a folder")
    if not stat.S_ISDIR(info.st_mode):
        raise LandingFolderError(f"landing folder {root} is a {kind_of(info.st_mode)}, not a folder")
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise LandingFolderError(f"landing folder {root} cannot be opened: {error_text(error)}") from None
    return fd, os.path.realpath(os.fsencode(root))


class _Walk:
    """One scan: folders still to list, folders listed (by device and inode), what was found."""

    def __init__(self, root_fd: int, real_root: bytes) -> None:
        self.root_fd = root_fd
        self.real_root = real_root
        self.files: list[LandingFile] = []
        self.skipped: list[tuple[bytes, Notice]] = []  # by the path as listed
        self.walked: dict[tuple[int, int], bytes] = {}
        self.linked_folders: list[tuple[bytes, bytes, tuple[int, int]]] = []  # (path, target, identity)

    def skip(self, path: bytes, reason: str) -> None:
        self.skipped.append((path, Notice(NoticeKind.SKIPPED, shown(path) or ".", reason)))

    def listed_as(self, identity: tuple[int, int]) -> str:
        return shown(self.walked[identity]) or "."

    def below_root(self, real: bytes) -> bytes | None:
        """`real` (an absolute, resolved path) relative to the folder, or None when it lies outside it."""
        if real == self.real_root:
            return b""
        prefix = self.real_root.rstrip(b"/") + b"/"
        return real[len(prefix) :] if real.startswith(prefix) else None

    def folder(self, path: bytes, real: bytes) -> None:
        """List the folder found at `path` whose resolved path below the folder is `real`, and
        every real folder below it; links to folders are kept for later (`linked_folders`)."""
        pending = [(path, real)]
        while pending:
            path, real = pending.pop()
            try:
                fd = open_below(self.root_fd, split_path(real), _DIR_FLAGS)
            except OSError as error:
                self.skip(path, f"folder cannot be listed: {error_text(error)}")
                continue
            try:
                info = os.fstat(fd)
                identity = (info.st_dev, info.st_ino)
                if identity in self.walked:
                    self.skip(path, f"folder already listed as {self.listed_as(identity)}")
                    continue
                self.walked[identity] = path
                try:
                    names = sorted(entry.name for entry in os.scandir(fd))
                except OSError as error:
                    self.skip(path, f"folder cannot be listed: {error_text(error)}")
                    continue
                folders = [self.entry(fd, _join(path, os.fsencode(n)), _join(real, os.fsencode(n))) for n in names]
                pending.extend(f for f in reversed(folders) if f is not None)  # the first name is listed first
            finally:
                os.close(fd)

    def entry(self, dir_fd: int, path: bytes, real: bytes) -> tuple[bytes, bytes] | None:
        """Record one entry of a folder; return (path, real) when it is a real folder to list."""
        name = real.rsplit(b"/", 1)[-1]
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except OSError as error:
            self.skip(path, f"cannot be examined: {error_text(error)}")
            return None
        if stat.S_ISDIR(info.st_mode):
            return path, real
        if stat.S_ISREG(info.st_mode):
            self.files.append(self.landing_file(path, real, info))
        elif stat.S_ISLNK(info.st_mode):
            self.link(dir_fd, path, real)
        else:
            self.skip(path, f"{kind_of(info.st_mode)}; only regular files are read")
        return None

    def landing_file(self, path: bytes, real: bytes, info: os.stat_result) -> LandingFile:
        return LandingFile(
            path=os.fsdecode(path),
            shown=shown(path),
            target=os.fsdecode(real),
            size=info.st_size,
            mtime_ns=info.st_mtime_ns,
            device=info.st_dev,
            inode=info.st_ino,
        )

    def link(self, dir_fd: int, path: bytes, real: bytes) -> None:
        absolute = os.path.join(self.real_root, real)
        try:
            resolved = os.path.realpath(absolute, strict=True)
        except OSError as error:
            try:
                target = shown(os.readlink(real.rsplit(b"/", 1)[-1], dir_fd=dir_fd))
            except OSError:
                target = "?"
            if error.errno in (errno.ENOENT, errno.ENOTDIR):
                self.skip(path, f"dangling symbolic link: its target {target} does not exist")
            elif error.errno == errno.ELOOP:
                self.skip(path, f"symbolic link loop (link to {target})")
            else:
                self.skip(path, f"symbolic link cannot be resolved: {error_text(error)}")
            return
        below = self.below_root(resolved)
        if below is None:
            self.skip(path, "symbolic link to a target outside the landing folder")
            return
        try:
            info = _lstat_below(self.root_fd, split_path(below))
        except OSError as error:
            self.skip(path, f"target of symbolic link cannot be examined: {error_text(error)}")
            return
        if stat.S_ISDIR(info.st_mode):
            self.linked_folders.append((path, below, (info.st_dev, info.st_ino)))
        elif stat.S_ISREG(info.st_mode):
            self.files.append(self.landing_file(path, below, info))
        elif stat.S_ISLNK(info.st_mode):  # changed since it was resolved
            self.skip(path, "symbolic link whose target changed while the folder was scanned")
        else:
            self.skip(path, f"symbolic link to a {kind_of(info.st_mode)}; only regular files are read")


def _path_bytes(path: str) -> bytes:
    return os.fsencode(path)


def scan(root: Path) -> Scan:
    """Every entry below `root`, each either a file that may be read or a skipped entry with its
    reason; both in the byte order of their paths. Never raises for one entry; raises
    `LandingFolderError` when `root` does not exist, is not a folder, or cannot be opened.

    Symbolic links whose resolved target lies inside `root` are followed, others are skipped. A
    folder is listed once: under its real path when that lies below `root` without links,
    otherwise under the first link to it in byte order; a second path to a listed folder (a link,
    a link loop, a bind mount) is skipped with the path it was listed under."""
    root_fd, real_root = _open_root(root)
    try:
        walk = _Walk(root_fd, real_root)
        walk.folder(b"", b"")
        # Folders reached through links come after every real folder, so that a folder is listed
        # under its own path when it has one; each round may find links to further folders.
        while walk.linked_folders:
            links = sorted(walk.linked_folders)
            walk.linked_folders = []
            for path, below, identity in links:
                if identity in walk.walked:
                    walk.skip(path, f"symbolic link to a folder already listed as {walk.listed_as(identity)}")
                else:
                    walk.folder(path, below)
    finally:
        os.close(root_fd)
    return Scan(
        files=tuple(sorted(walk.files, key=lambda f: _path_bytes(f.path))),
        skipped=tuple(notice for _, notice in sorted(walk.skipped, key=lambda skipped: skipped[0])),
    )
