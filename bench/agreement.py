"""What the delivery agreement and kpis.md say, as the floor and the pandas peer need it.

Standard library only: the peer's process must not load Polars, the floor's no pandas.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

TZ: Final = "Europe/Amsterdam"
NUMBERS: Final = {
    "14030": "14030",
    "14 030": "14030",
    "0302860000": "030",
    "030-2860000": "030",
    "030 286 0000": "030",
    "+31302860000": "030",
}
FOR_UTRECHT: Final = ("utrecht", "overig", "geen keuze", "")  # an empty choice on 14 030 is "Geen keuze"
FORWARDED: Final = ("zeist", "houten", "nieuwegein", "ijsselstein")
OUTCOMES: Final = ("beantwoord", "verbroken", "doorgeschakeld")
CHANNELS: Final = ("balie", "video", "telefoon")
STATUSES: Final = ("gepland", "verschenen", "niet verschenen", "geannuleerd")
COUNTED_LOCATIONS: Final = ("Stadskantoor", "Wijkservicecentrum Vleuten-De Meern")
CALL_COLUMNS: Final = ("gesprek_id", "starttijd", "nummer", "keuze", "afhandeling", "wachttijd", "gespreksduur")
APPOINTMENT_COLUMNS: Final = ("afspraak_id", "locatie", "kanaal", "datum", "tijd", "status", "gewijzigd")


def deliveries(raw: Path, source: str) -> list[Path]:
    """The source's delivery files, in the order versions are decided: file name, then path."""
    name = re.compile(rf"{source}_\d{{8}}(_[^/]*)?\.csv")
    found = [p for p in (raw / source).rglob("*.csv") if name.fullmatch(p.name)]
    return sorted(found, key=lambda p: (p.name.encode(), p.relative_to(raw).as_posix().encode()))


def round_half_up_pct(part: int, whole: int) -> int | None:
    return None if whole == 0 else (200 * part + whole) // (2 * whole)
