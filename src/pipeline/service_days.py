"""Which days a source should have records: days its service was open.

Counters and the contact centre (14 030: Mon, Tue, Thu 9-17; Wed, Fri 9-13) are open on weekdays
that are not Dutch public holidays. A day without records on such a day is a missing delivery;
a weekend or a holiday without records is not an alarm.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import holidays
import polars as pl

from pipeline.jobs import CURRENT_TABLE
from pipeline.store import frame

OPEN_WEEKDAYS = {"afspraken": (0, 1, 2, 3, 4), "telefonie": (0, 1, 2, 3, 4)}


def closed_reason(source: str, day: dt.date, nl_holidays: holidays.HolidayBase) -> str | None:
    if day.weekday() not in OPEN_WEEKDAYS[source]:
        return "weekend"
    if day in nl_holidays:
        return f"feestdag: {nl_holidays.get(day)}"
    return None


def missing_days(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per source, the open days between its first and last day with records that have none."""
    rows: list[dict[str, object]] = []
    for source, table in CURRENT_TABLE.items():
        days = frame(con, f"SELECT DISTINCT datum FROM {table} ORDER BY datum")["datum"].to_list()
        if not days:
            continue
        present = set(days)
        nl = holidays.country_holidays("NL", years=range(days[0].year, days[-1].year + 1))
        day = days[0]
        while day <= days[-1]:
            if day not in present and closed_reason(source, day, nl) is None:
                rows.append({"bron": source, "datum": day, "weekdag": day.strftime("%A")})
            day += dt.timedelta(days=1)
    return pl.DataFrame(rows, schema={"bron": pl.String, "datum": pl.Date, "weekdag": pl.String})


def freshness(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per source: the last day with records and the last delivery taken in."""
    rows = []
    for source, table in CURRENT_TABLE.items():
        last_day = frame(con, f"SELECT max(datum) AS d FROM {table}")["d"][0]
        last_delivery = frame(
            con,
            "SELECT max(gezien_op) AS t FROM leveringen WHERE bron = ? AND status = 'verwerkt'",
            [source],
        )["t"][0]
        rows.append(
            {"bron": source, "laatste_dag_met_gegevens": last_day, "laatste_levering_verwerkt_op": last_delivery}
        )
    return pl.DataFrame(
        rows,
        schema={
            "bron": pl.String,
            "laatste_dag_met_gegevens": pl.Date,
            "laatste_levering_verwerkt_op": pl.Datetime("us", "UTC"),
        },
    )
