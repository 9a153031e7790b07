"""Every run is seen: recorded as started before it reads anything, and closed when it ends.

A run killed outright (SIGKILL, the OOM killer, a power cut) cannot close its own row. The next run,
holding the writer lock, finds it still `loopt`, records it as `afgebroken` with what it found, and
cleans up after it: the staged files no commit names, its staging folder. When the killed run had
committed but not published, the state database is ahead of the published file; the next run
publishes (as every run does) and says so.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import uuid
from pathlib import Path

import duckdb

from pipeline import status
from pipeline.core import archive
from pipeline.core.ledger_values import NoticeKind, RunKind, RunStatus, label
from pipeline.core.settings import Settings
from pipeline.run import manifest, partitions
from pipeline.run.ledger import RunSummary, record_run
from pipeline.run.state import key_fingerprint

RUN_FOLDER = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")  # a run's staging folder is named by its run_id


def new_run_id(now: dt.datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


def start(con: duckdb.DuckDBPyConnection, kind: RunKind) -> RunSummary:
    """Record the run as started (`loopt`, with its process and machine), committed at once."""
    now = dt.datetime.now(dt.UTC)
    summary = RunSummary(new_run_id(now), kind, now, pid=os.getpid(), host=socket.gethostname())
    record_run(con, summary)
    return summary


def recover(con: duckdb.DuckDBPyConnection, settings: Settings, summary: RunSummary, key: bytes) -> None:
    """Record what earlier runs left and clean it up; the findings go into this run's notices. The
    archive's manifest is written again (a run killed after its commit left it behind)."""
    for run_id, kind, started, pid, host in con.execute(
        "SELECT run_id, soort, gestart_op, pid, host FROM runs WHERE status = ? AND run_id <> ? ORDER BY gestart_op",
        [RunStatus.RUNNING, summary.run_id],
    ).fetchall():
        reason = (
            f"{label(RunKind, kind)} run {run_id} started {started:%Y-%m-%d %H:%M:%S} UTC (pid {pid} on {host}) "
            "and never ended; "
            f"found by run {summary.run_id}"
        )
        con.execute(
            "UPDATE runs SET status = ?, melding = ?, geeindigd_op = NULL WHERE run_id = ?",
            [RunStatus.BROKEN_OFF, f"never ended (killed?): {reason}", run_id],
        )
        summary.notices.append((NoticeKind.BROKEN_OFF, run_id, reason))
    removed = sweep(con, settings)
    if removed:
        summary.notices.append(
            (NoticeKind.BROKEN_OFF, settings.warehouse.name, f"{removed} files of runs that did not commit removed")
        )
    _remove_leftovers(settings.staging_dir)
    behind = status.published_behind(con, settings.warehouse)
    if behind is not None:
        summary.notices.append((NoticeKind.BROKEN_OFF, settings.warehouse.name, behind))
    manifest.write(con, settings, summary.run_id, key_fingerprint(key))


def sweep(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """Remove the staged files and archive packs no committed row names (a failed or killed run's,
    or those a commit superseded), and blobs of an earlier archive whose deliveries are in packs now;
    the number of files removed. Only under the writer lock."""
    named = [
        path for (path,) in con.execute("SELECT DISTINCT archief FROM leveringen WHERE archief IS NOT NULL").fetchall()
    ]
    converted = [sha for (sha,) in con.execute("SELECT sha256 FROM leveringen WHERE archief IS NOT NULL").fetchall()]
    return partitions.sweep(settings.versions_dir, con) + archive.sweep(settings.archive_dir, named, converted)


def _remove_leftovers(staging: Path) -> None:
    """Staging folders of earlier runs (a killed run, or a chunk a failed run could not stop on a
    cluster): under the writer lock no other run is using them. DuckDB's spill folder stays."""
    if staging.is_dir():
        for folder in staging.iterdir():
            if RUN_FOLDER.fullmatch(folder.name):
                shutil.rmtree(folder, ignore_errors=True)
