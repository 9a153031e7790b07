"""The appointment source's figures on small frames, without DuckDB.

Current appointment records (the version of each appointment that counts) are built by hand, the
figure driver runs on them (`pipeline.run.figures.compute`) and each expected figure per day, month
and year is worked out in a comment: counter visits at the two counted locations, no-shows and their
share (rounded half up to 0.1), channels, NULL where no share can be computed, the change per year.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.support.figures import current_records, days_of, figure_rows

D = dt.date
STADSKANTOOR = "Stadskantoor"
VLEUTEN = "Wijkservicecentrum Vleuten-De Meern"
NAMES = (
    "baliebezoeken_met_afspraak",
    "balie_niet_verschenen",
    "no_show_pct",
    "afspraken_totaal",
    "afspraken_geannuleerd",
    "videoafspraken_verschenen",
    "telefoonafspraken_verschenen",
)


def _appointment(
    afspraak_id: str, datum: str, status: str = "verschenen", locatie: str = STADSKANTOOR, kanaal: str = "balie"
) -> dict[str, Any]:
    return {
        "afspraak_id": afspraak_id,
        "locatie": locatie,
        "kanaal": kanaal,
        "product": "Paspoort",
        "datum": datum,
        "tijd": "10:00",
        "status": status,
        "gewijzigd_op": f"{datum}T08:00:00+01:00",
    }


def _figures(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[name] for name in NAMES)


def test_visits_no_shows_and_channels_per_day_month_and_year() -> None:
    records = current_records(
        "afspraken",
        [
            _appointment("a1", "2020-03-10"),  # a visit
            _appointment("a2", "2020-03-10", locatie=VLEUTEN),  # a visit
            _appointment("a3", "2020-03-10", "niet verschenen"),  # a no-show
            _appointment("a4", "2020-03-10", locatie="Wijkservicecentrum Overvecht"),  # not a counted location
            _appointment("a5", "2020-03-10", kanaal="video"),  # a video appointment, not a counter visit
            _appointment("a6", "2020-03-10", kanaal="telefoon"),  # by telephone
            _appointment("a7", "2020-03-10", "geannuleerd"),
            _appointment("a8", "2020-03-10", "gepland"),
            _appointment("a9", "2020-03-11", "niet verschenen", kanaal="video"),  # not at a counter
            _appointment("b1", "2020-04-01"),
        ],
    )
    rows = figure_rows("afspraken", records, days_of(2020))
    # 10 March: visits a1, a2; no-show a3 -> 1/3 = 33.3 %; 8 appointments; a7 cancelled; a5 video; a6 by phone
    assert _figures(rows.day(D(2020, 3, 10))) == (2, 1, 33.3, 8, 1, 1, 1)
    # 11 March: no counter appointment at a counted location: no share of no-shows (NULL, not 0)
    assert _figures(rows.day(D(2020, 3, 11))) == (0, 0, None, 1, 0, 0, 0)
    assert _figures(rows.month(2020, 3)) == (2, 1, 33.3, 9, 1, 1, 1)
    assert _figures(rows.month(2020, 4)) == (1, 0, 0.0, 1, 0, 0, 0)
    # 2020: visits a1, a2, b1; no-show a3 -> 1/4 = 25.0 %
    assert _figures(rows.year(2020)) == (3, 1, 25.0, 10, 1, 1, 1)
    # The breakdown counts every appointment per day, location, channel, product and status
    assert rows.uitsplitsing["aantal"].sum() == 10
    assert rows.uitsplitsing.filter(rows.uitsplitsing["datum"] == D(2020, 3, 10))["aantal"].sum() == 8


def test_no_show_share_rounds_half_up() -> None:
    # 1 April: 15 visits and 1 no-show -> 1/16 = 6.25 % -> 6.3 (half to even would give 6.2)
    # 2 April: 7 visits and 1 no-show -> 1/8 = 12.5 % -> 12.5; the year: 2/24 = 8.33 -> 8.3
    records = current_records(
        "afspraken",
        [
            *(_appointment(f"x{i}", "2020-04-01", "verschenen" if i < 15 else "niet verschenen") for i in range(16)),
            *(_appointment(f"y{i}", "2020-04-02", "verschenen" if i < 7 else "niet verschenen") for i in range(8)),
        ],
    )
    rows = figure_rows("afspraken", records, days_of(2020))
    assert rows.day(D(2020, 4, 1))["no_show_pct"] == 6.3
    assert rows.day(D(2020, 4, 2))["no_show_pct"] == 12.5
    assert rows.year(2020)["no_show_pct"] == 8.3


def test_change_against_the_year_before_keeps_the_sign_and_rounds_halves_away_from_zero() -> None:
    visits = {2017: 8, 2018: 7, 2019: 8, 2020: 8, 2022: 4}
    records = current_records(
        "afspraken", [_appointment(f"v{y}-{i}", f"{y}-07-01") for y, n in visits.items() for i in range(n)]
    )
    rows = figure_rows("afspraken", records, days_of(*visits))
    # 8 -> 7: -12.5 -> -13; 7 -> 8: +14.29 -> 14; 8 -> 8: 0; no 2021: NULL (a gap is not a change)
    assert rows.years("baliebezoeken_verandering_pct") == {2017: None, 2018: -13, 2019: 14, 2020: 0, 2022: None}
