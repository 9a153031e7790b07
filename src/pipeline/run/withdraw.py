"""`pipeline withdraw`: a delivery stops counting because someone decided so, and the ledger says who and why.

The delivery keeps its place in the ledger (status `ingetrokken`, with the moment and the reason)
and in the archive; its rows leave the staged versions and every partition they touched is
recomputed. A later run does not take the same content in again, from the landing folder or from the
archive; new content under the same name is a new delivery.
"""

from __future__ import annotations

import datetime as dt

from pipeline.core import archive, db
from pipeline.core.ledger_values import DeliveryStatus, NoticeKind, RunKind, RunStatus
from pipeline.core.locking import writer_lock
from pipeline.core.settings import Settings
from pipeline.publish import publish
from pipeline.run import checks, manifest, partitions, recover, stage, state
from pipeline.run.errors import PipelineError
from pipeline.run.ledger import RunSummary, record_run
from pipeline.sources import SOURCES


def withdraw(settings: Settings, path: str, reason: str) -> RunSummary:
    """Withdraw the counted delivery at `path` (below the landing folder), recording `reason`."""
    if not settings.state_db.exists():
        raise PipelineError(f"there is no warehouse at {settings.warehouse} yet: nothing to withdraw")
    if not reason.strip():
        raise PipelineError("give the reason for withdrawing (--reason): the ledger records it")
    with writer_lock(settings), state.connect(settings) as con:
        found = db.first(
            con,
            "SELECT bron, sha256 FROM leveringen WHERE bestand = ? AND status = ?",
            [path, DeliveryStatus.PROCESSED],
        )
        if found is None:
            raise PipelineError(f"{path} is not a delivery that counts now (see the view leveringen)")
        source_name, sha = found
        summary = recover.start(con, RunKind.WITHDRAW)
        root = settings.versions_dir.absolute()
        staging = stage.Staging(root, summary.run_id, partitions.load(con, root))
        try:
            with db.transaction(con):
                parts, ids = stage.withdraw(con, staging, SOURCES[source_name], path)
                con.execute(
                    "UPDATE leveringen SET status = ?, ingetrokken_op = ?, reden = ? WHERE bestand = ? AND sha256 = ?",
                    [DeliveryStatus.WITHDRAWN, summary.started, reason.strip(), path, sha],
                )
                archive.sync()
                partitions.record(con, staging.snapshot)
                partitions.create_views(con, root, SOURCES.values())
                checks.reconcile(con, {source_name: ids})
                summary.partitions = len(parts.days) + len(parts.months) + len(parts.years)
                summary.years_recomputed = sorted(parts.years)
                summary.notices = [(NoticeKind.WITHDRAWN, path, reason.strip())]
                summary.status, summary.ended = RunStatus.DONE, dt.datetime.now(dt.UTC)
                record_run(con, summary)
        except Exception as problem:
            summary.status, summary.message = RunStatus.FAILED, f"{type(problem).__name__}: {problem}"[:1000]
            summary.ended = dt.datetime.now(dt.UTC)
            record_run(con, summary)
            raise
        finally:
            recover.sweep(con, settings)
        manifest.write(con, settings, summary.run_id, state.stored_fingerprint(con))
        publish(con, settings)
    return summary
