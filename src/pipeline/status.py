"""`pipeline status`: what an operator needs to know each morning, one line per problem.

It reads the private state database (the run ledger with failed runs, and what each run found in
the landing folder) when no run holds it, else the published warehouse, and judges:

- the last run failed;
- a source is stale: more open days than `stale_after_open_days` since its last day with records
  (days its calendar has the service closed do not count), or it has no records at all;
- open days without records between a source's first and last day (missing deliveries);
- entries of the last run that were rejected or skipped, and counted deliveries whose file left
  the landing folder;
- a run that started and never ended (killed: no run holds the writer lock, yet its row says
  `loopt`), and a state database ahead of the published file (a run committed but did not publish).

Adopted figures that the current deliveries give differently, and files that are not deliveries,
are reported without being problems.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core.db import (
    WarehouseUnavailable,
    cannot_open,
    connect_read_only,
    first,
    frame,
    open_published,
    table_exists,
)
from pipeline.core.ledger_values import IgnoredBecause, NoticeKind, RunKind, RunStatus, label
from pipeline.core.locking import held_by, idle_writer
from pipeline.core.settings import Settings
from pipeline.publish import catalog
from pipeline.publish.deliveries import last_day_with_records, missing_days, open_days_without_records
from pipeline.sources import SOURCES

SHOWN_GAPS = 15
PROBLEM_NOTICES = (NoticeKind.REJECTED, NoticeKind.SKIPPED, NoticeKind.GONE)


@dataclass
class Health:
    lines: list[str] = field(default_factory=list)  # what is so
    problems: list[str] = field(default_factory=list)  # what is wrong: one line each

    @property
    def healthy(self) -> bool:
        return not self.problems


@contextmanager
def _state(settings: Settings, health: Health) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """The state database, read-only, while no run writes it; None when it cannot be read now."""
    if not settings.state_db.exists():
        yield None
        return
    with idle_writer(settings) as idle:
        if not idle:
            health.lines.append(f"a run is in progress ({held_by(settings)}); figures below are the last published")
            yield None
            return
        try:
            con = duckdb.connect(str(settings.state_db), read_only=True)
        except duckdb.Error as problem:
            health.problems.append(f"the state database {cannot_open(settings.state_db, problem, '')}")
            yield None
            return
        try:
            yield con
        finally:
            con.close()


def _last_run(con: duckdb.DuckDBPyConnection, health: Health) -> str | None:
    runs = frame(con, "SELECT * FROM runs ORDER BY gestart_op DESC LIMIT 1")
    if runs.is_empty():
        health.problems.append("no run has been recorded yet")
        return None
    last = runs.row(0, named=True)
    health.lines.append(
        f"last run: {label(RunKind, last['soort'])} {last['run_id']} {label(RunStatus, last['status'])}, "
        f"ended {last['geeindigd_op']}: "
        f"{last['leveringen_verwerkt']} deliveries processed, {last['leveringen_afgewezen']} rejected, "
        f"{last['partities_herberekend']} partitions recomputed"
    )
    if last["status"] == RunStatus.RUNNING:
        health.problems.append(
            f"run {last['run_id']} ({label(RunKind, last['soort'])}) started "
            f"{last['gestart_op']:%Y-%m-%d %H:%M:%S} (pid "
            f"{last.get('pid')} on {last.get('host')}) and never ended: it was killed; the next run records it "
            "and cleans up after it"
        )
    elif last["status"] != RunStatus.DONE:
        health.problems.append(
            f"last run {last['run_id']} ({label(RunKind, last['soort'])}) {label(RunStatus, last['status'])}: "
            f"{last['melding'] or '-'}"
        )
    return str(last["run_id"])


def published_behind(con: duckdb.DuckDBPyConnection, warehouse: Path) -> str | None:
    """Why the published file is behind the state database (a run that committed but did not
    publish), or None when it shows the last committed run."""
    if "pid" not in frame(con, "SELECT * FROM runs LIMIT 0").columns:
        return None  # a state database of an older layout: its runs are not compared
    last = first(
        con,
        "SELECT run_id FROM runs WHERE status IN (?, ?) ORDER BY gestart_op DESC LIMIT 1",
        [RunStatus.DONE, RunStatus.NOT_PUBLISHED],
    )
    if last is None:
        return None
    shown = _published_run(warehouse)
    if shown == last[0]:
        return None
    where = f"ends with run {shown}" if shown else "shows no run"
    return (
        f"the state database holds run {last[0]}, but the published file {warehouse} {where}: it was not "
        "published; the next run publishes it"
    )


def _published_run(warehouse: Path) -> str | None:
    """The last run whose figures the published file holds."""
    if not warehouse.is_file():
        return None
    try:
        with connect_read_only(warehouse) as con:
            # the table `runs` of the published file (a view over `data.runs` in files of earlier versions)
            found = first(
                con, "SELECT run_id FROM runs WHERE status = ? ORDER BY gestart_op DESC LIMIT 1", [RunStatus.DONE]
            )
    except duckdb.Error:
        return None
    return str(found[0]) if found else None


def _notices(con: duckdb.DuckDBPyConnection, run_id: str, health: Health) -> None:
    if not table_exists(con, "meldingen"):
        return
    for kind, path, reason in con.execute(
        "SELECT soort, bestand, reden FROM meldingen WHERE run_id = ? ORDER BY soort, bestand", [run_id]
    ).fetchall():
        line = f"{label(NoticeKind, kind)}: {path}: {label(IgnoredBecause, reason)}"
        (health.problems if kind in PROBLEM_NOTICES else health.lines).append(line)


def _freshness(last_days: dict[str, dt.date | None], settings: Settings, today: dt.date, health: Health) -> None:
    closed = settings.closed_days()
    if all(day is None for day in last_days.values()):
        health.problems.append("the warehouse holds no records of any source")
        return
    for name, day in last_days.items():
        if day is None:
            health.lines.append(f"{name}: no records (never delivered)")
            continue
        stale = open_days_without_records(day, today, SOURCES[name].calendar, closed)
        health.lines.append(f"{name}: last day with records {day} ({(today - day).days} days ago)")
        if stale > settings.stale_after_open_days:
            health.problems.append(
                f"{name} is stale: no records for {stale} open days since {day} "
                f"(allowed: {settings.stale_after_open_days})"
            )


def _gaps(gaps: pl.DataFrame, health: Health) -> None:
    if gaps.is_empty():
        health.lines.append("missing deliveries: none (weekends and days the municipality is closed are not gaps)")
        return
    for (name,), group in gaps.group_by("bron", maintain_order=True):
        days = group["datum"].to_list()
        shown = ", ".join(str(d) for d in days[:SHOWN_GAPS]) + (" ..." if len(days) > SHOWN_GAPS else "")
        health.problems.append(f"missing deliveries {name}: {len(days)} open days without records: {shown}")


def check(settings: Settings, today: dt.date | None = None) -> Health:
    """The operator's view of the warehouse as of `today` (default: today)."""
    today = today or dt.date.today()
    health = Health()
    with _state(settings, health) as con:
        if con is not None:
            _from_state(con, settings, today, health)
    if con is None and not health.problems:
        _from_published(settings, today, health)
    try:  # a published file that is missing, locked or changed by a client is a problem, state or not
        health.lines += published_differences(settings.warehouse)
    except WarehouseUnavailable as problem:
        if str(problem) not in health.problems:  # found already when it was read above
            health.problems.append(str(problem))
    return health


def _from_state(con: duckdb.DuckDBPyConnection, settings: Settings, today: dt.date, health: Health) -> None:
    problems = len(health.problems)
    run_id = _last_run(con, health)
    behind = published_behind(con, settings.warehouse)
    if behind is not None and len(health.problems) == problems:  # a failed publish says so already
        health.problems.append(behind)
    if run_id is not None:
        _notices(con, run_id, health)
    last_days = {}
    for source in SOURCES.values():
        if table_exists(con, source.current_table):
            last_days[source.name] = last_day_with_records(con, source)
    _freshness(last_days, settings, today, health)
    _gaps(missing_days(con, settings.closed_days()), health)


def _from_published(settings: Settings, today: dt.date, health: Health) -> None:
    """Without the state database (a machine with only the published file, or a run in progress)."""
    try:
        with open_published(settings.warehouse) as con:
            _last_run(con, health)
            fresh = frame(con, "SELECT bron, laatste_dag_met_gegevens FROM versheid")
            gaps = frame(con, "SELECT * FROM ontbrekende_leveringen ORDER BY bron, datum")
    except WarehouseUnavailable as problem:
        health.problems.append(str(problem))
        return
    _freshness(dict(zip(fresh["bron"], fresh["laatste_dag_met_gegevens"], strict=True)), settings, today, health)
    _gaps(gaps, health)


def differences(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Figures of adopted years that the published warehouse now computes differently (empty if none)."""
    if not catalog.has(con, "verschillen_vastgesteld"):
        return pl.DataFrame()
    return frame(con, "SELECT * FROM verschillen_vastgesteld")


def difference_lines(found: pl.DataFrame) -> list[str]:
    """One line per adopted year whose figures changed since adoption (for `pipeline status` and runs)."""
    lines: list[str] = []
    if found.is_empty():
        return lines
    for (year,), group in found.group_by("jaar", maintain_order=True):
        shown = ", ".join(
            f"{r['cijfer']} {_number(r['vastgesteld'])} -> {_number(r['huidig'])}"
            for r in group.head(4).iter_rows(named=True)
        )
        more = f" and {group.height - 4} more" if group.height > 4 else ""
        lines.append(
            f"adopted figures {year} (vastgesteld {group['vastgesteld_op'][0]:%Y-%m-%d}): {group.height} now differ: "
            f"{shown}{more} (table verschillen_vastgesteld)"
        )
    return lines


def published_differences(warehouse: Path) -> list[str]:
    """The difference lines of a published warehouse (after a run)."""
    with open_published(warehouse) as con:
        return difference_lines(differences(con))


def _number(value: float | None) -> str:
    if value is None:
        return "leeg"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
