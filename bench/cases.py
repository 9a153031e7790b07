"""The benchmark's cases and their targets tables, and the published figures they must reproduce.

Standard library only: the floor's and the peer's processes import this, and their memory is measured.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
HERE: Final = Path(__file__).resolve().parent
TARGETS_DIR: Final = HERE / "targets"
SEED: Final = 2020

FIGURES: Final = ("baliebezoeken_met_afspraak", "telefoontjes_gemeente", "telefoontjes_14030", "bereikbaarheid_pct")
Figures = dict[int, dict[str, int | None]]


@dataclass(frozen=True)
class Case:
    """A backfill case: deliveries generated from `targets`, the pipeline against the floors and the
    peers, with the targets of the issue."""

    name: str
    title: str
    targets: tuple[Path, ...]
    max_ratio: float | None  # backfill wall time at most this many times the naive floor's
    max_peak_gib: float | None  # peak resident memory of the backfill's process tree below this
    pandas: bool  # run the pandas peer on these files too (it holds everything in memory)
    bi: bool = True  # time the BI queries on the published file
    duckdb: bool = True  # run the DuckDB-SQL peer on these files too
    faster_than_duckdb: bool = False  # the target: the backfill faster than the DuckDB-SQL peer
    max_writer_share: float | None = None  # the writer's time after the last chunk, as a share of the backfill
    dask: bool = False  # also a backfill over a local 2-worker Dask cluster (its writer's share)
    served: bool = False  # also the backfill deployment of `pipeline serve` on a real Prefect server


SAMPLE: Final = Case(
    name="sample",
    title="the sample (published table 2017-2020)",
    targets=(ROOT / "reference" / "kerncijfers_utrecht_2017_2020.csv",),
    max_ratio=2.0,
    max_peak_gib=None,
    pandas=True,
    served=True,
)
EIGHT_YEARS: Final = Case(
    name="8jaar_x2",
    title="8 years at twice Utrecht's volume (2013-2020)",
    targets=(TARGETS_DIR / "acht_jaar_dubbel.csv",),
    max_ratio=2.0,
    max_peak_gib=2.0,
    pandas=True,
    faster_than_duckdb=True,
    max_writer_share=0.15,
    dask=True,
)
LARGE: Final = Case(
    name="50M",
    title="about 50 M rows (make bench-large)",
    targets=(TARGETS_DIR / "vijftig_miljoen.csv",),
    max_ratio=None,
    max_peak_gib=2.5,
    pandas=False,  # some 25 GB of text in one pandas frame: more than the machine has
    duckdb=False,
)
# Validating the harness: one small year, and four small years for the nightly case.
SMOKE: Final = Case(
    name="smoke",
    title="smoke test: one year at low volume",
    targets=(TARGETS_DIR / "rook_een_jaar.csv",),
    max_ratio=2.0,
    max_peak_gib=4.0,
    pandas=True,
    max_writer_share=0.15,
)
SMOKE_HISTORY: Final = (TARGETS_DIR / "rook_vier_jaar.csv",)
NIGHTLY_HISTORY: Final = SAMPLE.targets

NIGHTLY_MAX_RATIO: Final = 1.3  # nightly with one new day: 4 years of history vs 1
SERVED_MAX_RATIO: Final = 1.1  # the served Prefect backfill's flow run at most this many times the CLI's


def naive_floor() -> Path | None:
    """`shared/bench/naive_polars.py`, the floor the issue's targets are measured against: beside the
    checkout (`../shared`), or above it for a worktree; `$PIPELINE_NAIVE_FLOOR` names it elsewhere."""
    import os

    if os.environ.get("PIPELINE_NAIVE_FLOOR"):
        return Path(os.environ["PIPELINE_NAIVE_FLOOR"])
    for folder in ROOT.parents:
        found = folder / "shared" / "bench" / "naive_polars.py"
        if found.is_file():
            return found
    return None


def read_targets(paths: Sequence[Path]) -> Figures:
    """The four published figures per year in targets tables (other columns are ignored)."""
    found: Figures = {}
    for path in paths:
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                year = int(row["jaar"])
                for name in FIGURES:
                    value = (row.get(name) or "").strip()
                    if value:
                        found.setdefault(year, {})[name] = int(value)
    return found


def differences(found: Figures, wanted: Figures) -> list[str]:
    """Where `found` differs from `wanted`, figure by figure (years `wanted` lacks are not compared)."""
    return [
        f"{year} {name}: {found.get(year, {}).get(name)} instead of {value}"
        for year, figures in sorted(wanted.items())
        for name, value in figures.items()
        if found.get(year, {}).get(name) != value
    ]
