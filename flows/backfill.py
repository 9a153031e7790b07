"""Flow `backfill`: rebuild the chosen years from every delivery in the landing folder."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.cluster import DaskCluster
from flows.runner import checked_run
from pipeline.core.periods import years_between
from pipeline.core.settings import Settings


@flow(name="backfill", log_prints=True)
def backfill(
    from_year: int | None = None,
    to_year: int | None = None,
    dask_address: str | None = None,
    dask_workers: int | None = None,
    raw_dir: Path | None = None,
    warehouse: Path | None = None,
    judge: bool = True,
    rebuild_from_archive: bool = False,
) -> dict[str, object]:
    """Rebuild years `from_year`..`to_year` (default: every year) from all deliveries. Fails when the
    run fails or `pipeline status` then finds a problem.

    The deliveries are read as tasks on the Dask scheduler at `dask_address` (e.g. tcp://host:8786),
    or on a local Dask cluster of `dask_workers` processes, or else in local processes; the commit and
    the publish run here. `raw_dir`, `warehouse`: default PIPELINE_RAW_DIR and PIPELINE_WAREHOUSE.
    `judge=False` leaves `pipeline status`'s judgement to the caller. `rebuild_from_archive`: the state
    database was lost; make it anew from the archive's manifest first.
    """
    settings = Settings.with_paths(raw_dir, warehouse)
    years = years_between(from_year, to_year)
    cluster = DaskCluster.of(dask_address, dask_workers)
    return checked_run(settings, "backfill", years, cluster, judge, rebuild_from_archive).as_dict()
