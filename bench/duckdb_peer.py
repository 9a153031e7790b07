"""The DuckDB-SQL peer: the four published figures as an analyst would write them in DuckDB SQL.

One `read_csv` per source over every delivery (`union_by_name`, every column as text, the file name
kept), a `QUALIFY` for the version that counts, and a `GROUP BY` per year: what someone who knows
DuckDB writes in an afternoon. It spells the values the way the agreement allows (trimmed, case
folded, the numbers' spellings), but does none of the agreement's other duties: no quarantine, no
line numbers, ragged rows read as far as they go. Its figures are compared with the published ones,
and shown whether they are right or not. Imports nothing from the pipeline.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from bench.agreement import COUNTED_LOCATIONS, FOR_UTRECHT, FORWARDED, NUMBERS
from bench.cases import Figures

__all__ = ["figures"]


def _list(values: object) -> str:
    return "[" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + "]"  # type: ignore[attr-defined]


def _files(raw: Path, source: str) -> str:
    return "'" + str(raw / source / "**" / f"{source}_*.csv").replace("'", "''") + "'"


def _read(raw: Path, source: str) -> str:
    return (
        f"read_csv({_files(raw, source)}, delim=';', header=true, union_by_name=true, all_varchar=true, "
        "filename=true, ignore_errors=true, null_padding=true, strict_mode=false)"
    )


def figures(raw: Path) -> Figures:
    """The four published figures per year, as the SQL below finds them."""
    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    con.execute("SET enable_progress_bar = false")
    numbers = "MAP {" + ", ".join(f"'{k}': '{v}'" for k, v in NUMBERS.items()) + "}"
    calls = f"""
        WITH calls AS (
            SELECT trim(gesprek_id) AS id, filename,
                   try_cast(trim(starttijd) AS TIMESTAMPTZ) AS start,
                   {numbers}[trim(nummer)] AS number,
                   lower(trim(coalesce(keuze, ''))) AS choice,
                   lower(trim(afhandeling)) AS outcome
            FROM {_read(raw, "telefonie")}
        ), counted AS (
            SELECT * FROM calls WHERE id <> '' AND start IS NOT NULL AND number IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY id ORDER BY filename DESC) = 1
        )
        SELECT year(timezone('Europe/Amsterdam', start)) AS jaar, count(*) AS n,
               count(*) FILTER (number = '14030') AS via,
               count(*) FILTER (outcome = 'beantwoord') AS answered
        FROM counted
        WHERE (number = '030' OR choice IN (SELECT unnest({_list(FOR_UTRECHT)})))
          AND choice NOT IN (SELECT unnest({_list(FORWARDED)}))
        GROUP BY ALL ORDER BY jaar
    """
    visits = f"""
        WITH versions AS (
            SELECT trim(afspraak_id) AS id, filename, trim(locatie) AS location,
                   lower(trim(kanaal)) AS channel, lower(trim(status)) AS status,
                   try_strptime(trim(datum), '%d-%m-%Y') AS day,
                   try_cast(trim(gewijzigd) AS TIMESTAMPTZ) AS changed
            FROM {_read(raw, "afspraken")}
        ), latest AS (
            SELECT * FROM versions WHERE id <> '' AND changed IS NOT NULL AND day IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY id ORDER BY changed DESC, filename DESC) = 1
        )
        SELECT year(day) AS jaar, count(*) AS n FROM latest
        WHERE status = 'verschenen' AND channel = 'balie' AND location IN (SELECT unnest({_list(COUNTED_LOCATIONS)}))
        GROUP BY ALL ORDER BY jaar
    """
    years: Figures = {}
    for year, n, via, answered in con.execute(calls).fetchall():
        pct = None if not n else (200 * answered + n) // (2 * n)
        years.setdefault(int(year), {}).update(
            telefoontjes_gemeente=int(n), telefoontjes_14030=int(via), bereikbaarheid_pct=pct
        )
    for year, n in con.execute(visits).fetchall():
        years.setdefault(int(year), {})["baliebezoeken_met_afspraak"] = int(n)
    return years
