"""Call-detail lines as the telephony platform writes them (raw-data agreement, `telefonie`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.support.deliveries import write
from tests.support.published import rows

CALL_COLUMNS = ("gesprek_id", "starttijd", "nummer", "keuze", "wachtrij", "afhandeling", "wachttijd", "gespreksduur")
CALL_HEADER = ";".join((*CALL_COLUMNS, "beller"))
CALL_HEADER_NO_PII = ";".join(CALL_COLUMNS)  # a delivery without the optional personal-data column
HEADER = CALL_HEADER  # the header `Landing.csv` writes above lines of this source


def call(
    gesprek_id: str,
    starttijd: str,
    nummer: str = "14030",
    keuze: str = "Utrecht",
    afhandeling: str = "beantwoord",
    wachttijd: str = "30",
    gespreksduur: str | None = None,
    wachtrij: str = "Algemeen",
    beller: str = "",
) -> str:
    """One call-detail line in the platform's column order (CALL_HEADER).

    `gespreksduur` defaults to 120 s for an answered call and 0 otherwise, as the agreement requires.
    """
    if gespreksduur is None:
        gespreksduur = "120" if afhandeling.strip().lower() == "beantwoord" else "0"
    return ";".join((gesprek_id, starttijd, nummer, keuze, wachtrij, afhandeling, wachttijd, gespreksduur, beller))


def utrecht_calls(
    year: int, total: int, answered: int = 0, via_14030: int | None = None, prefix: str = ""
) -> list[str]:
    """`total` Utrecht calls on 1 July of `year`, the first `answered` answered, the first `via_14030` on 14030."""
    via_14030 = total if via_14030 is None else via_14030
    return [
        call(
            f"{prefix}{year}-{i}",
            f"{year}-07-01T{8 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}+02:00",
            nummer="14030" if i < via_14030 else "0302860000",
            keuze="Utrecht" if i < via_14030 else "",
            afhandeling="beantwoord" if i < answered else "verbroken",
        )
        for i in range(total)
    ]


def calls_on(raw: Path, days: list[dt.date], prefix: str = "c") -> None:
    """One answered Utrecht call on each day, each delivered the next day in its own file."""
    for day in days:
        write(
            raw / f"telefonie/telefonie_{day + dt.timedelta(days=1):%Y%m%d}.csv",
            CALL_HEADER,
            [call(f"{prefix}{day:%Y%m%d}", f"{day.isoformat()}T10:00:00+01:00")],
        )


def calls_counted(warehouse: Path) -> int:
    """The calls to the municipality a published warehouse counts, over all years."""
    found = rows(warehouse, "SELECT coalesce(sum(telefoontjes_gemeente), 0) AS n FROM kerncijfers")
    return int(found[0]["n"])
