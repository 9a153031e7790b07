"""BI queries on the published views, as a BI tool runs them: read-only, a new connection per query.

A connection per query is what the README asks of BI tools (SQLAlchemy `NullPool`), so opening the
file is part of each query's time. Each query runs `repeats` times; the first run is reported apart
(cold: the file's pages may not be in DuckDB's cache yet, only in the operating system's). The yearly
table is checked against the targets the deliveries were generated from.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import duckdb

from bench.cases import FIGURES, differences, read_targets

Parameters = Callable[[int], list[object]]


def _none(year: int) -> list[object]:
    return []


def _year(year: int) -> list[object]:
    return [year]


# (name, SQL, its parameters as a function of the last year in the file)
QUERIES: Final[tuple[tuple[str, str, Parameters], ...]] = (
    ("jaartabel", "SELECT * FROM kerncijfers ORDER BY jaar", _none),
    (
        "maanden van een jaar",
        "SELECT * FROM kerncijfers_maand WHERE jaar = ? ORDER BY maand",
        _year,
    ),
    (
        "dagen van een maand",
        "SELECT * FROM kerncijfers_dag WHERE datum >= make_date(?, 3, 1) AND datum < make_date(?, 4, 1) ORDER BY datum",
        lambda year: [year, year],
    ),
    (
        "telefoontjes per wachtrij en keuze in een jaar",
        """SELECT wachtrij, keuze, sum(aantal) AS gesprekken,
                  round(sum(wachttijd_s_totaal) / sum(aantal), 1) AS gemiddelde_wachttijd_s
           FROM telefonie_uitsplitsing WHERE jaar = ? AND voor_utrecht
           GROUP BY wachtrij, keuze ORDER BY gesprekken DESC""",
        _year,
    ),
    (
        "afspraken per locatie, kanaal en status in een jaar",
        """SELECT locatie, kanaal, status, sum(aantal) AS afspraken
           FROM afspraken_uitsplitsing WHERE jaar = ?
           GROUP BY locatie, kanaal, status ORDER BY afspraken DESC""",
        _year,
    ),
    ("definities", "SELECT * FROM definities ORDER BY volgorde", _none),
    (
        "kolomtoelichting",
        "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'kerncijfers'",
        _none,
    ),
)


def _query(path: Path, sql: str, parameters: Sequence[object]) -> tuple[float, list[tuple[Any, ...]]]:
    started = time.perf_counter()
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(sql, list(parameters)).fetchall()
    return time.perf_counter() - started, rows


def run(warehouse: Path, targets: Sequence[Path], repeats: int) -> dict[str, Any]:
    """Time every query `repeats` times on the published file; check the yearly table."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        last_year = con.execute("SELECT max(jaar) FROM kerncijfers").fetchone()
    year = int(last_year[0]) if last_year and last_year[0] is not None else 2020
    timings: list[dict[str, Any]] = []
    started = time.perf_counter()
    for name, sql, parameters in QUERIES:
        seconds: list[float] = []
        rows: list[tuple[Any, ...]] = []
        for _ in range(max(repeats, 1)):
            took, rows = _query(warehouse, sql, parameters(year))
            seconds.append(took)
        timings.append(
            {
                "name": name,
                "first_s": seconds[0],
                "median_s": statistics.median(seconds),
                "max_s": max(seconds),
                "rows": len(rows),
            }
        )
    work = time.perf_counter() - started
    with duckdb.connect(str(warehouse), read_only=True) as con:
        table = con.execute(f"SELECT jaar, {', '.join(FIGURES)} FROM kerncijfers").fetchall()
    found = {int(row[0]): dict(zip(FIGURES, row[1:], strict=True)) for row in table}
    wrong = differences(found, read_targets(targets))
    if wrong:
        raise AssertionError("published figures differ from the targets: " + "; ".join(wrong[:8]))
    return {"work_s": work, "year": year, "queries": timings}
