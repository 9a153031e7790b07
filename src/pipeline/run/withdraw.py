"""`pipeline withdraw`: a delivery stops counting because someone decided so, and the ledger says who and why.

The delivery keeps its place in the ledger (status `ingetrokken`, with the moment and the reason)
and in the archive; its rows leave the staged versions and every partition they touched is
recomputed. A later run does not take the same content in again, from the landing folder or from the
archive; new content under the same name is a new delivery.
"""

from __future__ import annotations

import datetime as dt
import uuid

from pipeline.core import db
from pipeline.core.locking import writer_lock
from pipeline.core.settings import Settings
from pipeline.publish import publish
from pipeline.run import checks, stage, state
from pipeline.run.errors import PipelineError
from pipeline.run.ledger import INGETROKKEN, VERWERKT, VOLTOOID, RunSummary, record_run
from pipeline.sources import SOURCES

KIND = "intrekking"


def withdraw(settings: Settings, path: str, reason: str) -> RunSummary:
    """Withdraw the counted delivery at `path` (below the landing folder), recording `reason`."""
    if not settings.state_db.exists():
        raise PipelineError(f"there is no warehouse at {settings.warehouse} yet: nothing to withdraw")
    if not reason.strip():
        raise PipelineError("give the reason for withdrawing (--reason): the ledger records it")
    with writer_lock(settings), state.connect(settings) as con:
        found = db.first(con, "SELECT bron, sha256 FROM leveringen WHERE bestand = ? AND status = ?", [path, VERWERKT])
        if found is None:
            raise PipelineError(f"{path} is not a delivery that counts now (see the view leveringen)")
        source_name, sha = found
        now = dt.datetime.now(dt.UTC)
        summary = RunSummary(now.strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8], KIND, now)
        with db.transaction(con):
            parts = stage.withdraw(con, SOURCES[source_name], path)
            con.execute(
                "UPDATE leveringen SET status = ?, ingetrokken_op = ?, reden = ? WHERE bestand = ? AND sha256 = ?",
                [INGETROKKEN, now, reason.strip(), path, sha],
            )
            checks.reconcile(con)
            summary.partitions = len(parts.days) + len(parts.months) + len(parts.years)
            summary.years_recomputed = sorted(parts.years)
            summary.notices = [("ingetrokken", path, reason.strip())]
            summary.status, summary.ended = VOLTOOID, dt.datetime.now(dt.UTC)
            record_run(con, summary)
        publish(con, settings)
    return summary
