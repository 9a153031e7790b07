"""Opening the published file while a run switches in a new one (pipeline.core.db.connect_read_only).

DuckDB opens a database file by its path three times while connecting, so a rename between those
opens gives it the old file's header and the new file's blocks. A process renames two real DuckDB
files over one path as fast as it can while this process connects again and again.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.core.db import connect_read_only

ROWS = (10, 200_000)  # two files whose headers point to blocks in different places


def _switch(folder: str, path: str, stop: multiprocessing.synchronize.Event, switches: multiprocessing.Value) -> None:  # type: ignore[name-defined]
    count = 0
    while not stop.is_set():
        source = os.path.join(folder, f"{count % 2}.duckdb")
        temporary = os.path.join(folder, ".next")
        shutil.copyfile(source, temporary)  # a new complete file, renamed over the path as publish does
        os.replace(temporary, path)
        count += 1
        switches.value = count
        # Bursts of switches 2 ms apart, then a pause: DuckDB's opens meet a switch often in a burst,
        # and a connection opened again finds the file still in a pause.
        time.sleep(0.002 if count % 20 else 0.1)


@pytest.fixture
def switching(tmp_path: Path) -> tuple[Path, multiprocessing.Value]:  # type: ignore[valid-type]
    for number, rows in enumerate(ROWS):
        con = duckdb.connect(str(tmp_path / f"{number}.duckdb"))
        con.execute(f"CREATE TABLE t AS SELECT range AS i FROM range({rows})")
        con.close()
    path = tmp_path / "published.duckdb"
    shutil.copyfile(tmp_path / "0.duckdb", path)
    context = multiprocessing.get_context("spawn")
    stop, switches = context.Event(), context.Value("q", 0, lock=False)
    switcher = context.Process(target=_switch, args=(str(tmp_path), str(path), stop, switches), daemon=True)
    switcher.start()
    deadline = time.monotonic() + 60
    while (
        switches.value < 100 and switcher.is_alive() and time.monotonic() < deadline
    ):  # a spawned process takes its time to start
        time.sleep(0.05)
    yield path, switches
    stop.set()
    switcher.join(timeout=10)


@pytest.mark.slow
def test_a_connection_opened_while_files_are_switched_reads_one_whole_file(switching) -> None:  # type: ignore[no-untyped-def]
    path, switches = switching
    errors: list[str] = []
    counts: set[int] = set()
    for _ in range(400):
        try:
            with connect_read_only(path, attempts=100) as con:
                counts.add(con.execute("SELECT count(*) FROM t").fetchone()[0])  # type: ignore[index]
        except duckdb.Error as problem:
            errors.append(str(problem).splitlines()[0])
    assert switches.value > 100, f"the files were switched {switches.value} times only"
    assert not errors, f"{len(errors)} of 400 connections failed while the file was switched: {errors[:3]}"
    assert counts <= set(ROWS), f"a connection read neither file: {counts}"


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
