"""Is every source delivering? The days a source should have had records and had none, and freshness.

A day without records is a gap only when the source's calendar has the service open that day: not
a weekend, not a day the municipality is closed (the setting `closed_holidays`/`closed_dates`).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from pipeline.core import db
from pipeline.core.calendar import WEEKDAYS_NL, ClosedDays, DeliveryCalendar
from pipeline.kit.contract import Source
from pipeline.kit.dates import export_day_of
from pipeline.sources import SOURCES

MISSING_SCHEMA: dict[str, pl.DataType] = {"bron": pl.String(), "datum": pl.Date(), "weekdag": pl.String()}
FRESHNESS_SCHEMA: dict[str, pl.DataType] = {
    "bron": pl.String(),
    "laatste_dag_met_gegevens": pl.Date(),
    "laatste_levering_verwerkt_op": pl.Datetime("us", "UTC"),
}


def latest_export_day(con: duckdb.DuckDBPyConnection, source: Source) -> dt.date | None:
    """The latest export day (in the file name) of the deliveries of `source` that count."""
    found = con.execute("SELECT bestand FROM leveringen WHERE bron = ? AND status = 'verwerkt'", [source.name])
    days = [day for (path,) in found.fetchall() if (day := export_day_of(source, path)) is not None]
    return max(days, default=None)


def last_day_with_records(con: duckdb.DuckDBPyConnection, source: Source) -> dt.date | None:
    """The last day with counted records that had come when they were delivered: an appointment
    booked for next month says nothing of whether the source still delivers."""
    found = db.first(
        con, f"SELECT max(datum) FROM {source.current_table} WHERE datum <= ?", [latest_export_day(con, source)]
    )
    return found[0] if found else None


def missing_days(con: duckdb.DuckDBPyConnection, closed: ClosedDays) -> pl.DataFrame:
    """Per source, the open days between its first and last day with records that have none (days
    after the latest export day are not judged: appointments are booked ahead)."""
    rows: list[dict[str, object]] = []
    for source in SOURCES.values():
        days = db.frame(
            con,
            f"SELECT DISTINCT datum FROM {source.current_table} WHERE datum <= ? ORDER BY datum",
            [latest_export_day(con, source)],
        )["datum"].to_list()
        if not days:
            continue
        present = set(days)
        for day in source.calendar.open_days(days[0], days[-1], closed):
            if day not in present:
                rows.append({"bron": source.name, "datum": day, "weekdag": WEEKDAYS_NL[day.weekday()]})
    return pl.DataFrame(rows, schema=MISSING_SCHEMA)


def freshness(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per source: the last day with records and the last delivery taken in."""
    rows = []
    for source in SOURCES.values():
        last_day = last_day_with_records(con, source)
        last_delivery = db.first(
            con, "SELECT max(gezien_op) FROM leveringen WHERE bron = ? AND status = 'verwerkt'", [source.name]
        )
        rows.append(
            {
                "bron": source.name,
                "laatste_dag_met_gegevens": last_day,
                "laatste_levering_verwerkt_op": last_delivery[0] if last_delivery else None,
            }
        )
    return pl.DataFrame(rows, schema=FRESHNESS_SCHEMA)


def open_days_without_records(last_day: dt.date, today: dt.date, calendar: DeliveryCalendar, closed: ClosedDays) -> int:
    """Open days after `last_day` up to and including yesterday (today's records come tomorrow)."""
    yesterday = today - dt.timedelta(days=1)
    if yesterday <= last_day:
        return 0
    return len(calendar.open_days(last_day + dt.timedelta(days=1), yesterday, closed))
