"""Golden cases of the telephony source: tiny call-detail deliveries written by hand, one test per
rule of the spec, figures computed by hand.

Spec: /work/shared/spec/raw-data.md ("Telephony: call-detail records") and kpis.md (the call
figures). Every delivery is written as the bytes the platform writes; every expected figure is worked
out in a comment next to the case. Rows of the `call` helper are in the header's column order:

    call: gesprek_id;starttijd;nummer;keuze;wachtrij;afhandeling;wachttijd;gespreksduur;beller
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.sources.telefonie.lines import call, utrecht_calls
from tests.support.deliveries import Landing, invalid_day, invalid_file, land_invalid_cases
from tests.support.published import Published

D = dt.date


# ---------------------------------------------------------------------------------------------
# Days and years are Europe/Amsterdam calendar periods
# ---------------------------------------------------------------------------------------------


def test_utc_year_edges_count_in_the_local_year(landing: Landing) -> None:
    landing.csv(
        "telefonie/telefonie_20210101.csv",
        call("a", "2019-12-31T22:59:59Z"),  # 23:59:59 local on 31 Dec 2019 -> 2019
        call("b", "2019-12-31T23:30:00Z"),  # 00:30 local on 1 Jan 2020     -> 2020
        call("c", "2020-12-31T22:59:59+00:00"),  # 23:59:59 local on 31 Dec 2020 -> 2020
        call("d", "2020-12-31T23:30:00+00:00"),  # 00:30 local on 1 Jan 2021  -> 2021
        call("e", "2021-01-01T00:30:00+01:00"),  # local time given            -> 2021
    )
    out = landing.run()
    # 2019: a; 2020: b, c; 2021: d, e
    assert out.years("telefoontjes_gemeente") == {2019: 1, 2020: 2, 2021: 2}
    assert out.day(D(2020, 1, 1))["telefoontjes_gemeente"] == 1
    assert out.day(D(2019, 12, 31))["telefoontjes_gemeente"] == 1
    assert out.day(D(2021, 1, 1))["telefoontjes_gemeente"] == 2


def test_repeated_autumn_hour_is_two_instants_on_one_local_day(landing: Landing) -> None:
    # Sunday 25 Oct 2020 has 25 hours: 02:00-03:00 local happens twice (+02:00, then +01:00).
    landing.csv(
        "telefonie/telefonie_20201026.csv",
        call("p", "2020-10-24T21:59:59Z"),  # 23:59:59 +02:00 on 24 Oct            -> 24 Oct
        call("q", "2020-10-24T22:00:00Z"),  # 00:00 +02:00 on 25 Oct               -> 25 Oct
        call("r", "2020-10-25T02:30:00+02:00"),  # first 02:30 (00:30Z)             -> 25 Oct
        call("s", "2020-10-25T02:30:00+01:00"),  # second 02:30 (01:30Z), not a duplicate -> 25 Oct
        call("t", "2020-10-25T22:59:59Z"),  # 23:59:59 +01:00 on 25 Oct            -> 25 Oct
        call("u", "2020-10-25T23:00:00Z"),  # 00:00 +01:00 on 26 Oct               -> 26 Oct
    )
    out = landing.run()
    assert out.day(D(2020, 10, 24))["telefoontjes_gemeente"] == 1  # p
    assert out.day(D(2020, 10, 25))["telefoontjes_gemeente"] == 4  # q, r, s, t
    assert out.day(D(2020, 10, 26))["telefoontjes_gemeente"] == 1  # u
    assert out.quarantine() == []


# ---------------------------------------------------------------------------------------------
# Numbers, menu choices, forwarding
# ---------------------------------------------------------------------------------------------


def test_every_number_spelling_is_normalised_and_an_unknown_one_is_quarantined(landing: Landing) -> None:
    landing.csv(
        "telefonie/telefonie_20200317.csv",
        call("1", "2020-03-16T09:00:00+01:00", nummer="14030"),
        call("2", "2020-03-16T09:01:00+01:00", nummer="14 030"),
        call("3", "2020-03-16T09:02:00+01:00", nummer="0302860000", keuze=""),
        call("4", "2020-03-16T09:03:00+01:00", nummer="030-2860000", keuze=""),
        call("5", "2020-03-16T09:04:00+01:00", nummer="030 286 0000", keuze=""),
        call("6", "2020-03-16T09:05:00+01:00", nummer="+31302860000", keuze=""),
        call("7", "2020-03-16T09:06:00+01:00", nummer="030-2860001", keuze=""),  # line 8: not one of the two
    )
    out = landing.run(max_invalid_share=0.5)  # 1 of 7 invalid; the threshold has its own test
    # gemeente = 6 (calls 1-6); via 14030 = 2 (calls 1, 2); on 030 = 4 (calls 3-6)
    y = out.year(2020)
    assert (y["telefoontjes_gemeente"], y["telefoontjes_14030"], y["telefoontjes_0302860000"]) == (6, 2, 4)
    assert {r["nummer"] for r in out.rows("telefonie_uitsplitsing")} == {"14030", "0302860000"}
    assert out.quarantine() == [
        {
            "bron": "telefonie",
            "bestand": "telefonie/telefonie_20200317.csv",
            "regel": 8,
            "kolom": "nummer",
            "reden": "onbekend nummer",
            "waarde": out.quarantine()[0]["waarde"],
        }
    ]
    # a value that looks like a phone number is shown as its kind and a keyed hash, never in clear
    assert re.fullmatch(r"\[telefoonnummer #[0-9a-f]{12}\]", out.quarantine()[0]["waarde"])


def test_choice_spellings_any_case_and_empty_choice_on_14030_is_geen_keuze(landing: Landing) -> None:
    landing.csv(
        "telefonie/telefonie_20200317.csv",
        call("1", "2020-03-16T09:00:00+01:00", keuze="utrecht"),
        call("2", "2020-03-16T09:01:00+01:00", keuze="UTRECHT"),
        call("3", "2020-03-16T09:02:00+01:00", keuze="oVeRiG"),
        call("4", "2020-03-16T09:03:00+01:00", keuze="geen keuze"),
        call("5", "2020-03-16T09:04:00+01:00", keuze="GEEN KEUZE", afhandeling="verbroken"),
        call("6", "2020-03-16T09:05:00+01:00", keuze="", afhandeling="verbroken"),  # empty on 14030 = Geen keuze
    )
    out = landing.run()
    # All six are Utrecht's via 14030; answered 4 of 6 = 66.67 -> 67
    y = out.year(2020)
    assert (y["telefoontjes_gemeente"], y["telefoontjes_14030"], y["bereikbaarheid_pct"]) == (6, 6, 67)
    per_choice: dict[str, int] = {}
    for r in out.rows("telefonie_uitsplitsing"):
        per_choice[r["keuze"]] = per_choice.get(r["keuze"], 0) + r["aantal"]
    assert per_choice == {"Utrecht": 2, "Overig": 1, "Geen keuze": 3}
    assert out.quarantine() == []


def test_forwarded_calls_are_not_utrechts_but_are_counted_as_doorgeschakeld(landing: Landing) -> None:
    landing.csv(
        "telefonie/telefonie_20200317.csv",
        call("z", "2020-03-16T09:00:00+01:00", keuze="Zeist", afhandeling="doorgeschakeld", wachttijd="0"),
        call("h", "2020-03-16T09:01:00+01:00", keuze="houten", afhandeling="doorgeschakeld", wachttijd="0"),
        call("n", "2020-03-16T09:02:00+01:00", keuze="Nieuwegein", afhandeling="doorgeschakeld", wachttijd="0"),
        call("i", "2020-03-16T09:03:00+01:00", keuze="IJSSELSTEIN", afhandeling="doorgeschakeld", wachttijd="0"),
        call("u", "2020-03-16T09:04:00+01:00", keuze="Utrecht", afhandeling="verbroken"),
        call("o", "2020-03-16T09:05:00+01:00", nummer="0302860000", keuze="", afhandeling="beantwoord"),
    )
    out = landing.run()
    # platform 6; Utrecht's: u, o = 2; via 14030: u = 1; forwarded 4; answered o = 1 of 2 = 50 %
    y = out.year(2020)
    assert y["telefoontjes_platform"] == 6
    assert y["telefoontjes_gemeente"] == 2
    assert y["telefoontjes_14030"] == 1
    assert y["telefoontjes_doorgeschakeld"] == 4
    assert y["bereikbaarheid_pct"] == 50
    assert y["aandeel_14030_pct"] == 50
    forwarded = {r["keuze"]: r["voor_utrecht"] for r in out.rows("telefonie_uitsplitsing")}
    assert forwarded == {
        "Zeist": False,
        "Houten": False,
        "Nieuwegein": False,
        "IJsselstein": False,
        "Utrecht": True,
        None: True,
    }


# ---------------------------------------------------------------------------------------------
# Duplicates and corrections: the file whose name sorts last wins
# ---------------------------------------------------------------------------------------------


def test_file_name_that_sorts_last_wins_for_a_call(landing: Landing) -> None:
    # Byte order of names: "telefonie_20200316.csv" < "telefonie_20200316_correctie.csv" ('.' < '_')
    #                      < "telefonie_20200317.csv". Sub-folders are chosen so the path order differs.
    landing.csv(
        "telefonie/z-laat/telefonie_20200316.csv",
        call("A", "2020-03-15T10:00:00+01:00", afhandeling="verbroken"),
        call("C", "2020-03-15T11:00:00+01:00"),
    )
    landing.csv(
        "telefonie/m-midden/telefonie_20200316_correctie.csv",
        call("A", "2020-03-15T10:00:00+01:00", afhandeling="beantwoord"),  # correctie beats the plain file
        call("B", "2020-03-15T12:00:00+01:00", afhandeling="beantwoord"),
        call("C", "2020-03-14T11:00:00+01:00"),  # correctie moves C to 14 March
    )
    landing.csv(
        "telefonie/a-vroeg/telefonie_20200317.csv",
        call("B", "2020-03-15T12:00:00+01:00", afhandeling="verbroken"),  # 20200317 beats the correctie
    )
    out = landing.run()
    # Calls: A answered (correctie), B hung up (20200317), C on 14 March (correctie).
    # 15 March: A, B -> 2 calls, 1 answered; 14 March: C -> 1 call, answered. Year: 3 calls, 2 answered.
    assert out.day(D(2020, 3, 15))["telefoontjes_gemeente"] == 2
    assert out.day(D(2020, 3, 15))["telefoontjes_beantwoord"] == 1
    assert out.day(D(2020, 3, 14))["telefoontjes_gemeente"] == 1
    y = out.year(2020)
    assert (y["telefoontjes_gemeente"], y["telefoontjes_beantwoord"], y["bereikbaarheid_pct"]) == (3, 2, 67)


def test_equal_file_names_in_different_folders_the_path_decides(landing: Landing) -> None:
    landing.csv(
        "telefonie/2020-b/telefonie_20200316.csv", call("X", "2020-03-15T10:00:00+01:00", afhandeling="verbroken")
    )
    landing.csv("telefonie/2020-a/telefonie_20200316.csv", call("X", "2020-03-15T10:00:00+01:00"))
    out = landing.run()
    # "telefonie/2020-b/..." sorts after "telefonie/2020-a/...": X is hung up; 1 call, 0 answered -> 0 %
    y = out.year(2020)
    assert (y["telefoontjes_gemeente"], y["telefoontjes_beantwoord"], y["bereikbaarheid_pct"]) == (1, 0, 0)


def test_identical_repeats_are_one_call(landing: Landing) -> None:
    row = call("R", "2020-03-15T10:00:00+01:00")
    landing.csv("telefonie/telefonie_20200316.csv", row, row, row, call("S", "2020-03-15T10:05:00+01:00"))
    landing.csv("telefonie/telefonie_20200317.csv", row)  # a late export overlapping the day before
    out = landing.run()
    # R three times in one file and once in the next: one call; plus S -> 2
    assert out.year(2020)["telefoontjes_gemeente"] == 2
    assert sum(r["aantal"] for r in out.rows("telefonie_uitsplitsing")) == 2


# ---------------------------------------------------------------------------------------------
# Invalid rows: quarantined with file, line, column, reason; never counted
# ---------------------------------------------------------------------------------------------


# Each case is a file of its own with one good row and the invalid one, both on the case's own day
# (1 Feb 2020 + case number), so that all cases share one pipeline run and still say which row counted.
# `{id}` and `{day}` (yyyy-mm-dd) / `{dmy}` (dd-mm-yyyy) are filled in per case.
INVALID_CALLS = {
    "unparseable time": (call("{id}", "{dmy} 09:00"), "starttijd", "geen ISO 8601-tijd met offset"),
    "time without offset": (call("{id}", "{day}T09:01:00"), "starttijd", "geen ISO 8601-tijd met offset"),
    "impossible day": (call("{id}", "2020-02-30T09:00:00+01:00"), "starttijd", "geen ISO 8601-tijd met offset"),
    "negative wait": (call("{id}", "{day}T09:01:00+01:00", wachttijd="-5"), "wachttijd", "negatief aantal seconden"),
    "negative talk": (
        call("{id}", "{day}T09:01:00+01:00", gespreksduur="-1"),
        "gespreksduur",
        "negatief aantal seconden",
    ),
    "seconds not whole": (
        call("{id}", "{day}T09:01:00+01:00", wachttijd="1.5"),
        "wachttijd",
        "geen heel aantal seconden",
    ),
    "unknown number": (call("{id}", "{day}T09:01:00+01:00", nummer="14031"), "nummer", "onbekend nummer"),
    "unknown choice": (call("{id}", "{day}T09:01:00+01:00", keuze="Amersfoort"), "keuze", "onbekende keuze"),
    "unknown outcome": (
        call("{id}", "{day}T09:01:00+01:00", afhandeling="opgehangen"),
        "afhandeling",
        "onbekende afhandeling",
    ),
    "choice on 030": (
        call("{id}", "{day}T09:01:00+01:00", nummer="030-2860000", keuze="Utrecht"),
        "keuze",
        "keuze bij een gesprek op 030",
    ),
    "empty id": (call(" ", "{day}T09:01:00+01:00"), "gesprek_id", "lege id"),
    "forwarded but not to a neighbour": (
        call("{id}", "{day}T09:01:00+01:00", keuze="Utrecht", afhandeling="doorgeschakeld"),
        "afhandeling",
        "doorschakeling klopt niet",
    ),
    "neighbour but not forwarded": (
        call("{id}", "{day}T09:01:00+01:00", keuze="Houten", afhandeling="beantwoord"),
        "afhandeling",
        "doorschakeling klopt niet",
    ),
    "talk on a call not answered": (
        call("{id}", "{day}T09:01:00+01:00", afhandeling="verbroken", gespreksduur="30"),
        "gespreksduur",
        "niet beantwoord",
    ),
    "too few fields": ("{id};{day}T09:01:00+01:00;14030;Utrecht;Algemeen;beantwoord;5", None, "verkeerd aantal velden"),
    "too many fields": (call("{id}", "{day}T09:01:00+01:00") + ";extra", None, "verkeerd aantal velden"),
}


@pytest.fixture(scope="module")
def invalid_rows(tmp_path_factory: pytest.TempPathFactory) -> Published:
    return land_invalid_cases(
        tmp_path_factory.mktemp("invalid"),
        "telefonie/ongeldig/telefonie",
        INVALID_CALLS,
        lambda n, day: call(f"ok-{n}", f"{day}T09:00:00+01:00"),
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", INVALID_CALLS, ids=str)
def test_invalid_call_is_quarantined_and_not_counted(invalid_rows: Published, case: str) -> None:
    n = list(INVALID_CALLS).index(case)
    _, kolom, reason = INVALID_CALLS[case]
    bestand = invalid_file("telefonie/ongeldig/telefonie", n)
    # Only the good call of the case's day counts: 1 call, answered
    day = invalid_rows.day(invalid_day(n))
    assert (day["telefoontjes_platform"], day["telefoontjes_gemeente"], day["telefoontjes_beantwoord"]) == (1, 1, 1)
    found = invalid_rows.quarantine(bestand)
    assert [(r["bron"], r["regel"], r["kolom"]) for r in found] == [("telefonie", 3, kolom)]
    assert reason in found[0]["reden"]
    delivery = invalid_rows.delivery(bestand)
    assert (delivery["status"], delivery["rijen"], delivery["ongeldige_rijen"]) == ("verwerkt", 2, 1)


def test_invalid_calls_are_counted_nowhere(invalid_rows: Published) -> None:
    # 16 call files, each with one good row: the total is exactly the good rows
    y = invalid_rows.year(2020)
    assert y["telefoontjes_platform"] == len(INVALID_CALLS)
    assert len(invalid_rows.quarantine()) == len(INVALID_CALLS)


# ---------------------------------------------------------------------------------------------
# Figures: rounding and derived figures
# ---------------------------------------------------------------------------------------------


def test_bereikbaarheid_rounds_half_up(landing: Landing) -> None:
    landing.csv("telefonie/telefonie_20190702.csv", *utrecht_calls(2019, 8, answered=1))
    landing.csv("telefonie/telefonie_20200702.csv", *utrecht_calls(2020, 8, answered=3))
    landing.csv("telefonie/telefonie_20210702.csv", *utrecht_calls(2021, 3, answered=1))
    out = landing.run()
    # 2019: 100 x 1/8 = 12.5 -> 13; 2020: 100 x 3/8 = 37.5 -> 38; 2021: 100 x 1/3 = 33.3 -> 33
    assert out.years("bereikbaarheid_pct") == {2019: 13, 2020: 38, 2021: 33}


def test_aandeel_14030_rounds_half_up(landing: Landing) -> None:
    landing.csv("telefonie/telefonie_20190702.csv", *utrecht_calls(2019, 8, via_14030=1))
    landing.csv("telefonie/telefonie_20200702.csv", *utrecht_calls(2020, 8, via_14030=5))
    out = landing.run()
    # 2019: 100 x 1/8 = 12.5 -> 13; 2020: 100 x 5/8 = 62.5 -> 63
    assert out.years("aandeel_14030_pct") == {2019: 13, 2020: 63}
    assert out.years("telefoontjes_14030") == {2019: 1, 2020: 5}


def test_telefoontjes_per_dag_divides_by_366_in_a_leap_year(landing: Landing) -> None:
    landing.csv("telefonie/telefonie_20190702.csv", *utrecht_calls(2019, 548))
    landing.csv("telefonie/telefonie_20200702.csv", *utrecht_calls(2020, 548))
    landing.csv("telefonie/telefonie_20210702.csv", *utrecht_calls(2021, 549))
    out = landing.run()
    # 2019: 548/365 = 1.501 -> 2; 2020: 548/366 = 1.497 -> 1 (dividing by 365 would give 2);
    # 2021: 549/365 = 1.504 -> 2
    assert out.years("telefoontjes_per_dag") == {2019: 2, 2020: 1, 2021: 2}
