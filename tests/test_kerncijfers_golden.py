"""Golden cases of the key-figures views as a whole: figures of several sources side by side.

Per source the golden cases are in `tests/sources/`; here what the generic figure driver and the
published `kerncijfers` views add: the change against the year before for each source's headline
figure, NULL where a figure cannot be computed (no year before, no calls, a source without data),
and days that add up to months with closed days counted as 0.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from tests.sources.afspraken.lines import appointment
from tests.sources.telefonie.lines import call, utrecht_calls
from tests.support.deliveries import Landing


def test_verandering_pct_keeps_the_sign_and_rounds_halves_away_from_zero(landing: Landing) -> None:
    landing.csv("telefonie/telefonie_20180702.csv", *utrecht_calls(2018, 8))
    landing.csv("telefonie/telefonie_20190702.csv", *utrecht_calls(2019, 7))
    landing.csv("telefonie/telefonie_20200702.csv", *utrecht_calls(2020, 8))
    landing.csv("telefonie/telefonie_20210702.csv", *utrecht_calls(2021, 9))
    visits = {2018: 4, 2019: 2, 2020: 3, 2021: 3}
    landing.csv(
        "afspraken/afspraken_20220101.csv",
        *(appointment(f"v{y}-{i}", f"01-07-{y}") for y, n in visits.items() for i in range(n)),
    )
    out = landing.run()
    # calls 8 -> 7: -12.5 -> -13 (half away from zero); 7 -> 8: +14.29 -> 14; 8 -> 9: +12.5 -> 13
    assert out.years("telefoontjes_verandering_pct") == {2018: None, 2019: -13, 2020: 14, 2021: 13}
    # visits 4 -> 2: -50; 2 -> 3: +50; 3 -> 3: 0
    assert out.years("baliebezoeken_verandering_pct") == {2018: None, 2019: -50, 2020: 50, 2021: 0}


def test_figures_that_cannot_be_computed_are_null(landing: Landing) -> None:
    # 2017: one visit. 2018: nothing. 2019: appointments only. 2020: calls, all forwarded to Zeist
    # (none are Utrecht's).
    landing.csv(
        "afspraken/afspraken_20170702.csv", appointment("v", "01-07-2017", gewijzigd="2017-07-01T17:00:00+02:00")
    )
    landing.csv(
        "afspraken/afspraken_20190702.csv", appointment("a", "01-07-2019", gewijzigd="2019-07-01T17:00:00+02:00")
    )
    landing.csv(
        "telefonie/telefonie_20200702.csv",
        call("z", "2020-07-01T09:00:00+02:00", keuze="Zeist", afhandeling="doorgeschakeld"),
    )
    out = landing.run()
    y2019, y2020 = out.year(2019), out.year(2020)
    assert y2019["telefoontjes_gemeente"] is None
    assert y2019["bereikbaarheid_pct"] is None
    assert y2019["telefoontjes_per_dag"] is None
    assert y2019["baliebezoeken_verandering_pct"] is None  # no 2018: not 0 (1 -> 1 visit over two years)
    assert out.year(2017)["baliebezoeken_verandering_pct"] is None  # no year before at all
    assert (y2020["telefoontjes_gemeente"], y2020["telefoontjes_doorgeschakeld"]) == (0, 1)
    assert y2020["bereikbaarheid_pct"] is None  # no calls of Utrecht's: NULL, not 0
    assert y2020["aandeel_14030_pct"] is None
    assert y2020["telefoontjes_verandering_pct"] is None


def test_closed_days_count_zero_within_a_source_month_and_days_add_up_to_months(landing: Landing) -> None:
    # Calls on Fri 3 and Mon 6 January 2020 only; no calls in February; one in March.
    landing.csv(
        "telefonie/telefonie_20200303.csv",  # exported after its last call (dates in time)
        call("c1", "2020-01-03T10:00:00+01:00"),
        call("c2", "2020-01-06T10:00:00+01:00"),
        call("c3", "2020-03-02T10:00:00+01:00"),
    )
    out = landing.run()
    days = out.frame("kerncijfers_dag")
    january = days.filter(pl.col("maand") == 1)
    assert january.height == 31  # every day of a month with records, weekend 4-5 Jan as 0
    assert out.day(dt.date(2020, 1, 4))["telefoontjes_gemeente"] == 0
    assert days.filter(pl.col("maand") == 2).is_empty()  # a month without records is absent, as in the months
    months = {r["maand"]: r["telefoontjes_gemeente"] for r in out.rows("kerncijfers_maand")}
    assert months == {1: 2, 3: 1}
    assert {m: days.filter(pl.col("maand") == m)["telefoontjes_gemeente"].sum() for m in months} == months
    # The appointment source has no data at all: its counts are unknown (NULL), never 0.
    assert out.day(dt.date(2020, 1, 4))["baliebezoeken_met_afspraak"] is None
