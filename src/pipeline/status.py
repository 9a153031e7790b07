"""`pipeline status`: is the warehouse fresh, did the last run succeed, which deliveries are missing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from pipeline.store import frame

SHOWN_GAPS = 15


def status_lines(warehouse: Path, today: dt.date | None = None) -> tuple[list[str], bool]:
    """Human lines about the published warehouse, and whether all is well (for an exit code)."""
    if not warehouse.exists():
        raise FileNotFoundError(f"warehouse {warehouse} does not exist; run 'pipeline backfill' first")
    today = today or dt.date.today()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        runs = frame(con, "SELECT * FROM runs ORDER BY gestart_op DESC LIMIT 1")
        fresh = frame(con, "SELECT * FROM versheid")
        gaps = frame(con, "SELECT * FROM ontbrekende_leveringen ORDER BY bron, datum")
    finally:
        con.close()

    lines: list[str] = []
    healthy = True
    if runs.is_empty():
        lines.append("last run: none")
    else:
        last = runs.row(0, named=True)
        lines.append(
            f"last run: {last['soort']} {last['run_id']} {last['status']}, ended {last['geeindigd_op']}: "
            f"{last['leveringen_verwerkt']} deliveries processed, {last['leveringen_afgewezen']} rejected, "
            f"{last['partities_herberekend']} partitions recomputed"
        )
        healthy &= last["status"] == "voltooid"
    for row in fresh.iter_rows(named=True):
        day = row["laatste_dag_met_gegevens"]
        age = f"{(today - day).days} days ago" if day else "never"
        taken_in = row["laatste_levering_verwerkt_op"] or "-"
        lines.append(f"{row['bron']}: last day with records {day or '-'} ({age}), last delivery taken in {taken_in}")
    if gaps.is_empty():
        lines.append("missing deliveries: none (weekends and Dutch public holidays are not gaps)")
    else:
        healthy = False
        for source, group in gaps.group_by("bron", maintain_order=True):
            days = group["datum"].to_list()
            shown = ", ".join(str(d) for d in days[:SHOWN_GAPS]) + (" ..." if len(days) > SHOWN_GAPS else "")
            lines.append(f"missing deliveries {source[0]}: {len(days)} open days without records: {shown}")
    return lines, healthy
