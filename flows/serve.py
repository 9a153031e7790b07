"""Serve the two deployments against a real Prefect API (`prefect server start`)."""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron
from prefect.settings import get_current_settings

from flows.backfill import backfill
from flows.nightly import nightly

NIGHTLY_CRON = "0 2 * * *"
TIMEZONE = "Europe/Amsterdam"


class NoPrefectServer(Exception):
    """Serving needs a Prefect server: its temporary in-process one never runs a schedule."""


def main() -> None:
    if not get_current_settings().api.url:
        raise NoPrefectServer(
            "pipeline serve needs a running Prefect server: Prefect's temporary one cannot run schedules. "
            "Start one with 'prefect server start --host 127.0.0.1' and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api, or run 'pipeline nightly' from cron instead"
        )
    serve(
        nightly.to_deployment(name="nightly", schedules=[Cron(NIGHTLY_CRON, timezone=TIMEZONE)]),  # type: ignore[arg-type]
        backfill.to_deployment(name="backfill"),  # type: ignore[arg-type]
    )
