"""Golden cases of the appointment source: tiny appointment-version deliveries written by hand, one
test per rule of the spec, figures computed by hand.

Spec: /work/shared/spec/raw-data.md ("Appointments: counter agenda") and kpis.md
(`baliebezoeken_met_afspraak`). Rows of the `appointment` helper are in the header's column order:

    appointment: afspraak_id;locatie;kanaal;product;datum;tijd;status;gewijzigd;bsn;naam;telefoon;email
"""

from __future__ import annotations

import pytest

from tests.sources.afspraken.lines import appointment
from tests.support.deliveries import Landing, invalid_day, invalid_file, land_invalid_cases
from tests.support.published import Published

# ---------------------------------------------------------------------------------------------
# Versions: the latest gewijzigd wins, a tie goes to the later file name
# ---------------------------------------------------------------------------------------------


def test_appointment_latest_gewijzigd_wins(landing: Landing) -> None:
    landing.csv(
        "afspraken/afspraken_20200311.csv",
        appointment("A1", "10-03-2020", "gepland", gewijzigd="2020-02-01T09:00:00+01:00"),
        appointment("A1", "10-03-2020", "verschenen", gewijzigd="2020-03-10T10:30:00+01:00"),  # latest
        appointment("A1", "10-03-2020", "geannuleerd", gewijzigd="2020-02-15T09:00:00+01:00"),
        appointment("A2", "10-03-2020", "verschenen", gewijzigd="2020-02-01T09:00:00+01:00"),
    )
    landing.csv(
        "afspraken/afspraken_20200312.csv",
        appointment("A2", "10-03-2020", "niet verschenen", gewijzigd="2020-03-11T07:00:00+01:00"),  # latest
    )
    out = landing.run()
    # A1 verschenen, A2 niet verschenen -> 1 visit, 1 no-show (50.0 %)
    y = out.year(2020)
    assert (y["baliebezoeken_met_afspraak"], y["balie_niet_verschenen"], y["no_show_pct"]) == (1, 1, 50.0)


def test_stale_re_export_in_a_later_file_does_not_win(landing: Landing) -> None:
    # The newer version was made at 09:30Z = 10:30+01:00; the stale one at 10:15+01:00 = 09:15Z.
    # As text the stale one would sort later; as instants it is older.
    landing.csv(
        "afspraken/afspraken_20200311.csv",
        appointment("A1", "10-03-2020", "verschenen", gewijzigd="2020-03-10T09:30:00Z"),
    )
    landing.csv(
        "afspraken/afspraken_20200315.csv",
        appointment("A1", "10-12-2019", "gepland", gewijzigd="2020-03-10T10:15:00+01:00"),
    )
    out = landing.run()
    # A1 is a 2020 visit; the stale 2019 version counts nowhere
    assert out.years("baliebezoeken_met_afspraak") == {2020: 1}
    assert out.years("afspraken_totaal") == {2020: 1}


def test_tie_on_gewijzigd_goes_to_the_later_file_name(landing: Landing) -> None:
    # The same instant written with two offsets: 09:00Z = 10:00+01:00.
    landing.csv(
        "afspraken/b/afspraken_20200311.csv",
        appointment("A1", "10-03-2020", "niet verschenen", gewijzigd="2020-03-10T10:00:00+01:00"),
    )
    landing.csv(
        "afspraken/a/afspraken_20200311_correctie.csv",
        appointment("A1", "10-03-2020", "verschenen", gewijzigd="2020-03-10T09:00:00Z"),
    )
    out = landing.run()
    # the correctie's name sorts last (its path sorts first): verschenen
    y = out.year(2020)
    assert (y["baliebezoeken_met_afspraak"], y["balie_niet_verschenen"]) == (1, 0)


# ---------------------------------------------------------------------------------------------
# Invalid rows: quarantined with file, line, column, reason; never counted
# ---------------------------------------------------------------------------------------------


# Each case is a file of its own with one good row and the invalid one, both on the case's own day
# (1 Feb 2020 + case number), so that all cases share one pipeline run and still say which row counted.
# `{id}` and `{day}` (yyyy-mm-dd) / `{dmy}` (dd-mm-yyyy) are filled in per case.
INVALID_APPOINTMENTS = {
    "31 February": (appointment("{id}", "31-02-2020"), "datum", "geen datum dd-mm-jjjj"),
    "date in another format": (appointment("{id}", "{day}"), "datum", "geen datum dd-mm-jjjj"),
    "unparseable start time": (appointment("{id}", "{dmy}", tijd="25:00"), "tijd", "geen tijd uu:mm"),
    "unknown status": (appointment("{id}", "{dmy}", status="misschien"), "status", "onbekende status"),
    "unknown channel": (appointment("{id}", "{dmy}", kanaal="post"), "kanaal", "onbekend kanaal"),
    "unparseable gewijzigd": (
        appointment("{id}", "{dmy}", gewijzigd="gisteren"),
        "gewijzigd",
        "geen ISO 8601-tijd met offset",
    ),
    "empty id": (appointment("", "{dmy}"), "afspraak_id", "lege id"),
    "wrong number of fields": ("{id};Stadskantoor;balie;Paspoort;{dmy};10:00", None, "verkeerd aantal"),
}


@pytest.fixture(scope="module")
def invalid_rows(tmp_path_factory: pytest.TempPathFactory) -> Published:
    return land_invalid_cases(
        tmp_path_factory.mktemp("invalid"),
        "afspraken/afspraken",
        INVALID_APPOINTMENTS,
        lambda n, day: appointment(f"ok-{n}", f"{day:%d-%m-%Y}"),
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", INVALID_APPOINTMENTS, ids=str)
def test_invalid_appointment_is_quarantined_and_not_counted(invalid_rows: Published, case: str) -> None:
    n = list(INVALID_APPOINTMENTS).index(case)
    _, kolom, reason = INVALID_APPOINTMENTS[case]
    bestand = invalid_file("afspraken/afspraken", n)
    # Only the good appointment of the case's day counts: 1 visit, 1 appointment in all
    day = invalid_rows.day(invalid_day(n))
    assert (day["baliebezoeken_met_afspraak"], day["afspraken_totaal"]) == (1, 1)
    found = invalid_rows.quarantine(bestand)
    assert [(r["bron"], r["regel"], r["kolom"]) for r in found] == [("afspraken", 3, kolom)]
    assert reason in found[0]["reden"]
    delivery = invalid_rows.delivery(bestand)
    assert (delivery["status"], delivery["rijen"], delivery["ongeldige_rijen"]) == ("verwerkt", 2, 1)


def test_invalid_appointments_are_counted_nowhere(invalid_rows: Published) -> None:
    # 8 appointment files, each with one good row: the total is exactly the good rows
    y = invalid_rows.year(2020)
    assert y["afspraken_totaal"] == len(INVALID_APPOINTMENTS)
    assert len(invalid_rows.quarantine()) == len(INVALID_APPOINTMENTS)
