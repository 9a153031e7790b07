"""The landing folder as a file system: scanning and reading what other systems drop there.

Real files, links, pipes and sockets in a temporary folder; no mocks. Anything that could block
(a named pipe) runs in a thread that the test joins with a timeout.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.atomic import atomic_output, remove_stale_temporaries, replace_atomically
from pipeline.core.bounded_read import Unreadable, read_file
from pipeline.core.landing import LandingFile, LandingFolderError, Scan, scan
from pipeline.core.ledger_values import NoticeKind
from pipeline.core.names import shown

T = TypeVar("T")
BLOCKING_LIMIT_S = 10.0
BAD_NAME = b"telefonie_2020\xff.csv"
CONTROL_NAME = "telefonie_2020\n01\t.csv"


def within(seconds: float, action: Callable[[], T], release: Callable[[], None] | None = None) -> T:
    """`action()` in a thread; fail (not hang) when it takes longer than `seconds`."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = action()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        if release is not None:
            release()
        pytest.fail(f"blocked for more than {seconds} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def release_fifo(path: Path) -> Callable[[], None]:
    """Open the pipe for writing and close it: a reader blocked on it gets end-of-file."""

    def release() -> None:
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    return release


def by_path(result: Scan) -> tuple[dict[str, LandingFile], dict[str, str]]:
    return {f.path: f for f in result.files}, {s.path: s.reason for s in result.skipped}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "raw"
    (root / "telefonie" / "2020").mkdir(parents=True)
    (root / "afspraken").mkdir()
    return root


# --- the landing folder itself -------------------------------------------------------------------


def test_a_missing_landing_folder_and_a_file_are_told_apart(tmp_path: Path) -> None:
    with pytest.raises(LandingFolderError, match=r"landing folder .*nowhere does not exist$"):
        scan(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(LandingFolderError, match=r"landing folder .*file is a file, not a folder$"):
        scan(tmp_path / "file")
    with pytest.raises(LandingFolderError, match="does not exist"):
        scan(tmp_path / "file" / "below")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(LandingFolderError, match=r"is a named pipe \(FIFO\), not a folder"):
        within(BLOCKING_LIMIT_S, lambda: scan(tmp_path / "pipe"), release_fifo(tmp_path / "pipe"))


def test_an_empty_landing_folder_and_one_reached_through_a_link(root: Path, tmp_path: Path) -> None:
    assert scan(root) == Scan(files=(), skipped=())
    (root / "telefonie" / "telefonie_20200101.csv").write_text("x\n")
    (tmp_path / "raw-link").symlink_to(root)
    found = scan(tmp_path / "raw-link")
    assert [f.path for f in found.files] == ["telefonie/telefonie_20200101.csv"]
    assert read_file(tmp_path / "raw-link", found.files[0], 100, 5).data == b"x\n"


# --- what a scan lists and what it skips --------------------------------------------------------


def test_regular_files_are_listed_in_byte_order_with_their_size_time_and_identity(root: Path) -> None:
    names = ["telefonie/2020/telefonie_20200102.csv", "telefonie/telefonie_20200101.csv", "afspraken/Z.csv"]
    names += ["afspraken/a.csv", "afspraken/a-b.csv", "afspraken/a/b.csv", "README.txt", ".hidden", "x.tmp"]
    for n, name in enumerate(names):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"a" * n)
    found = scan(root)
    assert found.skipped == ()
    assert [f.path for f in found.files] == sorted(names, key=os.fsencode), "byte order of the whole path"
    for entry in found.files:
        info = (root / entry.path).stat()
        assert entry.target == entry.path == entry.shown
        assert (entry.size, entry.mtime_ns, entry.device, entry.inode) == (
            info.st_size,
            info.st_mtime_ns,
            info.st_dev,
            info.st_ino,
        )


def test_a_named_pipe_called_like_a_delivery_is_skipped_and_never_blocks(root: Path) -> None:
    fifo = root / "telefonie" / "telefonie_20200101.csv"
    os.mkfifo(fifo)
    (root / "telefonie" / "telefonie_20200102.csv").write_text("gesprek_id\n")
    found = within(BLOCKING_LIMIT_S, lambda: scan(root), release_fifo(fifo))
    files, skipped = by_path(found)
    assert list(files) == ["telefonie/telefonie_20200102.csv"]
    assert skipped == {"telefonie/telefonie_20200101.csv": "named pipe (FIFO); only regular files are read"}


def test_a_pipe_put_in_place_of_a_scanned_file_is_refused_without_blocking(root: Path) -> None:
    path = root / "telefonie" / "telefonie_20200101.csv"
    path.write_text("gesprek_id\n")
    (entry,) = scan(root).files
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(Unreadable, match=r"telefonie_20200101\.csv: is not a regular file but a named pipe"):
        within(BLOCKING_LIMIT_S, lambda: read_file(root, entry, 1000, 5.0), release_fifo(path))


def test_links_outside_dangling_and_looping_are_skipped_with_their_reason(root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "telefonie_20200105.csv").write_text("gesprek_id\n")
    tel = root / "telefonie"
    (tel / "passwd.csv").symlink_to("/etc/passwd")
    (tel / "telefonie_20200105.csv").symlink_to(elsewhere / "telefonie_20200105.csv")
    (tel / "outside-folder").symlink_to(elsewhere)
    (tel / "up").symlink_to("../..")  # the folder above the landing folder
    (tel / "dangling.csv").symlink_to("telefonie_19990101.csv")
    (tel / "loop-a.csv").symlink_to("loop-b.csv")
    (tel / "loop-b.csv").symlink_to("loop-a.csv")
    (tel / "self.csv").symlink_to("self.csv")

    files, skipped = by_path(within(BLOCKING_LIMIT_S, lambda: scan(root)))
    assert files == {}
    outside = "symbolic link to a target outside the landing folder"
    assert skipped == {
        "telefonie/passwd.csv": outside,
        "telefonie/telefonie_20200105.csv": outside,
        "telefonie/outside-folder": outside,
        "telefonie/up": outside,
        "telefonie/dangling.csv": "dangling symbolic link: its target telefonie_19990101.csv does not exist",
        "telefonie/loop-a.csv": "symbolic link loop (link to loop-b.csv)",
        "telefonie/loop-b.csv": "symbolic link loop (link to loop-a.csv)",
        "telefonie/self.csv": "symbolic link loop (link to self.csv)",
    }


def test_links_inside_the_folder_are_followed_and_a_folder_is_listed_once(root: Path) -> None:
    tel = root / "telefonie"
    (tel / "2020" / "telefonie_20200101.csv").write_text("gesprek_id\n")
    (root / "archief" / "2019").mkdir(parents=True)
    (root / "archief" / "2019" / "telefonie_20191231.csv").write_text("gesprek_id\n1\n")
    (tel / "telefonie_20200101_link.csv").symlink_to("2020/telefonie_20200101.csv")
    (tel / "2019").symlink_to("../archief/2019")  # a folder listed under its real path and as a link
    (tel / "2020" / "again").symlink_to(root / "telefonie")  # a loop through a linked folder (absolute)
    (tel / "2020" / "root").symlink_to("../..")  # the landing folder itself
    (root / "a-first").symlink_to("telefonie/2020")  # sorts before the real folder: still listed as that

    files, skipped = by_path(within(BLOCKING_LIMIT_S, lambda: scan(root)))
    assert sorted(files) == [
        "archief/2019/telefonie_20191231.csv",
        "telefonie/2020/telefonie_20200101.csv",
        "telefonie/telefonie_20200101_link.csv",
    ]
    link = files["telefonie/telefonie_20200101_link.csv"]
    real = files["telefonie/2020/telefonie_20200101.csv"]
    assert link.target == real.path and (link.device, link.inode) == (real.device, real.inode)
    assert read_file(root, link, 100, 5).data == b"gesprek_id\n"
    assert skipped == {
        "a-first": "symbolic link to a folder already listed as telefonie/2020",
        "telefonie/2019": "symbolic link to a folder already listed as archief/2019",
        "telefonie/2020/again": "symbolic link to a folder already listed as telefonie",
        "telefonie/2020/root": "symbolic link to a folder already listed as .",
    }


def test_a_folder_reachable_only_through_a_link_inside_is_listed_under_the_link(root: Path) -> None:
    """A linked folder whose real path is listed too is listed there; one listed nowhere else under the link."""
    (root / "telefonie" / "2020" / "telefonie_20200101.csv").write_text("x\n")
    (root / "afspraken" / "alles").symlink_to("../telefonie")
    (root / "afspraken" / "alles-2020").symlink_to("../telefonie/2020")
    found = scan(root)
    assert [f.path for f in found.files] == ["telefonie/2020/telefonie_20200101.csv"]
    assert [s.path for s in found.skipped] == ["afspraken/alles", "afspraken/alles-2020"]

    only_linked = root.parent / "inner"
    only_linked.mkdir()
    (only_linked / "telefonie_20200102.csv").write_text("y\n")
    (root / "telefonie" / "extern").symlink_to(only_linked)
    assert "telefonie/extern" in {s.path for s in scan(root).skipped}, "outside the landing folder"


def test_a_socket_is_skipped(root: Path) -> None:
    path = root / "telefonie" / "telefonie_20200101.csv"
    here = os.getcwd()
    os.chdir(path.parent)  # AF_UNIX paths are limited to ~100 bytes; bind relative to the folder
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(path.name)
    finally:
        os.chdir(here)
    try:
        assert by_path(scan(root)) == ({}, {"telefonie/telefonie_20200101.csv": "socket; only regular files are read"})
    finally:
        server.close()


def test_devices_are_skipped(root: Path) -> None:
    (root / "telefonie" / "null.csv").symlink_to("/dev/null")
    tel = root / "telefonie"
    made = {}
    for name, kind, reason in (
        ("char.csv", stat.S_IFCHR, "character device"),
        ("block.csv", stat.S_IFBLK, "block device"),
    ):
        with contextlib.suppress(PermissionError):  # needs CAP_MKNOD
            os.mknod(tel / name, 0o600 | kind, os.makedev(1, 3) if kind == stat.S_IFCHR else os.makedev(7, 0))
            made[f"telefonie/{name}"] = f"{reason}; only regular files are read"
    files, skipped = by_path(scan(root))
    assert files == {}
    assert skipped == {"telefonie/null.csv": "symbolic link to a target outside the landing folder", **made}
    if not made:
        pytest.skip("devices other than through a link need CAP_MKNOD; only the link was tested")


def test_a_folder_bind_mounted_a_second_time_is_listed_once(root: Path) -> None:
    (root / "afspraken" / "afspraken_20200101.csv").write_text("afspraak_id\n")
    (root / "telefonie" / "2020" / "kopie").mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    mounted = subprocess.run(
        ["mount", "--bind", str(root / "afspraken"), str(root / "telefonie" / "2020" / "kopie")],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind mount here: {mounted.stderr.strip()}")
    try:
        files, skipped = by_path(scan(root))
    finally:
        subprocess.run(["umount", str(root / "telefonie" / "2020" / "kopie")], check=True)
    assert list(files) == ["afspraken/afspraken_20200101.csv"]
    assert skipped == {"telefonie/2020/kopie": "folder already listed as afspraken"}


def test_names_that_are_not_utf8_or_hold_control_characters_are_kept_and_read(root: Path) -> None:
    folder = os.fsencode(root / "telefonie")
    with open(os.path.join(folder, BAD_NAME), "wb") as handle:
        handle.write(b"bad name\n")
    (root / "telefonie" / CONTROL_NAME).write_text("control\n")

    files, _ = by_path(scan(root))
    bad = files[os.fsdecode(b"telefonie/" + BAD_NAME)]
    assert bad.shown == "telefonie/telefonie_2020\\xff.csv"
    assert os.fsencode(bad.path) == b"telefonie/" + BAD_NAME, "lossless"
    assert (root / bad.path).read_bytes() == b"bad name\n", "the listed path opens the file"
    assert read_file(root, bad, 100, 5).data == b"bad name\n"
    control = files["telefonie/" + CONTROL_NAME]
    assert control.shown == "telefonie/telefonie_2020\\n01\\t.csv"
    assert read_file(root, control, 100, 5).data == b"control\n"
    for entry in files.values():
        entry.shown.encode("utf-8")


def test_an_unreadable_name_in_a_skipped_entry_is_shown_escaped(root: Path) -> None:
    os.symlink(b"/etc/passwd", os.path.join(os.fsencode(root), b"x\xfe\n.csv"))
    ((skip),) = scan(root).skipped
    # A skipped entry is never opened: the run reports it by the name as shown, nothing else.
    assert skip.path == "x\\xfe\\n.csv" and skip.kind is NoticeKind.SKIPPED


# --- folders and entries the scan may not examine ------------------------------------------------


def as_nobody(action: Callable[[], object]) -> object:
    """`action()` in a forked child that has given up root (root passes any chmod); its result as JSON.

    A fork, not a new interpreter: the interpreter of the test run may lie where user nobody
    cannot reach it (pyenv below /root)."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only system calls and json until os._exit
        try:
            os.close(reader)
            try:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                message = {"result": action()}
            except PermissionError as error:
                message = {"skip": f"cannot give up root here: {error}"}
            except BaseException as error:
                message = {"error": repr(error)}
            os.write(writer, json.dumps(message).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        message = json.loads(within(BLOCKING_LIMIT_S * 6, pipe.read) or b'{"error": "no answer"}')
    os.waitpid(pid, 0)
    if "skip" in message:
        pytest.skip(message["skip"])
    assert "error" not in message, message["error"]
    return message["result"]


def scanned(root: Path) -> tuple[list[str], dict[str, str]]:
    found = scan(root)
    return [f.path for f in found.files], {s.path: s.reason for s in found.skipped}


@pytest.fixture
def shared_root() -> Iterator[Path]:
    """A landing folder another user may reach (the test's tmp_path is private to root)."""
    with tempfile.TemporaryDirectory(prefix="landing-files-") as top:
        os.chmod(top, 0o755)
        root = Path(top) / "raw"
        root.mkdir()
        yield root
        for folder, children, _ in os.walk(top):  # give back what the test took, before it is removed
            for child in children:
                os.chmod(os.path.join(folder, child), 0o755)


def test_a_folder_that_cannot_be_listed_and_entries_that_cannot_be_examined(shared_root: Path) -> None:
    root = shared_root
    (root / "telefonie").mkdir()
    (root / "telefonie" / "telefonie_20200101.csv").write_text("x\n")
    (root / "geheim").mkdir()
    (root / "geheim" / "telefonie_20200102.csv").write_text("x\n")
    (root / "zonder-x").mkdir()
    (root / "zonder-x" / "telefonie_20200103.csv").write_text("x\n")
    for folder in (root, root / "telefonie"):
        os.chmod(folder, 0o755)
    os.chmod(root / "telefonie" / "telefonie_20200101.csv", 0o644)
    os.chmod(root / "geheim", 0o000)  # neither listed nor entered
    os.chmod(root / "zonder-x", 0o444)  # listed, but its entries cannot be examined
    if os.geteuid() == 0:
        files, skipped = as_nobody(lambda: scanned(root))  # type: ignore[misc]
    else:
        files, skipped = scanned(root)
    assert files == ["telefonie/telefonie_20200101.csv"]
    assert skipped == {
        "geheim": "folder cannot be listed: Permission denied",
        "zonder-x/telefonie_20200103.csv": "cannot be examined: Permission denied",
    }


def test_a_file_without_read_permission_is_unreadable(shared_root: Path) -> None:
    root = shared_root
    os.chmod(root, 0o755)
    path = root / "telefonie_20200101.csv"
    path.write_text("x\n")
    path.chmod(0o000)
    (entry,) = scan(root).files

    def attempt() -> str:
        try:
            read_file(root, entry, 100, 5)
        except Unreadable as error:
            return str(error)
        return "read"

    outcome = as_nobody(attempt) if os.geteuid() == 0 else attempt()
    assert outcome == "telefonie_20200101.csv: cannot be opened: Permission denied"


# --- reading -------------------------------------------------------------------------------------


def test_a_read_returns_the_bytes_and_the_hash_of_exactly_those_bytes(root: Path) -> None:
    content = os.urandom(300_001)
    (root / "telefonie" / "telefonie_20200101.csv").write_bytes(content)
    (entry,) = scan(root).files
    seen: list[int] = []
    done = read_file(root, entry, len(content), 5, chunk_bytes=65536, after_chunk=seen.append)
    assert done.data == content and done.sha256 == hashlib.sha256(content).hexdigest()
    assert (done.size, done.mtime_ns) == (entry.size, entry.mtime_ns)
    assert seen == [*range(65536, len(content), 65536), len(content)]
    empty = root / "telefonie" / "telefonie_20200102.csv"
    empty.write_bytes(b"")
    (_, entry) = scan(root).files
    assert read_file(root, entry, 0, 5).sha256 == hashlib.sha256(b"").hexdigest()


def test_a_file_larger_than_the_limit_is_refused_with_both_sizes(root: Path) -> None:
    (root / "telefonie" / "telefonie_20200101.csv").write_bytes(b"x" * 1001)
    (entry,) = scan(root).files
    with pytest.raises(
        Unreadable, match=r"telefonie_20200101\.csv: is 1001 bytes, larger than the limit of 1000 bytes"
    ):
        read_file(root, entry, 1000, 5)
    assert len(read_file(root, entry, 1001, 5).data) == 1001


def test_a_file_appended_to_while_it_is_read_is_refused(root: Path) -> None:
    path = root / "telefonie" / "telefonie_20200101.csv"
    path.write_bytes(b"gesprek_id\n" + b"1\n" * 5000)
    (entry,) = scan(root).files
    first_chunk_read = threading.Event()
    appended = threading.Event()

    def writer() -> None:  # the source system, still writing its export
        first_chunk_read.wait(BLOCKING_LIMIT_S)
        with path.open("ab") as handle:
            handle.write(b"2\n" * 10)
        appended.set()

    def between_chunks(so_far: int) -> None:
        if so_far == 1024:
            first_chunk_read.set()
            assert appended.wait(BLOCKING_LIMIT_S)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with pytest.raises(Unreadable, match=r"changed while being read; it is read again on the next run"):
            read_file(root, entry, 1 << 20, BLOCKING_LIMIT_S, chunk_bytes=1024, after_chunk=between_chunks)
    finally:
        thread.join(BLOCKING_LIMIT_S)
    (entry,) = scan(root).files
    assert read_file(root, entry, 1 << 20, 5).data == path.read_bytes(), "the next run reads it whole"


def test_a_file_growing_past_the_limit_while_read_is_refused(root: Path) -> None:
    path = root / "telefonie" / "telefonie_20200101.csv"
    path.write_bytes(b"x" * 100)
    (entry,) = scan(root).files

    def grow(so_far: int) -> None:
        if so_far == 10:
            with path.open("ab") as handle:
                handle.write(b"y" * 100)

    with pytest.raises(Unreadable, match="is more than 150 bytes"):
        read_file(root, entry, 150, 5, chunk_bytes=10, after_chunk=grow)


def test_a_file_replaced_between_scan_and_read_is_refused(root: Path) -> None:
    path = root / "telefonie" / "telefonie_20200101.csv"
    path.write_text("gesprek_id\n1\n")
    (entry,) = scan(root).files
    other = path.with_name("upload.tmp")
    other.write_text("gesprek_id\n2\n")
    os.replace(other, path)  # same name, another inode
    with pytest.raises(Unreadable, match="was replaced by another file after the scan"):
        read_file(root, entry, 100, 5)

    (entry,) = scan(root).files
    path.unlink()
    path.symlink_to("/etc/passwd")
    with pytest.raises(Unreadable, match="was replaced by a symbolic link after the scan"):
        read_file(root, entry, 1 << 20, 5)
    path.unlink()
    with pytest.raises(Unreadable, match="was removed after the scan"):
        read_file(root, entry, 100, 5)


def test_a_folder_on_the_way_replaced_by_a_link_is_not_followed(root: Path, tmp_path: Path) -> None:
    (root / "telefonie" / "2020" / "telefonie_20200101.csv").write_text("x\n")
    (entry,) = scan(root).files
    outside = tmp_path / "outside"
    (root / "telefonie" / "2020").rename(outside)
    (root / "telefonie" / "2020").symlink_to(outside)
    with pytest.raises(Unreadable, match="a folder on its path was replaced by a link or a file after the scan"):
        read_file(root, entry, 100, 5)


def test_a_read_that_takes_too_long_gives_up_between_chunks(root: Path) -> None:
    (root / "telefonie" / "telefonie_20200101.csv").write_bytes(b"x" * 100)
    (entry,) = scan(root).files
    slow = threading.Event()
    with pytest.raises(Unreadable, match=r"reading took longer than 0\.01 s \(10 bytes read\)"):
        read_file(root, entry, 1000, 0.01, chunk_bytes=10, after_chunk=lambda _: slow.wait(0.05))


# --- shown ---------------------------------------------------------------------------------------


def test_shown_examples() -> None:
    assert shown("telefonie/telefonie_20200316_correctie.csv") == "telefonie/telefonie_20200316_correctie.csv"
    assert shown("Çelik é ☎.csv") == "Çelik é ☎.csv"
    assert (
        shown(b"telefonie_2020\xff.csv") == shown(os.fsdecode(b"telefonie_2020\xff.csv")) == "telefonie_2020\\xff.csv"
    )
    assert shown("a\nb\tc\rd\x00e\x7f") == "a\\nb\\tc\\rd\\x00e\\x7f"
    assert shown("a\\xff") == "a\\\\xff", "a backslash is escaped, so it never reads as an escape"
    assert shown("\u0085\u2028\u202e") == "\\u0085\\u2028\\u202e"
    assert shown(b"\xed\xa0\x80") == "\\xed\\xa0\\x80", "an encoded surrogate is not UTF-8"
    assert shown("\ud800") == "\\xed\\xa0\\x80"


def unshown(text: str) -> bytes:
    """The inverse of `shown`, to show it is one-to-one."""
    out = bytearray()
    for match in re.finditer(r"\\(\\|n|t|r|x[0-9a-f]{2}|u[0-9a-f]{4})|([^\\])", text, re.DOTALL):
        escape, plain = match.groups()
        if plain is not None:
            out += plain.encode("utf-8")
        elif escape in ("\\", "n", "t", "r"):
            out += {"\\": b"\\", "n": b"\n", "t": b"\t", "r": b"\r"}[escape]
        elif escape[0] == "x":
            out.append(int(escape[1:], 16))
        else:
            out += chr(int(escape[1:], 16)).encode("utf-8")
    assert "".join(m.group(0) for m in re.finditer(r"\\(\\|n|t|r|x..|u....)|[^\\]", text, re.DOTALL)) == text
    return bytes(out)


TRICKY = [b"\\", b"x", b"ff", b"u", b"0085", b"\xff", b"\x80", b"\n", b"\\n", b"n", b"\t", b"\x00", b"\x7f"]
TRICKY += [b"\xc2\x85", "\u202e".encode(), "\u2028".encode(), b"\xed\xa0\x80", b"\xe2\x82", b"/", "é".encode()]
tricky_names = st.lists(st.sampled_from(TRICKY), max_size=8).map(b"".join)
utf8_names = st.text(max_size=20).map(lambda t: t.encode("utf-8", "surrogatepass"))
names = st.one_of(st.binary(max_size=40), tricky_names, utf8_names)


def assert_clean(text: str) -> None:
    text.encode("utf-8")  # no surrogates
    assert not [c for c in text if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp")], text


@given(names)
def test_shown_is_utf8_without_control_characters_and_can_be_undone(name: bytes) -> None:
    text = shown(name)
    assert_clean(text)
    assert unshown(text) == name
    assert shown(os.fsdecode(name)) == text, "the lossless str of a name shows as its bytes"
    try:
        plain = name.decode("utf-8")
    except UnicodeDecodeError:
        return
    if not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in "\\\u202e" for c in plain):
        assert text == plain, "UTF-8 without control characters is shown unchanged"


@given(tricky_names, tricky_names)
def test_two_different_names_never_show_the_same(first: bytes, second: bytes) -> None:
    assert (shown(first) == shown(second)) == (first == second)


# --- writing: atomic replace ---------------------------------------------------------------------


def test_atomic_output_replaces_the_target_or_leaves_it_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    with atomic_output(target) as temporary:
        assert temporary.parent == target.parent and not temporary.exists()
        assert temporary.name.startswith(".report.html.tmp-") and f"-{os.getpid()}-" in f"-{temporary.name[17:]}"
        temporary.write_text("new")
        assert target.read_text() == "old", "the target is replaced only at the end"
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]

    with pytest.raises(RuntimeError), atomic_output(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"], "the temporary is removed"

    fresh = tmp_path / "new.csv"
    with atomic_output(fresh) as temporary:
        temporary.write_text("a;b\n")
    assert fresh.read_text() == "a;b\n"


def test_replace_atomically_needs_a_complete_file(tmp_path: Path) -> None:
    target = tmp_path / "x"
    temporary = tmp_path / ".x.tmp"
    temporary.write_text("1")
    replace_atomically(temporary, target)
    assert target.read_text() == "1" and not temporary.exists()
    with pytest.raises(FileNotFoundError):
        replace_atomically(temporary, target)
    assert target.read_text() == "1"


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "warehouse.duckdb"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = [
        tmp_path / f".warehouse.duckdb.tmp-{dead_pid}-abcd",
        tmp_path / f".warehouse.duckdb.tmp-{dead_pid}-abcd.wal",
    ]
    alive = tmp_path / f".warehouse.duckdb.tmp-{os.getpid()}-abcd"
    other = [tmp_path / ".warehouse.duckdb.tmp-x", tmp_path / f".other.tmp-{dead_pid}-a", tmp_path / "warehouse.duckdb"]
    for path in (*stale, alive, *other):
        path.write_text("x")
    assert remove_stale_temporaries(target) == sorted(stale)
    assert sorted(tmp_path.iterdir()) == sorted([alive, *other])
