"""Flow `backfill`: rebuild the chosen years from every delivery in the landing folder."""

from __future__ import annotations

from prefect import flow

from flows.runner import checked_run
from pipeline.core.settings import Settings


@flow(name="backfill", log_prints=True)
def backfill(from_year: int | None = None, to_year: int | None = None) -> dict[str, object]:
    """Rebuild years `from_year`..`to_year` (default: every year) from all deliveries. Fails when the
    run fails or `pipeline status` then finds a problem."""
    first, last = from_year or to_year, to_year or from_year
    years = range(first, last + 1) if first is not None and last is not None else None
    return checked_run(Settings(), "backfill", years).as_dict()
