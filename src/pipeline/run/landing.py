"""The landing folder as delivered: which files are deliveries of which source, and which are not."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.sources import SOURCES


@dataclass(frozen=True, order=True)
class LandedFile:
    """One file in the landing folder. `path` is its path below the landing folder (POSIX)."""

    path: str
    size: int
    mtime_ns: int
    source: str | None  # the source it is a delivery of; None for files that are not deliveries
    ignored_reason: str | None
    export_day: dt.date | None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def _classify(top: str, rel: str, name: str) -> tuple[str | None, str | None, dt.date | None]:
    if name.startswith(".") or any(part.startswith(".") for part in rel.split("/")[:-1]):
        return None, "hidden file", None
    if name.endswith(".tmp"):
        return None, "partial upload (.tmp)", None
    source = SOURCES.get(top)
    if source is None:
        return None, f"not in a source's folder ({', '.join(f'{s}/' for s in SOURCES)})", None
    match = source.file_pattern.match(name)
    if match is None:
        return None, f"name does not match {source.name}_<YYYYMMDD>[_<suffix>].csv", None
    try:
        export_day = dt.datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None, "export date in the name is not a date", None
    return source.name, None, export_day


def scan(raw_dir: Path) -> list[LandedFile]:
    """Every file below `raw_dir`, classified, in path order (a deterministic order for reports)."""
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"landing folder {raw_dir} does not exist")
    found: list[LandedFile] = []
    for root, dirs, files in os.walk(raw_dir):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            rel = path.relative_to(raw_dir).as_posix()
            top = rel.split("/", 1)[0] if "/" in rel else ""
            source, reason, export_day = _classify(top, rel, name)
            stat = path.stat()
            found.append(LandedFile(rel, stat.st_size, stat.st_mtime_ns, source, reason, export_day))
    return sorted(found)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_hashes(raw_dir: Path, files: list[LandedFile], known: Mapping[tuple[str, int, int], str]) -> dict[str, str]:
    """sha256 per path; a file whose path, size and mtime are unchanged keeps its known hash."""
    hashes: dict[str, str] = {}
    for f in files:
        cached = known.get((f.path, f.size, f.mtime_ns))
        hashes[f.path] = cached if cached is not None else sha256_of(raw_dir / f.path)
    return hashes
