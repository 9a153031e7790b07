"""`pipeline status`: is the warehouse fresh, did the last run succeed, which deliveries are missing,
and which adopted figures the current deliveries now give differently."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core.db import first, frame, open_published

SHOWN_GAPS = 15


def status_lines(warehouse: Path, today: dt.date | None = None) -> tuple[list[str], bool]:
    """Human lines about the published warehouse, and whether all is well (for an exit code)."""
    today = today or dt.date.today()
    with open_published(warehouse) as con:
        runs = frame(con, "SELECT * FROM runs ORDER BY gestart_op DESC LIMIT 1")
        fresh = frame(con, "SELECT * FROM versheid")
        gaps = frame(con, "SELECT * FROM ontbrekende_leveringen ORDER BY bron, datum")
        changed = differences(con)

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
        lines.append("missing deliveries: none (weekends and days the municipality is closed are not gaps)")
    else:
        healthy = False
        for source, group in gaps.group_by("bron", maintain_order=True):
            days = group["datum"].to_list()
            shown = ", ".join(str(d) for d in days[:SHOWN_GAPS]) + (" ..." if len(days) > SHOWN_GAPS else "")
            lines.append(f"missing deliveries {source[0]}: {len(days)} open days without records: {shown}")
    return lines + difference_lines(changed), healthy


def differences(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Figures of adopted years that the published warehouse now computes differently (empty if none)."""
    present = first(con, "SELECT count(*) FROM duckdb_views() WHERE view_name = 'verschillen_vastgesteld'")
    if not present or not present[0]:
        return pl.DataFrame()
    return frame(con, "SELECT * FROM verschillen_vastgesteld")


def difference_lines(found: pl.DataFrame) -> list[str]:
    """One line per adopted year whose figures changed since adoption (for `pipeline status` and runs)."""
    lines: list[str] = []
    if found.is_empty():
        return lines
    for (year,), group in found.group_by("jaar", maintain_order=True):
        shown = ", ".join(
            f"{r['cijfer']} {_number(r['vastgesteld'])} -> {_number(r['huidig'])}"
            for r in group.head(4).iter_rows(named=True)
        )
        more = f" and {group.height - 4} more" if group.height > 4 else ""
        lines.append(
            f"adopted figures {year} (vastgesteld {group['vastgesteld_op'][0]:%Y-%m-%d}): {group.height} now differ: "
            f"{shown}{more} (view verschillen_vastgesteld)"
        )
    return lines


def published_differences(warehouse: Path) -> list[str]:
    """The difference lines of a published warehouse (after a run)."""
    with open_published(warehouse) as con:
        return difference_lines(differences(con))


def _number(value: float | None) -> str:
    if value is None:
        return "leeg"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
