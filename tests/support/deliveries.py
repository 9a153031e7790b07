"""Deliveries on disk as the source systems write them, and the pipeline run on them.

Everything is real: files in a landing folder, the pipeline's own DuckDB files, no mocks. A
source's line builders live beside its tests (`tests/sources/<name>/lines.py`); what is here knows
no source by name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline.core.settings import Settings
from pipeline.run import run
from pipeline.sources import SOURCES
from tests.support.published import Published

PII_KEY = "test-key-" + "k" * 32
OTHER_KEY = "another-key-" + "o" * 32  # a key that differs from the one a warehouse was built with
# Golden cases hold a handful of rows: every breakdown value is "rare" by the default threshold,
# so they publish values as they are (the grouping of rare values has tests of its own), and read in
# this process (the process pool has tests of its own).
TINY: dict[str, Any] = {"rare_below": 1, "workers": 1}


def header_of(source: str) -> str:
    """The full header of a registered source's deliveries, from the line builders beside its tests."""
    assert source in SOURCES, f"{source} is not a registered source ({', '.join(SOURCES)})"
    header: str = importlib.import_module(f"tests.sources.{source}.lines").HEADER
    return header


# Invalid-row cases: each case n is a file of its own with one good row and the invalid one, both on
# day n counted from 1 Feb 2020, so that all cases of a source share one run and still say which row
# counted. In a case's line `{id}`, `{day}` (yyyy-mm-dd) and `{dmy}` (dd-mm-yyyy) are filled in.
def invalid_day(n: int) -> dt.date:
    return dt.date(2020, 2, 1) + dt.timedelta(days=n)


def fill_invalid(line: str, n: int) -> str:
    day = invalid_day(n)
    return line.replace("{id}", f"bad-{n}").replace("{day}", day.isoformat()).replace("{dmy}", f"{day:%d-%m-%Y}")


def invalid_file(stem: str, n: int) -> str:
    """The file of invalid case `n`: `stem` is the path before the export day, e.g. `zaken/ongeldig/zaken`."""
    return f"{stem}_20200301_{n:02d}.csv"


def land_invalid_cases(root: Path, stem: str, cases: dict[str, Any], good: Any) -> Published:
    """One file per invalid case (its line first in the case's tuple): a good row on the case's day,
    `good(n, day)`, then the case's row filled in. Run with every file half invalid allowed, since the
    5 % threshold has its own tests."""
    land = Landing(root)
    for n, (line, *_) in enumerate(cases.values()):
        land.csv(invalid_file(stem, n), good(n, invalid_day(n)), fill_invalid(line, n))
    return land.run(max_invalid_share=1.0)


def open_weekdays(first: dt.date, last: dt.date) -> list[dt.date]:
    """Weekdays from `first` to `last` (the tests choose stretches without public holidays)."""
    days = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return [d for d in days if d.weekday() < 5]


def delivery_bytes(header: str, lines: Iterable[str], encoding: str = "utf-8", newline: str = "\n") -> bytes:
    """A delivery as a source system writes it: header, lines, each ended by `newline`, in `encoding`."""
    return "".join(f"{line}{newline}" for line in (header, *lines)).encode(encoding)


def write(path: Path, header: str, lines: Iterable[str], encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(delivery_bytes(header, lines, encoding, newline))
    return path


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def settings_for(tmp: Path, **extra: Any) -> Settings:
    """Settings for a landing folder `tmp/raw` and a warehouse `tmp/wh/w.duckdb`."""
    return Settings(raw_dir=tmp / "raw", warehouse=tmp / "wh" / "w.duckdb", pii_key=PII_KEY, **(TINY | extra))


@dataclass
class Landing:
    """A landing folder and warehouse in a temporary directory."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def warehouse(self) -> Path:
        return self.root / "wh" / "kerncijfers.duckdb"

    def write(self, rel: str, data: bytes) -> Path:
        path = self.raw / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def csv(
        self, rel: str, *lines: str, header: str | None = None, encoding: str = "utf-8", newline: str = "\n"
    ) -> Path:
        """A delivery at `rel` below the landing folder; its header by default the full header of the
        source whose folder `rel` starts with."""
        header = header_of(PurePosixPath(rel).parts[0]) if header is None else header
        return self.write(rel, delivery_bytes(header, lines, encoding, newline))

    def settings(self, max_invalid_share: float = 0.05, **extra: Any) -> Settings:
        return Settings(
            raw_dir=self.raw,
            warehouse=self.warehouse,
            pii_key=PII_KEY,
            max_invalid_share=max_invalid_share,
            **(TINY | extra),
        )

    def run(
        self, kind: str = "backfill", years: Iterable[int] | None = None, max_invalid_share: float = 0.05
    ) -> Published:
        self.raw.mkdir(parents=True, exist_ok=True)
        summary = run(self.settings(max_invalid_share), kind, years)
        return Published(self.warehouse, summary)
