"""Flow `nightly`: take in what is new or changed in the landing folder since the last run."""

from __future__ import annotations

from prefect import flow

from flows.runner import checked_run
from pipeline.core.settings import Settings


@flow(name="nightly", log_prints=True)
def nightly() -> dict[str, object]:
    """Process new deliveries; recompute only the days they touch and the months and years above.
    Fails when the run fails or `pipeline status` then finds a problem."""
    return checked_run(Settings(), "nightly").as_dict()
