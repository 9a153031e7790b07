"""Flow `nightly`: take in what is new or changed in the landing folder since the last run."""

from __future__ import annotations

from prefect import flow

from flows.runner import PrefectRunner, summary_artifact
from pipeline.core.settings import Settings
from pipeline.run import run


@flow(name="nightly", log_prints=True)
def nightly() -> dict[str, object]:
    """Process new deliveries; recompute only the days they touch and the months and years above."""
    settings = Settings()
    summary = run(settings, "nightly", runner=PrefectRunner(settings.workers))
    summary_artifact(summary)
    return summary.as_dict()
