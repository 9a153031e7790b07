"""Generated deliveries, kept in a cache outside the repository, and the landing folders built from them.

Generating eight years at twice the volume takes minutes, fifty million rows longer, so the
deliveries of a targets table are generated once into `<cache>/<key>/raw` and reused: the key is a
hash of the targets tables' bytes, the seed and the generator's code (a changed generator may draw
other files). `--fresh` generates again. Generation is measured like any task (its own process) but
has no target. A run's warehouses go to a work folder in the cache that is removed afterwards.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import psutil

from bench.cases import ROOT
from bench.measure import Measurement, run_task

# The generator's code: when it changes, cached deliveries are generated again.
GENERATOR_CODE: Final = (
    ROOT / "src" / "pipeline" / "sample",
    ROOT / "src" / "pipeline" / "kit" / "sampling.py",
    ROOT / "src" / "pipeline" / "core" / "calendar.py",
    *sorted((ROOT / "src" / "pipeline" / "sources").glob("*/sample.py")),
    *sorted((ROOT / "src" / "pipeline" / "sources").glob("*/calendar.py")),
)


def default_cache() -> Path:
    if os.environ.get("PIPELINE_BENCH_CACHE"):
        return Path(os.environ["PIPELINE_BENCH_CACHE"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "pipeline-bench"


def _code_files() -> list[Path]:
    files: list[Path] = []
    for path in GENERATOR_CODE:
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def cache_key(targets: Sequence[Path], seed: int) -> str:
    digest = hashlib.sha256(f"seed={seed}\n".encode())
    for path in targets:
        digest.update(Path(path).read_bytes())
        digest.update(b"\0")
    for path in _code_files():
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Deliveries:
    """Generated deliveries: the landing folder, what the generator wrote, and how it was made."""

    raw: Path
    rows: dict[str, int]
    files: int
    manifest: dict[str, Any]
    generation: Measurement | None  # None when taken from the cache

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def deliveries(
    targets: Sequence[Path], seed: int, cache: Path, fresh: bool, work: Path, say: Callable[[str], None]
) -> Deliveries:
    """The deliveries of `targets` and `seed`, from the cache or generated into it (atomically)."""
    key = cache_key(targets, seed)
    folder = cache / key
    manifest_file = folder / "manifest.json"
    names = ", ".join(Path(p).name for p in targets)
    if fresh and folder.exists():
        shutil.rmtree(folder)
    if manifest_file.exists():
        manifest = json.loads(manifest_file.read_text())
        say(f"deliveries of {names} (seed {seed}) from the cache: {folder}")
        return Deliveries(folder / "raw", manifest["rows"], manifest["files"], manifest, None)
    for left in cache.glob(f"{key}.partial-*"):  # left by a run that was stopped while generating
        if not psutil.pid_exists(int(left.name.rsplit("-", 1)[1])):
            shutil.rmtree(left, ignore_errors=True)
    partial = cache / f"{key}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    say(f"generating the deliveries of {names} (seed {seed}) into {folder} ...")
    task = {"kind": "generate", "targets": [str(p) for p in targets], "out": str(partial / "raw"), "seed": seed}
    try:
        measured = run_task(task, work, f"generate-{key}")
        if not measured.ok:
            raise RuntimeError(f"generating {names} failed: {measured.error}")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    manifest = {
        "targets": {Path(p).name: Path(p).read_text(encoding="utf-8") for p in targets},
        "seed": seed,
        "years": measured.result["years"],
        "files": measured.result["files"],
        "rows": measured.result["rows"],
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "generate_wall_s": measured.wall_s,
        "generate_peak_rss": measured.peak_rss,
    }
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=2))
    partial.rename(folder)  # a folder in the cache is complete or absent
    return Deliveries(folder / "raw", manifest["rows"], manifest["files"], manifest, measured)


def warm(raw: Path) -> int:
    """Read every file once, so that the first timed reader does not pay for the disk alone."""
    total = 0
    for path in raw.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    total += len(chunk)
    return total


# --- the nightly case's landing folders -----------------------------------------------------------


def export_day(path: Path) -> dt.date:
    return dt.datetime.strptime(path.name.split("_")[1][:8], "%Y%m%d").date()


def held_back_days(last_year: int, count: int) -> list[dt.date]:
    """Export days from 15 December of the last year on whose records' day is a weekday: each
    brings one new day of calls and appointments."""
    days: list[dt.date] = []
    day = dt.date(last_year, 12, 15)
    while len(days) < count:
        if (day - dt.timedelta(days=1)).weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def landing(raw: Path, target: Path, first_year: int, held: Sequence[dt.date]) -> list[Path]:
    """Link the deliveries exported from `first_year` on into `target`, except those of the held-back
    days; return those. Links, not copies: delivered files never change."""
    kept_back: list[Path] = []
    for path in sorted(raw.rglob("*.csv")):
        day = export_day(path)
        if day.year < first_year:
            continue
        if day in held:
            kept_back.append(path)
            continue
        _link(path, target / path.relative_to(raw))
    return kept_back


def bring(raw: Path, target: Path, held: Sequence[Path], day: dt.date) -> int:
    """Put the held-back deliveries of export day `day` in the landing folder; return how many."""
    brought = [path for path in held if export_day(path) == day]
    for path in brought:
        _link(path, target / path.relative_to(raw))
    return len(brought)


def _link(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
