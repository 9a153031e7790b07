"""Case-version lines as the case system writes them (raw-data agreement, `zaken`)."""

from __future__ import annotations

CASE_COLUMNS = ("zaak_id", "zaaktype", "kanaal", "status", "afgerond_op", "gewijzigd")
CASE_HEADER = ";".join((*CASE_COLUMNS, "bsn", "naam", "adres"))
CASE_HEADER_NO_PII = ";".join(CASE_COLUMNS)  # a delivery without the optional personal-data columns
HEADER = CASE_HEADER  # the header `Landing.csv` writes above lines of this source


def case(
    zaak_id: str,
    afgerond_op: str,
    zaaktype: str = "reisdocument",
    kanaal: str = "thuisbezorgd",
    status: str | None = None,
    gewijzigd: str | None = None,
    bsn: str = "",
    naam: str = "",
    adres: str = "",
) -> str:
    """One case-version line in the case system's column order (CASE_HEADER).

    `status` defaults to afgerond when `afgerond_op` is filled and aangevraagd when it is empty, and
    `gewijzigd` to the completion moment (else 1 Jan 2020 08:00 local), as the agreement requires.
    """
    if status is None:
        status = "afgerond" if afgerond_op.strip() else "aangevraagd"
    if gewijzigd is None:
        gewijzigd = afgerond_op if afgerond_op.strip() else "2020-01-01T08:00:00+01:00"
    return ";".join((zaak_id, zaaktype, kanaal, status, afgerond_op, gewijzigd, bsn, naam, adres))
