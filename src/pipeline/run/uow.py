"""The unit of work of one run (cosmicpython's `unit_of_work`): the one place a run's changes to the
state database are collected and committed, in one DuckDB transaction, or not at all.

It takes the readers' results as they come in (`add`), stages every source whose chunks are all in
(`stage_complete`, while the readers go on with the next source), and `commit`s the ledger, the
quarantine, the snapshot of the staged files that count, the figures and the run's own row
together. Files the readers and the writer wrote count only once that commit names them: if the
run fails, the transaction is rolled back and those files are removed (and a killed run's are removed
by the next run, `recover`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from types import TracebackType

import duckdb
import polars as pl

from pipeline.core import archive
from pipeline.core.ledger_values import DeliveryStatus, NoticeKind, RunStatus
from pipeline.core.privacy import screen_message, screen_messages, screen_name, screen_names
from pipeline.core.settings import Settings
from pipeline.run import checks, partitions, recover, retention, stage
from pipeline.run.ledger import (
    Identity,
    RunSummary,
    record_deliveries,
    record_identities,
    record_quarantine,
    record_run,
)
from pipeline.run.plan import KEEPS_COUNTING, WITHDRAWN_PRESENT, Plan
from pipeline.run.read import FILE_SCHEMA, QUARANTINE_SCHEMA, ChunkResult
from pipeline.sources import SOURCES


class UnitOfWork:
    """One run's changes, committed together (use as a context manager, then `commit`)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        settings: Settings,
        plan: Plan,
        expected: Mapping[str, int],
        summary: RunSummary,
        key: bytes,
        each_year: stage.EachYear = stage.in_this_process,
    ) -> None:
        self.con, self.settings, self.plan, self.summary, self.key = con, settings, plan, summary, key
        self.each_year = each_year
        self.waiting = Counter(expected)  # per source, the chunks still being read
        self.results: list[ChunkResult] = []
        self.staged: set[str] = set()
        self.decisions: list[stage.Decision] = []
        self.withdrawn: list[tuple[str, str]] = []  # withdrawn content read again (its file was touched)
        self.outcome = stage.Outcome()
        root = settings.versions_dir.absolute()
        self.staging = stage.Staging(root, plan.run_id, partitions.load(con, root), each_year)
        self.committed = False

    def __enter__(self) -> UnitOfWork:
        self.con.execute("BEGIN TRANSACTION")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, problem: BaseException | None, trace: TracebackType | None
    ) -> None:
        if not self.committed:
            self.con.execute("ROLLBACK")
        # Files no committed row names: those a failed run wrote, or those this commit superseded.
        recover.sweep(self.con, self.settings)

    # --- the readers' results -----------------------------------------------------------------------

    def add(self, result: ChunkResult) -> None:
        self.results.append(result)
        self.waiting[result.source] -= 1
        if not self.reading:
            self.summary.reading_ended = dt.datetime.now(dt.UTC)

    @property
    def reading(self) -> bool:
        """Whether chunks are still being read."""
        return any(self.waiting.values())

    def stage_complete(self) -> None:
        """Stage every source whose chunks are all in (in the order they completed)."""
        for result in list(self.results):
            name = result.source
            if name not in self.staged and not self.waiting[name]:
                self.stage(name)

    def stage_rest(self) -> None:
        """Stage the sources not staged yet: those read last, and those with nothing to read."""
        self.stage_complete()
        for name in SOURCES:
            if name not in self.staged:
                self.stage(name)

    def stage(self, name: str) -> None:
        self.staged.add(name)
        mine = [r for r in self.results if r.source == name]
        read = self._read_files(mine)
        decision = stage.decide_contents(self.plan, read)
        self.withdrawn += [
            (path, sha)
            for path, sha, here in read.select("bestand", "sha256", "van_landing").iter_rows()
            if here and (path, sha) in self.plan.withdrawn
        ]
        new_files = [part for r in mine for part in r.parts]
        # While the readers read, the writer decides a source's years itself; after, it hands them
        # out (to the processes or the cluster the readers used).
        self.staging.each_year = stage.in_this_process if self.reading else self.each_year
        stage.apply_source(self.con, self.staging, self.plan, decision, SOURCES[name], read, new_files, self.outcome)
        self.decisions.append(decision)

    def _read_files(self, results: list[ChunkResult]) -> pl.DataFrame:
        """One row per content read, with its source and whether its bytes came from the landing folder."""
        parts = [r.files.with_columns(pl.lit(r.source).alias("bron")) for r in results]
        schema = FILE_SCHEMA | {"van_landing": pl.Boolean, "bron": pl.String}
        return pl.concat([pl.DataFrame(schema=schema), *parts], how="diagonal")

    # --- the commit ---------------------------------------------------------------------------------------

    def commit(self) -> RunSummary:
        """Record everything the run decided and commit it in one transaction."""
        con, plan, summary = self.con, self.plan, self.summary
        now = dt.datetime.now(dt.UTC)
        decision = stage.Decision.combine(self.decisions)
        quarantine = self._quarantine()
        unreadable = [(path, reason) for r in self.results for path, reason in r.unreadable]
        landing = {path: Identity(e.size, e.mtime_ns) for path, e in plan.landing.items()}
        not_read = stage.not_read(plan, unreadable)
        record_quarantine(con, decision.ledger, quarantine)
        record_deliveries(con, plan.run_id, now, decision.ledger, decision.replaced, landing, not_read)
        record_identities(con, [*self.withdrawn, *plan.same_content], landing)
        if self.settings.retention_days is not None:
            horizon = now.date() - dt.timedelta(days=self.settings.retention_days)
            summary.retention_days = self.settings.retention_days
            summary.pseudonyms_removed = retention.erase_staged(self.staging, horizon)
            retention.erase_archive(con, self.settings, self.key, horizon, plan.run_id)
        # The blobs and files the readers and the writer wrote are on disk before the commit names them.
        archive.sync()
        partitions.record(con, self.staging.snapshot)
        partitions.create_views(con, self.staging.root, SOURCES.values())
        summary.partitions, summary.years_recomputed = self.outcome.partitions, sorted(self.outcome.years)
        self._summarise(decision.ledger, quarantine, unreadable)
        _screen(summary, self.key)
        checks.reconcile(con, None if plan.full else self.outcome.touched, self.outcome)
        # Committed is done: a run killed before it publishes is still a completed run, and the
        # published file is then behind the state database (which `pipeline status` reports).
        summary.status, summary.ended = RunStatus.DONE, dt.datetime.now(dt.UTC)
        record_run(con, summary)
        con.execute("COMMIT")
        self.committed = True
        return summary

    def _quarantine(self) -> pl.DataFrame:
        parts = [r.quarantine.with_columns(pl.lit(r.source).alias("bron")) for r in self.results]
        return pl.concat([pl.DataFrame(schema=QUARANTINE_SCHEMA | {"bron": pl.String}), *parts], how="diagonal")

    def _summarise(self, read: pl.DataFrame, quarantine: pl.DataFrame, unreadable: list[tuple[str, str]]) -> None:
        summary, plan = self.summary, self.plan
        statuses = read["status"].to_list()
        summary.processed = sum(s != DeliveryStatus.REJECTED for s in statuses)
        summary.rejected = statuses.count(DeliveryStatus.REJECTED)
        summary.rows_read = int(read["rijen"].fill_null(0).sum())
        summary.rows_valid = sum(r.rows for r in self.results)
        summary.rows_quarantined = quarantine.select("bestand", "sha256", "regel").n_unique()
        counted = {path: c.sha256 for path, c in plan.counted.items()}
        summary.rejected_files = [
            (path, (reason or "") + (KEEPS_COUNTING if counted.get(path, sha) != sha else ""))
            for path, sha, reason in read.filter(pl.col("status") == DeliveryStatus.REJECTED)
            .select("bestand", "sha256", "reden")
            .iter_rows()
        ]
        notices = [*summary.notices, *((n.kind, n.path, n.reason) for n in plan.notices)]
        notices += [(NoticeKind.REJECTED, path, reason) for path, reason in summary.rejected_files]
        notices += [(NoticeKind.SKIPPED, path, reason) for path, reason in unreadable]
        notices += [(NoticeKind.REPAIRED, path, reason) for r in self.results for path, reason in r.repaired]
        notices += [(NoticeKind.WITHDRAWN_PRESENT, path, WITHDRAWN_PRESENT) for path, _ in self.withdrawn]
        summary.notices = notices
        summary.ignored_files = [f"{path} ({reason})" for kind, path, reason in notices if kind is NoticeKind.IGNORED]
        summary.ignored = len(summary.ignored_files)
        summary.skipped = sum(kind is NoticeKind.SKIPPED for kind, _, _ in notices)


def _screen(summary: RunSummary, key: bytes) -> None:
    """What the run says of files, printed and kept in `meldingen`, with names screened for personal
    data (`bron_20200108_0611112222.csv`); the ledger keeps the real paths it recognises files by."""
    names = screen_names([path for _, path, _ in summary.notices], key)
    reasons = screen_messages([reason for _, _, reason in summary.notices], key)
    summary.notices = [(kind, names[path], reasons[reason]) for kind, path, reason in summary.notices]
    summary.rejected_files = [
        (screen_name(path, key), screen_message(reason, key)) for path, reason in summary.rejected_files
    ]
    summary.ignored_files = [screen_message(line, key) for line in summary.ignored_files]
