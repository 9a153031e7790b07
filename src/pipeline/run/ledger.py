"""The ledgers: `leveringen` (every file the landing folder held, and every content of it that was
read), `quarantaine`, `runs` (what each run did) and `meldingen` (what each run found that an
operator should know). English names here, Dutch columns there.

These functions write what was decided; a delivery's status is decided in one place, the writer's
`stage.decide_contents` (the contents read, from the readers' verdict, and those they replace) and
`stage.not_read` (entries that were not read)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import polars as pl

from pipeline.core import db
from pipeline.core.ledger_values import DeliveryStatus, NoticeKind, RunKind, RunStatus

# The statuses the readers and the writer (run/read.py, run/stage.py) name in Dutch.
VERWERKT, AFGEWEZEN, VERVANGEN = DeliveryStatus.PROCESSED, DeliveryStatus.REJECTED, DeliveryStatus.REPLACED
NOT_READ = ""  # the content hash of an entry that was never read (ignored or skipped)


@dataclass
class RunSummary:
    """One run as the ledger `runs` records it."""

    run_id: str
    kind: RunKind
    started: dt.datetime
    ended: dt.datetime | None = None
    status: RunStatus = RunStatus.RUNNING
    processed: int = 0
    rejected: int = 0
    ignored: int = 0
    skipped: int = 0
    rows_read: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    partitions: int = 0
    years_recomputed: list[int] = field(default_factory=list)
    rejected_files: list[tuple[str, str]] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    notices: list[tuple[NoticeKind, str, str]] = field(default_factory=list)  # (kind, path, reason)
    retention_days: int | None = None
    pseudonyms_removed: int = 0
    message: str | None = None
    pid: int | None = None
    host: str | None = None
    reading_ended: dt.datetime | None = None  # when the last chunk was read (not in `runs`: the benchmark's)

    def as_dict(self) -> dict[str, object]:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in vars(self).items()}

    @staticmethod
    def from_dict(found: Mapping[str, object]) -> RunSummary:
        """The summary again from `as_dict` (what a flow run returns)."""
        values = {
            k: (
                dt.datetime.fromisoformat(v) if k in ("started", "ended", "reading_ended") and isinstance(v, str) else v
            )
            for k, v in found.items()
        }
        values["kind"], values["status"] = RunKind(str(values["kind"])), RunStatus(str(values["status"]))
        notices: Iterable[Sequence[str]] = values.get("notices") or []  # type: ignore[assignment]
        values["notices"] = [(NoticeKind(kind), path, reason) for kind, path, reason in notices]
        return RunSummary(**values)  # type: ignore[arg-type]


def record_run(con: duckdb.DuckDBPyConnection, summary: RunSummary) -> None:
    """The run's row in `runs` and its findings in `meldingen` (written anew on every call)."""
    con.execute("DELETE FROM runs WHERE run_id = ?", [summary.run_id])
    con.execute(
        """INSERT INTO runs (run_id, soort, gestart_op, geeindigd_op, status, leveringen_verwerkt,
           leveringen_afgewezen, leveringen_genegeerd, leveringen_overgeslagen, rijen_gelezen, rijen_geldig,
           rijen_quarantaine, partities_herberekend, jaren_herberekend, bewaartermijn_dagen,
           pseudoniemen_gewist, melding, pid, host)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            summary.run_id,
            summary.kind,
            summary.started,
            summary.ended,
            summary.status,
            summary.processed,
            summary.rejected,
            summary.ignored,
            summary.skipped,
            summary.rows_read,
            summary.rows_valid,
            summary.rows_quarantined,
            summary.partitions,
            ", ".join(str(y) for y in summary.years_recomputed) or None,
            summary.retention_days,
            summary.pseudonyms_removed,
            summary.message,
            summary.pid,
            summary.host,
        ],
    )
    con.execute("DELETE FROM meldingen WHERE run_id = ?", [summary.run_id])
    notices = pl.DataFrame(
        [(summary.run_id, kind, path, reason) for kind, path, reason in summary.notices],
        schema={"run_id": pl.String, "soort": pl.String, "bestand": pl.String, "reden": pl.String},
        orient="row",
    )
    db.insert(con, "meldingen", notices)


@dataclass(frozen=True)
class Identity:
    """How the landing folder showed a file: enough to recognise it unchanged on the next run."""

    size: int
    mtime_ns: int


def record_deliveries(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    now: dt.datetime,
    read: pl.DataFrame,
    replaced: pl.DataFrame,
    landing: Mapping[str, Identity],
    not_read: Sequence[tuple[str, str, str]],
) -> None:
    """Bring `leveringen` up to date after a run.

    `read`: one row per content read (status decided); `replaced`: contents not read, with the status
    they now have (`vervangen`); `landing`: the delivery files the landing folder holds now; `not_read`:
    (path, status, reason) of entries that are not deliveries or could not be read, as the folder
    holds them now.
    """
    rows = _read_rows(con, run_id, now, read, landing)
    with db.registered(con, "_read", rows.select("bestand", "sha256")):
        con.execute("DELETE FROM leveringen WHERE (bestand, sha256) IN (SELECT (bestand, sha256) FROM _read)")
    db.insert(con, "leveringen", rows)
    with db.registered(con, "_replaced", replaced):
        con.execute(
            """UPDATE leveringen SET status = _replaced.status FROM _replaced
               WHERE leveringen.bestand = _replaced.bestand AND leveringen.sha256 = _replaced.sha256"""
        )
    _entries(con, run_id, now, not_read, landing)
    _presence(con, now, landing)


def _read_rows(
    con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime, read: pl.DataFrame, landing: Mapping[str, Identity]
) -> pl.DataFrame:
    """The ledger rows of the contents read: a content read from the landing folder as the folder shows
    its file now; one read from the archive keeps how its file was shown when it was delivered."""
    previous = db.frame(con, "SELECT bestand, sha256, grootte_bytes, gewijzigd_ns FROM leveringen")
    known = {(r[0], r[1]): Identity(r[2], r[3]) for r in previous.iter_rows()}
    sizes, mtimes = [], []
    for path, sha, read_bytes, from_landing in read.select(
        "bestand", "sha256", "grootte_bytes", "van_landing"
    ).iter_rows():
        identity = landing.get(path) if from_landing else None
        identity = identity or known.get((path, sha)) or Identity(read_bytes, 0)
        sizes.append(identity.size)
        mtimes.append(identity.mtime_ns)
    return read.drop("van_landing").with_columns(
        pl.Series("grootte_bytes", sizes, dtype=pl.Int64),
        pl.Series("gewijzigd_ns", mtimes, dtype=pl.Int64),
        pl.lit(run_id).alias("run_id"),
        pl.lit(now).alias("gezien_op"),
    )


def _entries(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    now: dt.datetime,
    not_read: Sequence[tuple[str, str, str]],
    landing: Mapping[str, Identity],
) -> None:
    """Entries that are not deliveries, or could not be read, as the folder holds them now."""
    con.execute("DELETE FROM leveringen WHERE status IN (?, ?)", [DeliveryStatus.IGNORED, DeliveryStatus.SKIPPED])
    entries = pl.DataFrame(
        [
            {
                "bestand": path,
                "sha256": NOT_READ,
                "status": status,
                "reden": reason,
                "grootte_bytes": (landing.get(path) or Identity(0, 0)).size,
                "gewijzigd_ns": (landing.get(path) or Identity(0, 0)).mtime_ns,
                "run_id": run_id,
                "gezien_op": now,
            }
            for path, status, reason in not_read
        ],
        schema={
            "bestand": pl.String,
            "sha256": pl.String,
            "status": pl.String,
            "reden": pl.String,
            "grootte_bytes": pl.Int64,
            "gewijzigd_ns": pl.Int64,
            "run_id": pl.String,
            "gezien_op": pl.Datetime("us", "UTC"),
        },
    )
    db.insert(con, "leveringen", entries.unique(subset=["bestand"], keep="first"))


def _presence(con: duckdb.DuckDBPyConnection, now: dt.datetime, landing: Mapping[str, Identity]) -> None:
    """A delivery that counts keeps counting when its file leaves the landing folder: noted, not
    lost. Its file is in the folder only while the folder's file at its path is that delivery (the
    size and modification time recorded for it), not when the path now holds another file."""
    present = pl.DataFrame(
        [(path, identity.size, identity.mtime_ns) for path, identity in landing.items()],
        schema={"bestand": pl.String, "grootte_bytes": pl.Int64, "gewijzigd_ns": pl.Int64},
        orient="row",
    )
    with db.registered(con, "_present", present):
        con.execute(
            """UPDATE leveringen SET
                 in_landingsmap = (bestand, grootte_bytes, gewijzigd_ns) IN
                                  (SELECT (bestand, grootte_bytes, gewijzigd_ns) FROM _present),
                 ontbreekt_sinds = CASE WHEN (bestand, grootte_bytes, gewijzigd_ns) IN
                                             (SELECT (bestand, grootte_bytes, gewijzigd_ns) FROM _present)
                                        THEN NULL ELSE coalesce(ontbreekt_sinds, ?) END
               WHERE status = ?""",
            [now, VERWERKT],
        )


def record_identities(
    con: duckdb.DuckDBPyConnection, deliveries: Sequence[tuple[str, str]], landing: Mapping[str, Identity]
) -> None:
    """The files of `deliveries` (path, content) as the landing folder shows them now, so that the
    next run knows them without reading them (a withdrawn delivery whose file was touched)."""
    for path, sha in deliveries:
        identity = landing[path]
        con.execute(
            "UPDATE leveringen SET grootte_bytes = ?, gewijzigd_ns = ? WHERE bestand = ? AND sha256 = ?",
            [identity.size, identity.mtime_ns, path, sha],
        )


def record_quarantine(con: duckdb.DuckDBPyConnection, read: pl.DataFrame, quarantine: pl.DataFrame) -> None:
    """The invalid rows of the contents read in this run replace what those contents had before."""
    with db.registered(con, "_q", read.select("bestand", "sha256").unique()):
        con.execute("DELETE FROM quarantaine WHERE (bestand, sha256) IN (SELECT (bestand, sha256) FROM _q)")
    db.insert(con, "quarantaine", quarantine)
