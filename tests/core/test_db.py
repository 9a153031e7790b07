"""Opening the published file while a run switches in a new one (pipeline.core.db.connect_read_only).

DuckDB opens a database file by its path three times while connecting (the magic bytes, the headers,
then the blocks), so a rename between those opens gives it the old file's header and the new file's
blocks. A process renames two real DuckDB files over one path as publish does, at the moments that
matter: it watches the folder (inotify) and switches the file right after DuckDB's first or second
look at it, once in every connect this process makes. Plain connects then fail; the opener never.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import select
import shutil
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.core.db import connect_read_only

ROWS = (10, 200_000)  # two files whose headers point to blocks in different places
OPENS = 100  # connects through the opener, each meeting a switch
PLAIN_AT_MOST = 200  # plain connects, until a few failed
IN_CLOSE_NOWRITE = 0x10
EVENT = struct.Struct("iIII")  # struct inotify_event: watch, mask, cookie, length of the name that follows


def _closes(watch: int, name: str) -> int:
    """How often the file `name` was closed after reading since the last call."""
    try:
        events = os.read(watch, 65536)
    except BlockingIOError:
        return 0
    found, at = 0, 0
    while at < len(events):
        size = EVENT.unpack_from(events, at)[3]
        found += events[at + EVENT.size : at + EVENT.size + size].rstrip(b"\0").decode() == name
        at += EVENT.size + size
    return found


def _switch(folder: str, path: str, turns: Any, stop: Any) -> None:
    """For each turn this process is asked for: after the turn's first or second close of the file
    (DuckDB's look at the magic bytes, then at the headers), rename the other file over the path."""
    libc = ctypes.CDLL(None, use_errno=True)
    watch = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    assert watch >= 0 and libc.inotify_add_watch(watch, folder.encode(), IN_CLOSE_NOWRITE) >= 0, ctypes.get_errno()
    name, following = os.path.basename(path), os.path.join(folder, ".next")
    shutil.copyfile(os.path.join(folder, "1.duckdb"), following)  # a new complete file, ready to rename
    while not stop.is_set():
        turn = turns.asked.value
        if turn == turns.handled.value:
            time.sleep(0.0002)
            continue
        while _closes(watch, name):  # the previous turn's
            pass
        turns.ready.value = turn
        closed, wanted = 0, 1 + turn % 2
        while closed < wanted and turns.finished.value < turn:
            if select.select([watch], [], [], 0.005)[0]:
                closed += _closes(watch, name)
        if closed >= wanted:
            os.replace(following, path)
            turns.switches.value += 1
            shutil.copyfile(os.path.join(folder, f"{(turns.switches.value + 1) % 2}.duckdb"), following)
        turns.handled.value = turn


@dataclass
class Turns:
    """Counters shared with the switching process: the turn asked for, the one it is ready for, the
    one this process finished, the one it is done with, and the switches made."""

    asked: Any
    ready: Any
    finished: Any
    handled: Any
    switches: Any

    def meet_a_switch(self, connect: Callable[[], int]) -> int:
        self.asked.value += 1
        while self.ready.value != self.asked.value:
            time.sleep(0.0002)
        try:
            return connect()
        finally:
            self.finished.value = self.asked.value
            while self.handled.value != self.asked.value:  # a switch belongs to its turn
                time.sleep(0.0002)


@pytest.fixture
def switching(tmp_path: Path) -> Iterator[tuple[Path, Turns]]:
    for number, rows in enumerate(ROWS):
        con = duckdb.connect(str(tmp_path / f"{number}.duckdb"))
        con.execute(f"CREATE TABLE t AS SELECT range AS i FROM range({rows})")
        con.close()
    path = tmp_path / "published.duckdb"
    shutil.copyfile(tmp_path / "0.duckdb", path)
    context = multiprocessing.get_context("spawn")
    turns = Turns(*(context.Value("q", 0, lock=False) for _ in range(5)))
    stop = context.Event()
    switcher = context.Process(target=_switch, args=(str(tmp_path), str(path), turns, stop), daemon=True)
    switcher.start()
    yield path, turns
    stop.set()
    switcher.join(timeout=10)
    assert switcher.exitcode == 0, "the switching process failed"


@pytest.mark.slow
def test_a_connection_opened_while_files_are_switched_reads_one_whole_file(switching) -> None:  # type: ignore[no-untyped-def]
    path, turns = switching

    def plain() -> int:
        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.execute("SELECT count(*) FROM t").fetchone()[0]  # type: ignore[index,no-any-return]
        finally:
            con.close()

    def opened() -> int:
        with connect_read_only(path, attempts=100) as con:
            return con.execute("SELECT count(*) FROM t").fetchone()[0]  # type: ignore[index,no-any-return]

    # The switches meet DuckDB's opens: plain connects fail (else this test would prove nothing).
    failed: list[str] = []
    tried = 0
    while len(failed) < 3 and tried < PLAIN_AT_MOST:
        tried += 1
        try:
            turns.meet_a_switch(plain)
        except duckdb.Error as problem:
            failed.append(str(problem).splitlines()[0])
    assert failed, f"none of {tried} plain connects failed ({turns.switches.value} switches): the switches missed"

    before = turns.switches.value
    errors: list[str] = []
    counts: set[int] = set()
    for _ in range(OPENS):
        try:
            counts.add(turns.meet_a_switch(opened))
        except duckdb.Error as problem:
            errors.append(str(problem).splitlines()[0])
    met = turns.switches.value - before
    assert met >= OPENS // 2, f"only {met} of {OPENS} connects met a switch"
    assert not errors, f"{len(errors)} of {OPENS} connections failed while the file was switched: {errors[:3]}"
    assert counts <= set(ROWS), f"a connection read neither file: {counts}"
    print(f"plain: {len(failed)} of {tried} failed; opener: 0 of {OPENS} failed, {met} met a switch")


def test_a_damaged_file_that_does_not_change_fails_as_duckdb_says(tmp_path: Path) -> None:
    path = tmp_path / "damaged.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT range AS i FROM range(1000)")
    con.close()
    with path.open("r+b") as damaged:
        damaged.seek(4096)
        damaged.write(b"\0" * 8192)  # both database headers
    with pytest.raises(duckdb.Error), connect_read_only(path):
        pass
