"""The telephony source's figures on small frames, without DuckDB.

Current call records are built by hand (`current_records`), the figure driver runs on them
(`pipeline.run.figures.compute`, with the figure models' checks) and each expected figure per day,
month and year is worked out in a comment: the definitions of kpis.md, the 7 x 24 hour look-back of
repeat callers across a year edge, NULL where a figure cannot be computed, rounding half up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from tests.support.figures import current_records, days_of, figure_rows

D = dt.date


def _call(
    gesprek_id: str,
    gestart_op: str,
    nummer: str = "14030",
    keuze: str | None = "Utrecht",
    afhandeling: str = "beantwoord",
    wachttijd_s: int = 30,
    beller_hash: str | None = None,
) -> dict[str, Any]:
    return {
        "gesprek_id": gesprek_id,
        "gestart_op": gestart_op,
        "nummer": nummer,
        "keuze": keuze,
        "wachtrij": "Algemeen",
        "afhandeling": afhandeling,
        "wachttijd_s": wachttijd_s,
        "gespreksduur_s": 60 if afhandeling == "beantwoord" else 0,
        "beller_hash": beller_hash,
    }


def _utrecht(day: str, n: int, answered: int = 0, via_14030: int | None = None) -> list[dict[str, Any]]:
    """`n` Utrecht calls at 09:00 local (+01:00) on `day` (yyyy-mm-dd), the first `answered` answered
    after 10 s, the first `via_14030` (default all) on 14030, the others on 030."""
    via = n if via_14030 is None else via_14030
    return [
        _call(
            f"{day}-{i}",
            f"{day}T09:00:{i % 60:02d}+01:00",
            nummer="14030" if i < via else "0302860000",
            keuze="Utrecht" if i < via else None,
            afhandeling="beantwoord" if i < answered else "verbroken",
            wachttijd_s=10,
        )
        for i in range(n)
    ]


def test_counts_and_shares_per_day_month_and_year() -> None:
    records = current_records(
        "telefonie",
        [
            _call("c1", "2020-03-02T09:00:00+01:00", wachttijd_s=30),
            _call("c2", "2020-03-02T09:10:00+01:00", "0302860000", None, "verbroken", 90),
            _call("c3", "2020-03-02T09:20:00+01:00", keuze="Zeist", afhandeling="doorgeschakeld", wachttijd_s=0),
            _call("c4", "2020-03-03T10:00:00+01:00", keuze="Geen keuze", wachttijd_s=70),
            _call("c5", "2020-04-01T10:00:00+02:00", keuze="Overig", wachttijd_s=10),
        ],
    )
    rows = figure_rows("telefonie", records, days_of(2020))
    names = (
        "telefoontjes_platform",
        "telefoontjes_gemeente",
        "telefoontjes_14030",
        "telefoontjes_0302860000",
        "telefoontjes_doorgeschakeld",
        "telefoontjes_beantwoord",
        "bereikbaarheid_pct",
        "aandeel_14030_pct",
    )

    def counts(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[n] for n in names)

    # 2 March: c1, c2 Utrecht's (c3 forwarded to Zeist); c1 on 14030, c2 on 030; c1 answered: 50 %, 50 %
    assert counts(rows.day(D(2020, 3, 2))) == (3, 2, 1, 1, 1, 1, 50, 50)
    # 3 March: c4 (14030, Geen keuze, answered)
    assert counts(rows.day(D(2020, 3, 3))) == (1, 1, 1, 0, 0, 1, 100, 100)
    # March: c1-c4; Utrecht's c1, c2, c4; answered c1, c4: 2/3 = 66.7 -> 67; 14030 c1, c4: 67
    assert counts(rows.month(2020, 3)) == (4, 3, 2, 1, 1, 2, 67, 67)
    assert counts(rows.month(2020, 4)) == (1, 1, 1, 0, 0, 1, 100, 100)
    # 2020: Utrecht's c1, c2, c4, c5 = 4; answered 3 -> 75 %; 14030: c1, c4, c5 -> 75 %
    assert counts(rows.year(2020)) == (5, 4, 3, 1, 1, 3, 75, 75)
    # Only days with records have rows (publishing fills the closed days of a month with 0)
    assert rows.dag["datum"].to_list() == [D(2020, 3, 2), D(2020, 3, 3), D(2020, 4, 1)]

    # Waiting of answered Utrecht calls: March c1 30 s, c4 70 s -> mean 50.0, median 50.0,
    # p90 = 30 + 0.9 x 40 = 66.0; within 60 s: c1 of 3 Utrecht calls = 33.3 %
    march = rows.month(2020, 3)
    waits = ("wachttijd_gemiddeld_s", "wachttijd_mediaan_s", "wachttijd_p90_s", "beantwoord_binnen_60s_pct")
    assert tuple(march[w] for w in waits) == (50.0, 50.0, 66.0, 33.3)
    # 2020: answered waits 10, 30, 70 -> mean 36.67 -> 36.7, median 30.0, p90 = 30 + 0.8 x 40 = 62.0;
    # within 60 s: c1, c5 of 4 = 50.0 %
    assert tuple(rows.year(2020)[w] for w in waits) == (36.7, 30.0, 62.0, 50.0)

    # The breakdown: one row per day and combination, with the seconds summed
    assert rows.uitsplitsing.filter(pl.col("datum") == D(2020, 3, 2)).select(
        "nummer", "keuze", "afhandeling", "aantal", "wachttijd_s_totaal", "gespreksduur_s_totaal"
    ).rows() == [
        ("0302860000", None, "verbroken", 1, 90, 0),
        ("14030", "Utrecht", "beantwoord", 1, 30, 60),
        ("14030", "Zeist", "doorgeschakeld", 1, 0, 0),
    ]


def test_repeat_callers_look_back_7_x_24_hours_across_the_year_edge() -> None:
    calls = [
        _call("A1", "2019-12-28T10:00:00+01:00", beller_hash="hA"),
        _call("A2", "2020-01-04T10:00:00+01:00", beller_hash="hA"),  # exactly 7 x 24 h after A1: a repeat
        _call("B1", "2019-12-28T10:00:00+01:00", beller_hash="hB"),
        _call("B2", "2020-01-04T10:00:01+01:00", beller_hash="hB"),  # 7 x 24 h and 1 s after B1: not a repeat
        _call("C1", "2020-01-02T09:00:00+01:00", beller_hash="hC"),
        _call("C2", "2020-01-02T09:30:00+01:00", beller_hash="hC"),  # a repeat of C1
        # D's earlier call went to Zeist: not one of Utrecht's, so D2 is not a repeat
        _call("D1", "2020-01-01T09:00:00+01:00", keuze="Zeist", afhandeling="doorgeschakeld", beller_hash="hD"),
        _call("D2", "2020-01-02T10:00:00+01:00", beller_hash="hD"),
        # callers without a number: never repeats, and not counted as known callers
        _call("E1", "2020-01-03T09:00:00+01:00"),
        _call("E2", "2020-01-03T09:05:00+01:00"),
    ]
    # The driver is given 2020's records and the 7 days before them, as a run gives it.
    records = current_records("telefonie", calls)
    rows = figure_rows("telefonie", records, days_of(2020))
    # 2020: repeats A2, C2 = 2; Utrecht calls with a known caller: A2, B2, C1, C2, D2 = 5 -> 40.0 %
    assert (rows.year(2020)["herhaalbellers_7d"], rows.year(2020)["herhaalbellers_7d_pct"]) == (2, 40.0)
    assert rows.year(2020)["telefoontjes_gemeente"] == 7  # A2, B2, C1, C2, D2, E1, E2
    assert rows.jaar["jaar"].to_list() == [2020]  # the look-back days give no 2019 rows
    # 2 January: C1, C2, D2 known; C2 a repeat -> 1 of 3 = 33.3 %; 4 January: A2 a repeat, B2 not -> 50.0 %
    assert (rows.day(D(2020, 1, 2))["herhaalbellers_7d"], rows.day(D(2020, 1, 2))["herhaalbellers_7d_pct"]) == (1, 33.3)
    assert (rows.day(D(2020, 1, 4))["herhaalbellers_7d"], rows.day(D(2020, 1, 4))["herhaalbellers_7d_pct"]) == (1, 50.0)
    # 3 January: only callers without a number -> no share can be computed
    assert (rows.day(D(2020, 1, 3))["herhaalbellers_7d"], rows.day(D(2020, 1, 3))["herhaalbellers_7d_pct"]) == (0, None)

    # Without the look-back days A2 would lose its earlier call: only C2 is a repeat
    without = figure_rows("telefonie", records.filter(pl.col("datum").dt.year() == 2020), days_of(2020))
    assert without.year(2020)["herhaalbellers_7d"] == 1


def test_figures_that_cannot_be_computed_are_null() -> None:
    records = current_records(
        "telefonie",
        [
            # 4 May: only a call forwarded to Zeist; 5 May: one Utrecht call, not answered, no caller number
            _call("f1", "2020-05-04T09:00:00+02:00", keuze="Zeist", afhandeling="doorgeschakeld", wachttijd_s=0),
            _call("u1", "2020-05-05T09:00:00+02:00", afhandeling="verbroken", wachttijd_s=40),
        ],
    )
    rows = figure_rows("telefonie", records, days_of(2020))
    shares = (
        "bereikbaarheid_pct",
        "aandeel_14030_pct",
        "wachttijd_gemiddeld_s",
        "wachttijd_mediaan_s",
        "wachttijd_p90_s",
        "beantwoord_binnen_60s_pct",
        "herhaalbellers_7d_pct",
    )
    forwarded_only = rows.day(D(2020, 5, 4))
    # No call of Utrecht's: the counts are 0, every share NULL (never 0, never an error)
    assert (forwarded_only["telefoontjes_gemeente"], forwarded_only["telefoontjes_platform"]) == (0, 1)
    assert [forwarded_only[s] for s in shares] == [None] * len(shares)
    # One Utrecht call, not answered: 0 % reached and 0 % within 60 s, but no waiting time of answered calls
    # and no share of repeat callers (no caller known)
    unanswered = rows.day(D(2020, 5, 5))
    assert [unanswered[s] for s in shares] == [0, 100, None, None, None, 0.0, None]


def test_rounding_is_half_up() -> None:
    records = current_records(
        "telefonie",
        [
            # 1 June: 8 calls, 5 on 14030, 1 answered: 12.5 % -> 13, 62.5 % -> 63, within 60 s 12.5 %
            *_utrecht("2020-06-01", 8, answered=1, via_14030=5),
            # 2 June: 16 calls, 1 answered: 6.25 % -> 6, within 60 s 6.25 % -> 6.3 (half to even: 6.2)
            *_utrecht("2020-06-02", 16, answered=1),
            # 3 June: 4 answered after 0, 0, 0 and 1 s: mean 0.25 -> 0.3 (half to even: 0.2); p90 0.7
            *[_call(f"w{i}", f"2020-06-03T09:00:0{i}+01:00", wachttijd_s=wait) for i, wait in enumerate((0, 0, 0, 1))],
        ],
    )
    rows = figure_rows("telefonie", records, days_of(2020))
    first, second, third = (rows.day(D(2020, 6, d)) for d in (1, 2, 3))
    assert (first["bereikbaarheid_pct"], first["aandeel_14030_pct"], first["beantwoord_binnen_60s_pct"]) == (
        13,
        63,
        12.5,
    )
    assert (second["bereikbaarheid_pct"], second["beantwoord_binnen_60s_pct"]) == (6, 6.3)
    assert (third["wachttijd_gemiddeld_s"], third["wachttijd_mediaan_s"], third["wachttijd_p90_s"]) == (0.3, 0.0, 0.7)


def test_year_figures_change_and_calls_per_day() -> None:
    counts = {2018: 8, 2019: 7, 2020: 8, 2022: 9}
    records = current_records("telefonie", [c for y, n in counts.items() for c in _utrecht(f"{y}-07-01", n)])
    rows = figure_rows("telefonie", records, days_of(*counts))
    # 8 -> 7: -12.5 -> -13 (halves away from zero, sign kept); 7 -> 8: +14.29 -> 14; 2021 missing: NULL
    assert rows.years("telefoontjes_verandering_pct") == {2018: None, 2019: -13, 2020: 14, 2022: None}

    per_day = {2019: 548, 2020: 548, 2021: 549}
    records = current_records("telefonie", [c for y, n in per_day.items() for c in _utrecht(f"{y}-07-01", n)])
    rows = figure_rows("telefonie", records, days_of(*per_day))
    # 548/365 = 1.501 -> 2; 548/366 = 1.497 -> 1 (a leap year); 549/365 = 1.504 -> 2
    assert rows.years("telefoontjes_per_dag") == {2019: 2, 2020: 1, 2021: 2}
