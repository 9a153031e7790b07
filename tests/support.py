"""Small deliveries written the way the source systems write them, and warehouse readers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from pipeline.settings import Settings

CALL_HEADER = "gesprek_id;starttijd;nummer;keuze;wachtrij;afhandeling;wachttijd;gespreksduur;beller"
APPOINTMENT_HEADER = "afspraak_id;locatie;kanaal;product;datum;tijd;status;gewijzigd;naam;bsn"


def settings_for(tmp: Path, **extra: Any) -> Settings:
    return Settings(raw_dir=tmp / "raw", warehouse=tmp / "wh" / "w.duckdb", pii_key="k" * 32, **extra)


def write(path: Path, header: str, rows: list[str], encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(newline.join([header, *rows, ""]).encode(encoding))
    return path


def call(
    gesprek_id: str,
    start: str,
    nummer: str = "14030",
    keuze: str = "Utrecht",
    afhandeling: str = "beantwoord",
    wachttijd: int = 30,
    wachtrij: str = "Algemeen",
    beller: str = "0612345678",
) -> str:
    duur = 120 if afhandeling == "beantwoord" else 0
    return f"{gesprek_id};{start};{nummer};{keuze};{wachtrij};{afhandeling};{wachttijd};{duur};{beller}"


def appointment(
    afspraak_id: str,
    datum: dt.date,
    status: str = "verschenen",
    gewijzigd: str | None = None,
    locatie: str = "Stadskantoor",
    kanaal: str = "balie",
) -> str:
    changed = gewijzigd or f"{datum.isoformat()}T17:00:00+01:00"
    return (
        f"{afspraak_id};{locatie};{kanaal};Paspoort;{datum.strftime('%d-%m-%Y')};10:00;{status};{changed};"
        "José Çelik;123456782"
    )


def rows(warehouse: Path, query: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = con.execute(query, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    finally:
        con.close()


FIGURE_VIEWS = (
    "kerncijfers",
    "kerncijfers_maand",
    "kerncijfers_dag",
    "telefoontjes_uitsplitsing",
    "afspraken_uitsplitsing",
    "quarantaine",
)


def figures(warehouse: Path) -> dict[str, list[dict[str, Any]]]:
    """Everything a BI user reads as figures (not the run ledger or delivery timestamps)."""
    return {view: rows(warehouse, f"SELECT * FROM {view}") for view in FIGURE_VIEWS}
