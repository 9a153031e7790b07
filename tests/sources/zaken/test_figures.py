"""The case source's figures on small frames, without DuckDB.

Current case records (the version of each case that counts) are built by hand, the figure driver
runs on them (`pipeline.run.figures.compute`) and each expected figure per day, month and year is
worked out in a comment: documents delivered at home and births registered online counted on the
local day of completion (across the UTC year edge), cases not completed on the day of their last
change, and no row at all (published as NULL) for a year without case records.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.support.figures import current_records, days_of, figure_rows

D = dt.date
NAMES = ("reisdocumenten_thuisbezorgd", "geboorteaangiften_digitaal", "zaken_afgerond", "zaken_zonder_balie")


def _case(
    zaak_id: str,
    afgerond_op: str | None,
    zaaktype: str = "reisdocument",
    kanaal: str = "thuisbezorgd",
    status: str | None = None,
    gewijzigd_op: str | None = None,
) -> dict[str, Any]:
    return {
        "zaak_id": zaak_id,
        "zaaktype": zaaktype,
        "kanaal": kanaal,
        "status": status or ("afgerond" if afgerond_op else "aangevraagd"),
        "afgerond_op": afgerond_op,
        "afgerond_op_geleverd": afgerond_op is not None,
        "gewijzigd_op": gewijzigd_op or afgerond_op,
    }


def _figures(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[name] for name in NAMES)


RECORDS = [
    _case("z1", "2020-12-31T23:30:00Z"),  # 00:30 local on 1 Jan 2021: a 2021 document at home
    _case("z2", "2020-12-31T22:59:59Z"),  # 23:59:59 local on 31 Dec 2020: a 2020 document at home
    _case("z3", "2020-12-31T12:00:00Z", "geboorteaangifte", "digitaal"),  # a birth online
    _case("z4", "2020-12-31T13:00:00Z", "rijbewijs"),  # delivered at home, but not a reisdocument
    _case("z5", "2020-12-30T10:00:00Z", kanaal="balie"),  # at the counter
    _case("z6", None, gewijzigd_op="2020-12-31T23:10:00Z"),  # requested at 00:10 on 1 Jan 2021, not completed
    _case("z7", "2021-01-04T09:00:00+01:00", "uittreksel", "post"),
    _case("z8", None, "geboorteaangifte", "digitaal", "ingetrokken", "2021-01-05T10:00:00+01:00"),  # withdrawn
]


def test_cases_count_on_the_local_day_of_completion() -> None:
    rows = figure_rows("zaken", current_records("zaken", RECORDS), days_of(2020, 2021))
    # 30 Dec 2020: z5 completed at the counter
    assert _figures(rows.day(D(2020, 12, 30))) == (0, 0, 1, 0)
    # 31 Dec 2020: z2 at home, z3 online, z4 at home (a rijbewijs): 1, 1, 3 completed, 3 without a counter
    assert _figures(rows.day(D(2020, 12, 31))) == (1, 1, 3, 3)
    # 1 Jan 2021: z1 completed at home; z6 requested (counts in no figure)
    assert _figures(rows.day(D(2021, 1, 1))) == (1, 0, 1, 1)
    # 5 Jan 2021: z8 withdrawn
    assert _figures(rows.day(D(2021, 1, 5))) == (0, 0, 0, 0)
    assert _figures(rows.month(2020, 12)) == (1, 1, 4, 3)
    # January 2021: z1 at home, z7 by post
    assert _figures(rows.month(2021, 1)) == (1, 0, 2, 2)
    assert _figures(rows.year(2020)) == (1, 1, 4, 3)
    assert _figures(rows.year(2021)) == (1, 0, 2, 2)
    # The breakdown on 1 Jan 2021: z1 completed, z6 requested (its day is its last change)
    first = rows.uitsplitsing.filter(rows.uitsplitsing["datum"] == D(2021, 1, 1))
    assert first.select("zaaktype", "kanaal", "status", "aantal").rows() == [
        ("reisdocument", "thuisbezorgd", "aangevraagd", 1),
        ("reisdocument", "thuisbezorgd", "afgerond", 1),
    ]


def test_only_the_partitions_asked_for_and_whole_years() -> None:
    # A nightly run that touched 1 Jan 2021 only: that day, January 2021 and the whole of 2021
    rows = figure_rows("zaken", current_records("zaken", RECORDS), [D(2021, 1, 1)])
    assert rows.dag["datum"].to_list() == [D(2021, 1, 1)]
    assert rows.maand.select("jaar", "maand").rows() == [(2021, 1)]
    assert _figures(rows.year(2021)) == (1, 0, 2, 2)
    assert rows.jaar["jaar"].to_list() == [2021]


def test_a_year_without_case_records_has_no_row_so_it_is_published_as_null() -> None:
    rows = figure_rows("zaken", current_records("zaken", RECORDS), days_of(2019, 2020))
    # 2019 has no case record: no day, month or year row (the published table shows NULL, not 0)
    assert rows.jaar["jaar"].to_list() == [2020]
    assert rows.dag.filter(rows.dag["datum"].dt.year() == 2019).is_empty()
    # a year with case records but nothing completed has a row, with 0
    requested = current_records("zaken", [_case("r", None, gewijzigd_op="2019-06-01T10:00:00+02:00")])
    assert _figures(figure_rows("zaken", requested, days_of(2019)).year(2019)) == (0, 0, 0, 0)
