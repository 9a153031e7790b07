"""The run ledger (`runs`) and the deliveries ledger (`leveringen`): what each run did, and with which files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

VERWERKT, AFGEWEZEN, GENEGEERD, VERVANGEN = "verwerkt", "afgewezen", "genegeerd", "vervangen"
VOLTOOID, MISLUKT, BEZIG = "voltooid", "mislukt", "bezig"


@dataclass
class RunSummary:
    """One run as the ledger `runs` records it (English names here, Dutch columns there)."""

    run_id: str
    kind: str
    started: dt.datetime
    ended: dt.datetime | None = None
    status: str = BEZIG
    processed: int = 0
    rejected: int = 0
    ignored: int = 0
    rows_read: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    partitions: int = 0
    years_recomputed: list[int] = field(default_factory=list)
    rejected_files: list[tuple[str, str]] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    message: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in vars(self).items()}


def record_run(con: duckdb.DuckDBPyConnection, summary: RunSummary) -> None:
    con.execute("DELETE FROM runs WHERE run_id = ?", [summary.run_id])
    con.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            summary.run_id,
            summary.kind,
            summary.started,
            summary.ended,
            summary.status,
            summary.processed,
            summary.rejected,
            summary.ignored,
            summary.rows_read,
            summary.rows_valid,
            summary.rows_quarantined,
            None,
            summary.partitions,
            ", ".join(str(y) for y in summary.years_recomputed) or None,
            summary.message,
        ],
    )
