"""Call-detail lines as the telephony platform writes them (raw-data agreement, `telefonie`)."""

from __future__ import annotations

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
