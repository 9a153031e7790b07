"""What a run will read: the landing folder compared with the deliveries ledger.

- A nightly run reads what is new in the landing folder: a path not seen before, or a path whose
  size or modification time differs from what the ledger recorded (its content is then hashed from
  the bytes that are read, and compared with the content the path held).
- Same path and same bytes is the same delivery, whatever its modification time (`touch`, a `cp`
  without `-p`, a restored backup): a file whose path and size the ledger knows but whose time
  differs is hashed here, and if it holds the content the ledger has for that path it is not read
  again; the ledger then records its new time (`Plan.same_content`), so it is hashed only once.
- A backfill reads every delivery that counts again, from the archive (the exact bytes accepted),
  plus whatever is new in the landing folder; so its figures never depend on what the landing
  folder still holds, and equal those of the nightly runs before it.
- A backfill of some years does what a nightly run does, and reads again, from the archive, every
  delivery that counts and has records in those years.

The landing folder is read defensively (`core.landing`, `core.bounded_read`): only regular files below it; every
other entry is skipped with its reason, every file that is not a delivery is ignored with its
reason, and both are reported on every run, not only the first time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import duckdb

from pipeline.core.bounded_read import Unreadable, read_file
from pipeline.core.landing import LandingFile, Notice, Scan
from pipeline.core.ledger_values import DeliveryStatus, IgnoredBecause, NoticeKind, RunKind
from pipeline.core.periods import LOCAL_TZ
from pipeline.core.settings import Settings
from pipeline.sources import SOURCES

# What a run says of a rejected re-delivery whose path counted before, and of withdrawn content seen again.
KEEPS_COUNTING = " (the delivery accepted earlier under this name keeps counting)"
WITHDRAWN_PRESENT = "withdrawn delivery: not counted"


@dataclass(frozen=True)
class Item:
    """One delivery to read: from the landing folder (`entry`) or, given its `sha256`, the archive."""

    source: str
    path: str
    size: int
    entry: LandingFile | None = None
    sha256: str | None = None
    archive: tuple[str, str] | None = None  # the pack holding it, and the pack's SHA-256


@dataclass(frozen=True)
class Counted:
    """A delivery the ledger counts: its path, content, the days its records cover, and the archive
    pack holding it (None: a blob of an earlier version's archive)."""

    source: str
    path: str
    sha256: str
    size: int
    first_day: dt.date | None
    last_day: dt.date | None
    archive: tuple[str, str] | None = None


@dataclass(frozen=True)
class Plan:
    """What one run reads, and what it found in the landing folder."""

    run_id: str
    kind: RunKind
    full: bool  # a whole backfill: everything is rebuilt from what is read
    years: tuple[int, ...] | None  # the years a backfill of some years recomputes
    items: list[Item]
    counted: dict[str, Counted]  # path -> the delivery the ledger counts for it now
    withdrawn: frozenset[tuple[str, str]]  # (path, content) withdrawn: never taken in again
    rejected: frozenset[tuple[str, str]]  # (path, content) rejected before
    landing: dict[str, LandingFile]  # path -> the delivery file in the landing folder
    notices: list[Notice]
    same_content: tuple[tuple[str, str], ...] = ()  # (path, content) found again under a new size or time


def _classify(path: str, today: dt.date) -> tuple[str | None, IgnoredBecause | None]:
    """(source, None) for a delivery, (None, reason) for a file that is not one (yet: a file that
    names a day still to come is read once that day has come, as its records cannot lie after it)."""
    name = path.rsplit("/", 1)[-1]
    folders = path.split("/")[:-1]
    if name.startswith(".") or any(part.startswith(".") for part in folders):
        return None, IgnoredBecause.HIDDEN
    if name.endswith(".tmp"):
        return None, IgnoredBecause.PARTIAL_UPLOAD
    source = SOURCES.get(folders[0]) if folders else None
    if source is None:
        return None, IgnoredBecause.NOT_IN_A_SOURCE_FOLDER
    match = source.file_pattern.match(name)
    if match is None:
        return None, IgnoredBecause.NAME_NOT_A_DELIVERY
    try:
        export_day = dt.datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None, IgnoredBecause.EXPORT_DAY_NOT_A_DATE
    if export_day > today:
        return None, IgnoredBecause.EXPORT_DAY_AHEAD
    return source.name, None


def _counted(con: duckdb.DuckDBPyConnection) -> dict[str, Counted]:
    rows = con.execute(
        "SELECT bron, bestand, sha256, grootte_bytes, eerste_dag, laatste_dag, archief, archief_sha256 "
        "FROM leveringen WHERE status = ?",
        [DeliveryStatus.PROCESSED],
    ).fetchall()
    return {
        path: Counted(source, path, sha, size, first, last, (pack, pack_sha) if pack else None)
        for source, path, sha, size, first, last, pack, pack_sha in rows
    }


def _current_contents(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int], dict[str, tuple[str, str | None]]]:
    """(path, size) -> {content: (status, reason)} of the contents the ledger holds for a path now:
    the one that counts, a rejected or a withdrawn one (not those another content replaced)."""
    found: dict[tuple[str, int], dict[str, tuple[str, str | None]]] = {}
    for path, size, sha, status, reason in con.execute(
        "SELECT bestand, grootte_bytes, sha256, status, reden FROM leveringen WHERE status IN (?, ?, ?)",
        [DeliveryStatus.PROCESSED, DeliveryStatus.REJECTED, DeliveryStatus.WITHDRAWN],
    ).fetchall():
        found.setdefault((path, size), {})[sha] = (status, reason)
    return found


def _sha256(settings: Settings, entry: LandingFile) -> str | None:
    """The content of a landing file, read as a reader reads it; None if it cannot be read now (the
    reader then says why)."""
    try:
        return read_file(settings.raw_dir, entry, settings.max_delivery_mb << 20, settings.read_timeout_s).sha256
    except Unreadable:
        return None


def make_plan(
    con: duckdb.DuckDBPyConnection,
    scan: Scan,
    kind: RunKind,
    years: Iterable[int] | None,
    settings: Settings,
    run_id: str | None = None,
) -> Plan:
    """Compare the landing folder with the ledger and decide what this run reads (for run `run_id`)."""
    chosen = tuple(sorted(set(years))) if years is not None else None
    full = kind is RunKind.BACKFILL and chosen is None
    counted = _counted(con)
    seen = _seen(con)
    current = _current_contents(con)
    same_content: list[tuple[str, str]] = []
    notices = list(scan.skipped)
    landing: dict[str, LandingFile] = {}
    items: list[Item] = []
    today = dt.datetime.now(ZoneInfo(LOCAL_TZ)).date()
    for entry in scan.files:
        source, reason = _classify(entry.shown, today)
        if source is None:
            notices.append(Notice(NoticeKind.IGNORED, entry.shown, reason or ""))
            continue
        landing[entry.shown] = entry
        status, why = seen.get((entry.shown, entry.size, entry.mtime_ns), (None, None))
        if status is None and (entry.shown, entry.size) in current:  # touched, copied, restored?
            sha = _sha256(settings, entry)
            if sha is not None and sha in current[(entry.shown, entry.size)]:
                status, why = current[(entry.shown, entry.size)][sha]
                same_content.append((entry.shown, sha))
        if status == DeliveryStatus.PROCESSED:
            continue  # what counts for this path; a backfill reads it from the archive
        if status == DeliveryStatus.WITHDRAWN:
            notices.append(Notice(NoticeKind.WITHDRAWN_PRESENT, entry.shown, WITHDRAWN_PRESENT))
        elif status == DeliveryStatus.REJECTED and not full:
            kept = KEEPS_COUNTING if entry.shown in counted else ""
            notices.append(Notice(NoticeKind.REJECTED, entry.shown, f"{why}{kept}"))
        else:  # new, changed, content the path held before, or rejected and judged again by a backfill
            items.append(Item(source, entry.shown, entry.size, entry=entry))
    gone, archived = _archived(counted, landing, full, chosen)
    return Plan(
        run_id=run_id or dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8],
        kind=kind,
        full=full,
        years=chosen,
        items=items + archived,
        counted=counted,
        withdrawn=_contents(con, DeliveryStatus.WITHDRAWN),
        rejected=_contents(con, DeliveryStatus.REJECTED),
        landing=landing,
        notices=notices + gone,
        same_content=tuple(same_content),
    )


def _seen(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int, int], tuple[str, str]]:
    """(path, size, mtime) -> (status, reason) of every entry the ledger has seen."""
    return {
        (path, size, mtime): (status, reason)
        for path, size, mtime, status, reason in con.execute(
            "SELECT bestand, grootte_bytes, gewijzigd_ns, status, reden FROM leveringen"
        ).fetchall()
    }


def _archived(
    counted: dict[str, Counted], landing: dict[str, LandingFile], full: bool, chosen: tuple[int, ...] | None
) -> tuple[list[Notice], list[Item]]:
    """The counted deliveries whose file left the landing folder (they keep counting), and those this
    run reads again from the archive (every one in a whole backfill, else those with records in the
    chosen years); the landing folder's file at its path may repair a damaged pack."""
    gone = [
        Notice(NoticeKind.GONE, path, "no longer in the landing folder; the archived delivery keeps counting")
        for path in sorted(counted)
        if path not in landing
    ]
    archived = [
        Item(
            delivery.source,
            path,
            delivery.size,
            entry=landing.get(path),
            sha256=delivery.sha256,
            archive=delivery.archive,
        )
        for path, delivery in sorted(counted.items())
        if full or (chosen and _overlaps(delivery, chosen))
    ]
    return gone, archived


def _contents(con: duckdb.DuckDBPyConnection, status: str) -> frozenset[tuple[str, str]]:
    found = con.execute("SELECT bestand, sha256 FROM leveringen WHERE status = ?", [status]).fetchall()
    return frozenset((path, sha) for path, sha in found)


def _overlaps(delivery: Counted, years: tuple[int, ...]) -> bool:
    if delivery.first_day is None or delivery.last_day is None:
        return False
    return any(delivery.first_day.year <= year <= delivery.last_day.year for year in years)
