"""Serve the two deployments against a real Prefect API (`prefect server start`)."""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron

from flows.backfill import backfill
from flows.nightly import nightly

NIGHTLY_CRON = "0 2 * * *"
TIMEZONE = "Europe/Amsterdam"


def main() -> None:
    serve(
        nightly.to_deployment(name="nightly", schedules=[Cron(NIGHTLY_CRON, timezone=TIMEZONE)]),  # type: ignore[arg-type]
        backfill.to_deployment(name="backfill"),  # type: ignore[arg-type]
    )
