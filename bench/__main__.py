"""Nightly cost against history size, and the cost of a run with nothing new.

Generates four years of sample deliveries, holds back the last days of 2020, builds a warehouse
on one year of history (2020) and one on four (2017-2020), then times nightly runs that each
bring one new day. The figure that matters is the ratio of the two medians (target <= 1.3):
both are measured here, in this process tree, so the machine's speed cancels out.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from pipeline import run as jobs
from pipeline.core.settings import Settings
from pipeline.sample import generate

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "reference" / "kerncijfers_utrecht_2017_2020.csv"
HELD_BACK = ("20201215", "20201216", "20201217", "20201218")  # export days: each brings one new day
SAMPLES = 3


def _export_day(path: Path) -> str:
    return path.name.split("_")[1][:8]


def _landing(sample: Path, target: Path, first_year: int) -> list[Path]:
    """Copy deliveries exported from `first_year` on, except the held-back days; return those."""
    held: list[Path] = []
    for path in sorted(sample.rglob("*.csv")):
        day = _export_day(path)
        if int(day[:4]) < first_year:
            continue
        if day in HELD_BACK:
            held.append(path)
            continue
        destination = target / path.relative_to(sample)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    return held


def _time(settings: Settings) -> tuple[float, jobs.RunSummary]:
    start = time.perf_counter()
    summary = jobs.run(settings, "nightly")
    return time.perf_counter() - start, summary


def _bring(sample: Path, landing: Path, held: list[Path], day: str) -> None:
    for path in held:
        if _export_day(path) == day:
            destination = landing / path.relative_to(sample)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
    try:
        sample = work / "sample"
        started = time.perf_counter()
        generate(TARGETS, sample, seed=2020)
        print(f"generated 2017-2020 sample deliveries in {time.perf_counter() - started:.1f} s")
        results: dict[str, list[float]] = {}
        nothing_new = 0.0
        for label, first_year in (("1 year", 2020), ("4 years", 2017)):
            settings = Settings(
                raw_dir=work / label / "raw", warehouse=work / label / "wh" / "w.duckdb", pii_key="b" * 32
            )
            held = _landing(sample, settings.raw_dir, first_year)
            started = time.perf_counter()
            jobs.run(settings, "backfill")
            print(f"{label} of history: backfill {time.perf_counter() - started:.1f} s")
            timings = []
            for day in HELD_BACK[:SAMPLES]:
                _bring(sample, settings.raw_dir, held, day)
                seconds, summary = _time(settings)
                assert summary.processed >= 1, summary
                timings.append(seconds)
            results[label] = timings
            print(f"{label} of history: nightly with one new day " + ", ".join(f"{t:.2f}" for t in timings) + " s")
            if first_year == 2017:
                nothing_new, summary = _time(settings)
                assert summary.processed == 0
        ratio = statistics.median(results["4 years"]) / statistics.median(results["1 year"])
        print(f"nightly with one new day, 4 years vs 1 year of history: ratio {ratio:.2f} (target <= 1.3)")
        print(f"nightly with nothing new on 4 years of history: {nothing_new:.2f} s (target: a few seconds)")
        return 0 if ratio <= 1.3 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
