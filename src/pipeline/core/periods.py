"""Day, month and year partitions: every figure is kept per local day, month and year."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

LOCAL_TZ = "Europe/Amsterdam"
# The columns that key a grain's rows (a figure table's partitions), and the period columns a figure
# table of that grain has (the day table also names its month and year).
GRAIN_KEYS: dict[str, tuple[str, ...]] = {"dag": ("datum",), "maand": ("jaar", "maand"), "jaar": ("jaar",)}
PERIOD_COLUMNS: dict[str, tuple[str, ...]] = {
    "dag": ("datum", "jaar", "maand"),
    "maand": GRAIN_KEYS["maand"],
    "jaar": GRAIN_KEYS["jaar"],
}


def years_between(first: int | None, last: int | None) -> list[int] | None:
    """The years `first` to `last` (either alone: that one year), None (every year) without both;
    a ValueError when `first` comes after `last`."""
    if first is None and last is None:
        return None
    start, end = first or last, last or first
    assert start is not None and end is not None
    if start > end:
        raise ValueError(f"{start} is after {end}")
    return list(range(start, end + 1))


def local_day(instant: pl.Expr) -> pl.Expr:
    """The Europe/Amsterdam calendar day of a UTC instant (23- and 25-hour days included)."""
    return instant.dt.convert_time_zone(LOCAL_TZ).dt.date()


@dataclass(frozen=True)
class Partitions:
    """The partitions a change touches: its days, and the months and years above them."""

    days: frozenset[dt.date]

    @property
    def months(self) -> frozenset[tuple[int, int]]:
        return frozenset((d.year, d.month) for d in self.days)

    @property
    def years(self) -> frozenset[int]:
        return frozenset(d.year for d in self.days)

    def __or__(self, other: Partitions) -> Partitions:
        return Partitions(self.days | other.days)

    def __bool__(self) -> bool:
        return bool(self.days)

    @classmethod
    def of(cls, days: Iterable[dt.date | None]) -> Partitions:
        return cls(frozenset(d for d in days if d is not None))

    def widened(self, following_days: int) -> Partitions:
        """Also the days after each day, for figures that look back (repeat callers); none past the
        last day a date can hold (the reader lets no such day through, and this never overflows)."""
        extra = {
            d + dt.timedelta(days=i)
            for d in self.days
            for i in range(1, min(following_days, (dt.date.max - d).days) + 1)
        }
        return Partitions(self.days | frozenset(extra))

    @classmethod
    def whole_years(cls, years: Iterable[int]) -> Partitions:
        """Every day of `years` (which a date can hold: 1-9999)."""
        return cls(
            frozenset(dt.date(year, 1, 1) + dt.timedelta(days=i) for year in years for i in range(days_in_year(year)))
        )


def days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365
