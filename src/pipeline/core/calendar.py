"""On which days a service is open, so on which days a source should have records.

One calendar serves both the sample generator (it puts activity only on open days) and the
detection of missing deliveries (an open day without records is a gap; a weekend or a day the
municipality is closed is not). Which public holidays close the municipality is a setting: Good
Friday, for one, is a working day in some municipalities and not in others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import holidays

# Dutch public holidays as `holidays` names them in Dutch (`language="nl"`).
DUTCH_HOLIDAYS = (
    "Nieuwjaarsdag",
    "Goede vrijdag",
    "Eerste paasdag",
    "Tweede paasdag",
    "Koningsdag",
    "Bevrijdingsdag",
    "Hemelvaartsdag",
    "Eerste pinksterdag",
    "Tweede pinksterdag",
    "Eerste kerstdag",
    "Tweede kerstdag",
)
# Utrecht's offices work on Good Friday; every other public holiday closes them.
DEFAULT_CLOSED_HOLIDAYS = tuple(h for h in DUTCH_HOLIDAYS if h != "Goede vrijdag")
WEEKDAYS_NL = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")


@dataclass(frozen=True)
class ClosedDays:
    """The days the municipality is closed besides weekends: chosen public holidays and extra dates."""

    holidays: tuple[str, ...] = DEFAULT_CLOSED_HOLIDAYS
    dates: tuple[dt.date, ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.holidays) - set(DUTCH_HOLIDAYS))
        if unknown:
            raise ValueError(f"unknown public holiday {', '.join(unknown)}; known: {', '.join(DUTCH_HOLIDAYS)}")

    @cached_property
    def _extra(self) -> frozenset[dt.date]:
        return frozenset(self.dates)

    def reason(self, day: dt.date) -> str | None:
        """Why the municipality is closed on `day` (a public holiday or a chosen date), else None."""
        name = _holidays_of(day.year).get(day)
        if name is not None and any(part.strip() in self.holidays for part in name.split(";")):
            return f"feestdag: {name}"
        if day in self._extra:
            return "gesloten"
        return None

    def in_years(self, years: Iterable[int]) -> set[dt.date]:
        found = {d for year in years for d in _holidays_of(year) if self.reason(d)}
        wanted = set(years)
        return found | {d for d in self._extra if d.year in wanted}


@dataclass(frozen=True)
class DeliveryCalendar:
    """The days a source has records: its open weekdays (Monday is 0), less the closed days."""

    open_weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    closes_on_holidays: bool = True

    def closed_reason(self, day: dt.date, closed: ClosedDays) -> str | None:
        if day.weekday() not in self.open_weekdays:
            return "weekend" if day.weekday() >= 5 else f"gesloten op {WEEKDAYS_NL[day.weekday()]}"
        return closed.reason(day) if self.closes_on_holidays else None

    def is_open(self, day: dt.date, closed: ClosedDays) -> bool:
        return self.closed_reason(day, closed) is None

    def open_days(self, first: dt.date, last: dt.date, closed: ClosedDays) -> list[dt.date]:
        """Every open day from `first` to `last`, both included."""
        shut = closed.in_years(range(first.year, last.year + 1)) if self.closes_on_holidays else set()
        days = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
        return [d for d in days if d.weekday() in self.open_weekdays and d not in shut]


# The usual calendar: records on weekdays, except the days the municipality is closed.
WEEKDAYS = DeliveryCalendar()

_CACHE: dict[int, holidays.HolidayBase] = {}


def _holidays_of(year: int) -> holidays.HolidayBase:
    if year not in _CACHE:
        _CACHE[year] = holidays.country_holidays("NL", years=year, language="nl")
    return _CACHE[year]
