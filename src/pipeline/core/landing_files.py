"""The landing folder as a file system: what can be read there, and reading it safely.

Pure file-system code: it knows nothing of the sources or the database. The landing folder is
written by other systems and people, so nothing in it is trusted:

- `scan` lists every entry below the folder without ever raising for one bad entry. Regular files
  that may be read are listed in `Scan.files`; everything else (named pipes, sockets, devices,
  dangling links, link loops, links to targets outside the folder, entries that cannot be
  examined, folders that cannot be listed) in `Scan.skipped`, with an English reason.
- `read_file` reads one listed file once, into memory, and hashes exactly the bytes it returns;
  it refuses a file that is not the one the scan saw, one that is too large, one that changes
  while it is read, and one that takes too long.
- `shown` turns any file name into text that is valid UTF-8 without control characters, for
  messages and for storing in a database; different names never show the same.
- `atomic_output` / `replace_atomically`: the one way the product replaces a file it writes.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# Names shown in messages and stored in a UTF-8 database
# ---------------------------------------------------------------------------------------------

_SHORT_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
# Characters that change how text around them is laid out: line and paragraph separators and the
# bidirectional controls ("Trojan Source"). Valid UTF-8, but not shown as they are in a message.
_LAYOUT_CONTROLS = frozenset("\u2028\u2029\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# Every character `_shown_char` changes; the rest of a name is kept as it is (fast for plain names).
_ESCAPED = re.compile(r"[\\\x00-\x1f\x7f-\x9f\ud800-\udfff" + "".join(sorted(_LAYOUT_CONTROLS)) + "]")


def _shown_char(char: str) -> str:
    code = ord(char)
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8 (surrogateescape); always >= 0x80
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if 0x80 <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or char in _LAYOUT_CONTROLS:
        return f"\\u{code:04x}"
    return char


def shown(path: str | bytes) -> str:
    """`path` as text for messages and a UTF-8 database: valid UTF-8 unchanged, except that a
    backslash is doubled, every byte that is not UTF-8 is shown as `\\xNN` (lower-case hex),
    control characters as `\\n`, `\\t`, `\\r`, `\\xNN` (C0, DEL) or `\\uNNNN` (C1, line and paragraph
    separators, bidirectional controls). The result always encodes as UTF-8, holds no control
    character, and two different names never show the same (every escape starts with a backslash
    and a backslash itself is escaped).

    A `str` is taken as `os.fsdecode` gives it (undecodable bytes as lone surrogates)."""
    if isinstance(path, str):
        try:
            raw = os.fsencode(path)
        except UnicodeEncodeError:  # a lone surrogate that did not come from a byte
            raw = path.encode("utf-8", "surrogatepass")
    else:
        raw = bytes(path)
    return _ESCAPED.sub(lambda m: _shown_char(m.group()), raw.decode("utf-8", "surrogateescape"))


# ---------------------------------------------------------------------------------------------
# Scanning
# ---------------------------------------------------------------------------------------------


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
class Skipped:
    """An entry below the landing folder that is not read, and why (English, for the run report)."""

    path: str
    shown: str
    reason: str


@dataclass(frozen=True)
class Scan:
    files: tuple[LandingFile, ...]
    skipped: tuple[Skipped, ...]


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_KINDS = (
    (stat.S_ISFIFO, "named pipe (FIFO)"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return f"file of unknown type (mode {stat.S_IFMT(mode):#o})"


def _error_text(error: OSError) -> str:
    return error.strerror or str(error)


def _join(parent: bytes, name: bytes) -> bytes:
    return parent + b"/" + name if parent else name


def _open_below(root_fd: int, parts: list[bytes], last_flags: int) -> int:
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
    parent = _open_below(root_fd, parts[:-1], _DIR_FLAGS)
    try:
        return os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
    finally:
        os.close(parent)


def _split(relative: bytes) -> list[bytes]:
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
        raise LandingFolderError(f"landing folder {root} cannot be examined: {_error_text(error)}") from None
    if stat.S_ISREG(info.st_mode):
        raise LandingFolderError(f"landing folder {root} is a file, not a folder")
    if not stat.S_ISDIR(info.st_mode):
        raise LandingFolderError(f"landing folder {root} is a {_kind(info.st_mode)}, not a folder")
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise LandingFolderError(f"landing folder {root} cannot be opened: {_error_text(error)}") from None
    return fd, os.path.realpath(os.fsencode(root))


class _Walk:
    """One scan: folders still to list, folders listed (by device and inode), what was found."""

    def __init__(self, root_fd: int, real_root: bytes) -> None:
        self.root_fd = root_fd
        self.real_root = real_root
        self.files: list[LandingFile] = []
        self.skipped: list[Skipped] = []
        self.walked: dict[tuple[int, int], bytes] = {}
        self.linked_folders: list[tuple[bytes, bytes, tuple[int, int]]] = []  # (path, target, identity)

    def skip(self, path: bytes, reason: str) -> None:
        self.skipped.append(Skipped(os.fsdecode(path), shown(path) or ".", reason))

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
                fd = _open_below(self.root_fd, _split(real), _DIR_FLAGS)
            except OSError as error:
                self.skip(path, f"folder cannot be listed: {_error_text(error)}")
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
                    self.skip(path, f"folder cannot be listed: {_error_text(error)}")
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
            self.skip(path, f"cannot be examined: {_error_text(error)}")
            return None
        if stat.S_ISDIR(info.st_mode):
            return path, real
        if stat.S_ISREG(info.st_mode):
            self.files.append(self.landing_file(path, real, info))
        elif stat.S_ISLNK(info.st_mode):
            self.link(dir_fd, path, real)
        else:
            self.skip(path, f"{_kind(info.st_mode)}; only regular files are read")
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
                self.skip(path, f"symbolic link cannot be resolved: {_error_text(error)}")
            return
        below = self.below_root(resolved)
        if below is None:
            self.skip(path, "symbolic link to a target outside the landing folder")
            return
        try:
            info = _lstat_below(self.root_fd, _split(below))
        except OSError as error:
            self.skip(path, f"target of symbolic link cannot be examined: {_error_text(error)}")
            return
        if stat.S_ISDIR(info.st_mode):
            self.linked_folders.append((path, below, (info.st_dev, info.st_ino)))
        elif stat.S_ISREG(info.st_mode):
            self.files.append(self.landing_file(path, below, info))
        elif stat.S_ISLNK(info.st_mode):  # changed since it was resolved
            self.skip(path, "symbolic link whose target changed while the folder was scanned")
        else:
            self.skip(path, f"symbolic link to a {_kind(info.st_mode)}; only regular files are read")


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
        skipped=tuple(sorted(walk.skipped, key=lambda s: _path_bytes(s.path))),
    )


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


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
    try:
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise Unreadable(entry, f"the landing folder cannot be opened: {_error_text(error)}") from None
    try:
        fd = _open_below(root_fd, _split(os.fsencode(entry.target)), _READ_FLAGS)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise Unreadable(entry, "was replaced by a symbolic link after the scan") from None
        if error.errno == errno.ENOTDIR:
            raise Unreadable(entry, "a folder on its path was replaced by a link or a file after the scan") from None
        if error.errno == errno.ENOENT:
            raise Unreadable(entry, "was removed after the scan") from None
        raise Unreadable(entry, f"cannot be opened: {_error_text(error)}") from None
    finally:
        os.close(root_fd)
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise Unreadable(entry, f"is not a regular file but a {_kind(before.st_mode)}")
        if (before.st_dev, before.st_ino) != (entry.device, entry.inode):
            raise Unreadable(entry, "was replaced by another file after the scan; it is read again on the next run")
        if before.st_size > max_bytes:
            raise Unreadable(entry, f"is {before.st_size} bytes, larger than the limit of {max_bytes} bytes")
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            try:
                chunk = os.read(fd, min(chunk_bytes, max_bytes + 1 - total))
            except BlockingIOError:
                raise Unreadable(entry, "would block; only regular files are read") from None
            except OSError as error:
                raise Unreadable(entry, f"cannot be read: {_error_text(error)}") from None
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
        if total > max_bytes:
            raise Unreadable(entry, f"is more than {max_bytes} bytes (grew to at least {total} while being read)")
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or after.st_size != total:
        raise Unreadable(entry, "changed while being read; it is read again on the next run")
    data = b"".join(chunks)
    return Read(data=data, sha256=hashlib.sha256(data).hexdigest(), size=total, mtime_ns=after.st_mtime_ns)


# ---------------------------------------------------------------------------------------------
# Writing: the one atomic replace of the product
# ---------------------------------------------------------------------------------------------

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
