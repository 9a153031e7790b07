"""Flow `nightly`: take in what is new or changed in the landing folder since the last run."""

from __future__ import annotations

from prefect import flow

from flows.runner import PrefectRunner, summary_artifact
from pipeline import jobs
from pipeline.settings import Settings


@flow(name="nightly", log_prints=True)
def nightly() -> dict[str, object]:
    """Process new deliveries; recompute only the days they touch and the months and years above."""
    summary = jobs.run(Settings(), "nightly", runner=PrefectRunner())
    summary_artifact(summary)
    return summary.as_dict()
