"""Appointment-version lines as the appointment system writes them (raw-data agreement, `afspraken`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.support.deliveries import write

APPT_COLUMNS = ("afspraak_id", "locatie", "kanaal", "product", "datum", "tijd", "status", "gewijzigd")
APPT_HEADER = ";".join((*APPT_COLUMNS, "bsn", "naam", "telefoon", "email"))
APPT_HEADER_NO_PII = ";".join(APPT_COLUMNS)  # a delivery without the optional personal-data columns
HEADER = APPT_HEADER  # the header `Landing.csv` writes above lines of this source


def appointment(
    afspraak_id: str,
    datum: str,
    status: str = "verschenen",
    gewijzigd: str = "2020-01-01T08:00:00+01:00",
    locatie: str = "Stadskantoor",
    kanaal: str = "balie",
    product: str = "Paspoort",
    tijd: str = "10:00",
    bsn: str = "",
    naam: str = "",
    telefoon: str = "",
    email: str = "",
) -> str:
    """One appointment-version line in the appointment system's column order (APPT_HEADER)."""
    return ";".join((afspraak_id, locatie, kanaal, product, datum, tijd, status, gewijzigd, bsn, naam, telefoon, email))


def appointments_on(raw: Path, days: list[dt.date]) -> None:
    """One visit on each day, its appointment delivered the next day in its own file."""
    for day in days:
        write(
            raw / f"afspraken/afspraken_{day + dt.timedelta(days=1):%Y%m%d}.csv",
            APPT_HEADER,
            [appointment(f"a{day:%Y%m%d}", f"{day:%d-%m-%Y}", gewijzigd=f"{day.isoformat()}T17:00:00+01:00")],
        )
