"""Golden cases: tiny deliveries written by hand, one test per rule of the spec, figures computed by hand.

Spec: /work/shared/spec/raw-data.md (delivery contract) and kpis.md (figure definitions). Every
delivery is written as the bytes a source system writes; every expected figure is worked out in
a comment next to the case. Rows of the `call`/`appointment` helpers are in the header's column order:

    call:        gesprek_id;starttijd;nummer;keuze;wachtrij;afhandeling;wachttijd;gespreksduur;beller
    appointment: afspraak_id;locatie;kanaal;product;datum;tijd;status;gewijzigd;bsn;naam;telefoon;email
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import (
    APPT_HEADER,
    CALL_HEADER,
    PII_KEY,
    Landing,
    Published,
    all_text,
    appointment,
    call,
)

D = dt.date

# ---------------------------------------------------------------------------------------------
# Days and years are Europe/Amsterdam calendar periods
# ---------------------------------------------------------------------------------------------


def test_utc_year_edges_count_in_the_local_year(landing: Landing) -> None:
    landing.calls(
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
    landing.calls(
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
    landing.calls(
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
    assert {r["nummer"] for r in out.rows("telefoontjes_uitsplitsing")} == {"14030", "0302860000"}
    assert out.quarantine() == [
        {
            "bron": "telefonie",
            "bestand": "telefonie/telefonie_20200317.csv",
            "regel": 8,
            "kolom": "nummer",
            "reden": "unknown number",
            "waarde": out.quarantine()[0]["waarde"],
        }
    ]
    # a value that looks like a phone number is shown as its kind and a keyed hash, never in clear
    assert re.fullmatch(r"\[telefoonnummer #[0-9a-f]{12}\]", out.quarantine()[0]["waarde"])


def test_choice_spellings_any_case_and_empty_choice_on_14030_is_geen_keuze(landing: Landing) -> None:
    landing.calls(
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
    for r in out.rows("telefoontjes_uitsplitsing"):
        per_choice[r["keuze"]] = per_choice.get(r["keuze"], 0) + r["aantal"]
    assert per_choice == {"Utrecht": 2, "Overig": 1, "Geen keuze": 3}
    assert out.quarantine() == []


def test_forwarded_calls_are_not_utrechts_but_are_counted_as_doorgeschakeld(landing: Landing) -> None:
    landing.calls(
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
    forwarded = {r["keuze"]: r["voor_utrecht"] for r in out.rows("telefoontjes_uitsplitsing")}
    assert forwarded == {
        "Zeist": False,
        "Houten": False,
        "Nieuwegein": False,
        "IJsselstein": False,
        "Utrecht": True,
        None: True,
    }


# ---------------------------------------------------------------------------------------------
# Duplicates and corrections
# ---------------------------------------------------------------------------------------------


def test_file_name_that_sorts_last_wins_for_a_call(landing: Landing) -> None:
    # Byte order of names: "telefonie_20200316.csv" < "telefonie_20200316_correctie.csv" ('.' < '_')
    #                      < "telefonie_20200317.csv". Sub-folders are chosen so the path order differs.
    landing.calls(
        "telefonie/z-laat/telefonie_20200316.csv",
        call("A", "2020-03-15T10:00:00+01:00", afhandeling="verbroken"),
        call("C", "2020-03-15T11:00:00+01:00"),
    )
    landing.calls(
        "telefonie/m-midden/telefonie_20200316_correctie.csv",
        call("A", "2020-03-15T10:00:00+01:00", afhandeling="beantwoord"),  # correctie beats the plain file
        call("B", "2020-03-15T12:00:00+01:00", afhandeling="beantwoord"),
        call("C", "2020-03-14T11:00:00+01:00"),  # correctie moves C to 14 March
    )
    landing.calls(
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
    landing.calls(
        "telefonie/2020-b/telefonie_20200316.csv", call("X", "2020-03-15T10:00:00+01:00", afhandeling="verbroken")
    )
    landing.calls("telefonie/2020-a/telefonie_20200316.csv", call("X", "2020-03-15T10:00:00+01:00"))
    out = landing.run()
    # "telefonie/2020-b/..." sorts after "telefonie/2020-a/...": X is hung up; 1 call, 0 answered -> 0 %
    y = out.year(2020)
    assert (y["telefoontjes_gemeente"], y["telefoontjes_beantwoord"], y["bereikbaarheid_pct"]) == (1, 0, 0)


def test_identical_repeats_are_one_call(landing: Landing) -> None:
    row = call("R", "2020-03-15T10:00:00+01:00")
    landing.calls("telefonie/telefonie_20200316.csv", row, row, row, call("S", "2020-03-15T10:05:00+01:00"))
    landing.calls("telefonie/telefonie_20200317.csv", row)  # a late export overlapping the day before
    out = landing.run()
    # R three times in one file and once in the next: one call; plus S -> 2
    assert out.year(2020)["telefoontjes_gemeente"] == 2
    assert sum(r["aantal"] for r in out.rows("telefoontjes_uitsplitsing")) == 2


def test_appointment_latest_gewijzigd_wins(landing: Landing) -> None:
    landing.appointments(
        "afspraken/afspraken_20200311.csv",
        appointment("A1", "10-03-2020", "gepland", gewijzigd="2020-02-01T09:00:00+01:00"),
        appointment("A1", "10-03-2020", "verschenen", gewijzigd="2020-03-10T10:30:00+01:00"),  # latest
        appointment("A1", "10-03-2020", "geannuleerd", gewijzigd="2020-02-15T09:00:00+01:00"),
        appointment("A2", "10-03-2020", "verschenen", gewijzigd="2020-02-01T09:00:00+01:00"),
    )
    landing.appointments(
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
    landing.appointments(
        "afspraken/afspraken_20200311.csv",
        appointment("A1", "10-03-2020", "verschenen", gewijzigd="2020-03-10T09:30:00Z"),
    )
    landing.appointments(
        "afspraken/afspraken_20200315.csv",
        appointment("A1", "10-12-2019", "gepland", gewijzigd="2020-03-10T10:15:00+01:00"),
    )
    out = landing.run()
    # A1 is a 2020 visit; the stale 2019 version counts nowhere
    assert out.years("baliebezoeken_met_afspraak") == {2020: 1}
    assert out.years("afspraken_totaal") == {2020: 1}


def test_tie_on_gewijzigd_goes_to_the_later_file_name(landing: Landing) -> None:
    # The same instant written with two offsets: 09:00Z = 10:00+01:00.
    landing.appointments(
        "afspraken/b/afspraken_20200311.csv",
        appointment("A1", "10-03-2020", "niet verschenen", gewijzigd="2020-03-10T10:00:00+01:00"),
    )
    landing.appointments(
        "afspraken/a/afspraken_20200311_correctie.csv",
        appointment("A1", "10-03-2020", "verschenen", gewijzigd="2020-03-10T09:00:00Z"),
    )
    out = landing.run()
    # the correctie's name sorts last (its path sorts first): verschenen
    y = out.year(2020)
    assert (y["baliebezoeken_met_afspraak"], y["balie_niet_verschenen"]) == (1, 0)


# ---------------------------------------------------------------------------------------------
# File format: encodings, line endings, quoting, headers, extra columns, trimming
# ---------------------------------------------------------------------------------------------

PII = {
    "naam": ["José Çelik", "Çelik", "José", "Jos\u00e9 de Vries-\u00c7elik"],
    "bsn": ["123456782", "987654321"],
    "telefoon": ["0612345678", "06-98765432"],
    "email": ["jose.celik@example.nl"],
    "beller": ["0687654321", "+31611122233", "0611122233", "0301234567"],
}


def test_encodings_utf8_utf8_bom_and_windows_1252(landing: Landing) -> None:
    for enc, name in (("utf-8", "utf8"), ("utf-8-sig", "bom"), ("cp1252", "ansi")):
        landing.appointments(
            f"afspraken/afspraken_20200311_{name}.csv",
            appointment(f"{name}-1", "10-03-2020", naam="José Çelik", bsn="123456782", email="jose.celik@example.nl"),
            appointment(f"{name}-2", "10-03-2020", product="Rijbewijs — spoed", naam="Çelik"),
            encoding=enc,
        )
        landing.calls(
            f"telefonie/telefonie_20200311_{name}.csv",
            call(f"{name}-c", "2020-03-10T09:00:00+01:00", wachtrij="Burgerzaken é", beller="0687654321"),
            encoding=enc,
        )
    out = landing.run()
    # 3 files x 2 visits; 3 files x 1 call. Nothing quarantined (a BOM glued to the first column
    # name would make 'afspraak_id' missing and reject the file).
    y = out.year(2020)
    assert (y["baliebezoeken_met_afspraak"], y["telefoontjes_gemeente"]) == (6, 3)
    codering = {r["bestand"].split("_")[-1]: r["codering"] for r in out.rows("leveringen")}
    assert codering == {"utf8.csv": "utf-8", "bom.csv": "utf-8-sig", "ansi.csv": "cp1252"}
    assert {r["status"] for r in out.rows("leveringen")} == {"verwerkt"}
    assert {r["product"] for r in out.rows("afspraken_uitsplitsing")} == {"Paspoort", "Rijbewijs — spoed"}
    assert {r["wachtrij"] for r in out.rows("telefoontjes_uitsplitsing")} == {"Burgerzaken é"}


def test_no_personal_data_anywhere_in_the_warehouse(landing: Landing) -> None:
    landing.appointments(
        "afspraken/afspraken_20200311.csv",
        appointment("A1", "10-03-2020", naam="José Çelik", bsn="123456782", telefoon="0612345678"),
        appointment("A2", "10-03-2020", naam="Jos\u00e9 de Vries-\u00c7elik", email="jose.celik@example.nl"),
        # invalid rows keep their place in the quarantine, never their personal data
        appointment("A3", "31-02-2020", naam="Çelik", bsn="987654321", telefoon="06-98765432"),
        "A4;Stadskantoor;balie;Paspoort;10-03-2020;10:00;verschenen;2020-01-01T08:00:00+01:00;123456782;José",
        encoding="cp1252",
    )
    landing.calls(
        "telefonie/telefonie_20200311.csv",
        call("c1", "2020-03-10T09:00:00+01:00", beller="0687654321"),
        call("c2", "2020-03-10T09:30:00+01:00", beller="+31611122233"),
        call("c3", "2020-03-10T09:40:00+01:00", beller="0611122233"),  # same caller as c2: a repeat
        call("c4", "2020-03-10T09:50:00+01:00", nummer="0201234567", beller="0301234567"),  # invalid number
    )
    out = landing.run(max_invalid_share=1.0)
    assert out.year(2020)["baliebezoeken_met_afspraak"] == 2
    assert out.year(2020)["herhaalbellers_7d"] == 1  # the hash still links c2 and c3
    assert len({(r["bestand"], r["regel"]) for r in out.quarantine()}) == 3  # A3, A4 (ragged), c4

    state = landing.settings().state_db
    texts = {"published": all_text(out.path), "state": all_text(state), "summary": repr(out.summary)}
    for where, text in texts.items():
        for column, values in PII.items():
            for value in values:
                assert value not in text, f"{column} value {value!r} found in the {where} database"
    # a dialled number that is not one of the two looks like anyone's phone number: the quarantine shows
    # its kind and a keyed hash, with the file, line and column to fix it at the source
    assert "0201234567" not in texts["published"]
    assert "[telefoonnummer #" in texts["published"]


def test_crlf_and_lf_line_endings(landing: Landing) -> None:
    landing.calls(
        "telefonie/telefonie_20200316.csv",
        call("lf-1", "2020-03-15T09:00:00+01:00"),
        call("lf-2", "2020-03-15T09:01:00+01:00", nummer="99"),  # line 3, invalid
        newline="\n",
    )
    landing.calls(
        "telefonie/telefonie_20200317.csv",
        call("crlf-1", "2020-03-16T09:00:00+01:00"),
        call("crlf-2", "2020-03-16T09:01:00+01:00", nummer="99"),  # line 3, invalid
        newline="\r\n",
    )
    out = landing.run(max_invalid_share=1.0)
    assert out.day(D(2020, 3, 15))["telefoontjes_gemeente"] == 1
    assert out.day(D(2020, 3, 16))["telefoontjes_gemeente"] == 1
    assert [(r["bestand"], r["regel"], r["waarde"]) for r in out.quarantine()] == [
        ("telefonie/telefonie_20200316.csv", 3, "99"),
        ("telefonie/telefonie_20200317.csv", 3, "99"),  # no '\r' left on any value
    ]
    assert {r["wachtrij"] for r in out.rows("telefoontjes_uitsplitsing")} == {"Algemeen"}


def test_quoted_fields_with_separator_quotes_and_line_breaks(landing: Landing) -> None:
    data = (
        CALL_HEADER + "\r\n"
        '"q1";"2020-03-15T09:00:00+01:00";"14030";"Utrecht";"Werk; en ""Inkomen""";"beantwoord";"5";"10";""\r\n'
        'q2;2020-03-15T09:01:00+01:00;14030;Utrecht;"Parkeren\r\nvergunning";beantwoord;5;10;\r\n'
        "q3;2020-03-15T09:02:00+01:00;14030;Utrecht;Algemeen;beantwoord;-5;10;\r\n"  # starts on line 5
    ).encode("utf-8")
    landing.write("telefonie/telefonie_20200316.csv", data)
    out = landing.run(max_invalid_share=1.0)
    queues = {r["wachtrij"] for r in out.rows("telefoontjes_uitsplitsing")}
    assert queues == {'Werk; en "Inkomen"', "Parkeren\r\nvergunning"}
    assert out.year(2020)["telefoontjes_gemeente"] == 2
    # the quoted line break makes q2 span lines 3-4, so q3 starts on physical line 5
    assert [(r["regel"], r["kolom"], r["reden"]) for r in out.quarantine()] == [(5, "wachttijd", "negative seconds")]


def test_header_names_in_any_case_order_and_with_spaces(landing: Landing) -> None:
    header = " AFHANDELING ;Starttijd; gesprek_ID;Nummer  ;KEUZE;WachtRij;wachttijd ; Gespreksduur"
    landing.calls(
        "telefonie/telefonie_20200316.csv",
        "beantwoord;2020-03-15T09:00:00+01:00;h1;14030;Utrecht;Algemeen;5;10",
        "verbroken;2020-03-15T09:01:00+01:00;h2;0302860000;;Algemeen;50;0",
        header=header,
    )
    landing.appointments(
        "afspraken/afspraken_20200316.csv",
        "verschenen;2020-01-01T08:00:00+01:00;  15-03-2020;10:00;Paspoort;balie;Stadskantoor;x1",
        header="STATUS;Gewijzigd;Datum;TIJD;product;Kanaal; Locatie ; AFSPRAAK_ID ",
    )
    out = landing.run()
    y = out.year(2020)
    # 2 calls (1 via 14030, 1 answered -> 50 %), 1 visit
    assert (y["telefoontjes_gemeente"], y["telefoontjes_14030"], y["bereikbaarheid_pct"]) == (2, 1, 50)
    assert y["baliebezoeken_met_afspraak"] == 1
    assert out.quarantine() == []


def test_extra_columns_are_ignored_and_reported(landing: Landing) -> None:
    landing.calls(
        "telefonie/telefonie_20200316.csv",
        call("e1", "2020-03-15T09:00:00+01:00") + ";vrij tekst;x",
        header=CALL_HEADER + ";Notitie; medewerker ",
    )
    out = landing.run()
    assert out.year(2020)["telefoontjes_gemeente"] == 1
    extra = out.delivery("telefonie/telefonie_20200316.csv")["extra_kolommen"]
    assert extra is not None and "notitie" in extra.lower() and "medewerker" in extra.lower()
    assert "vrij tekst" not in all_text(out.path)


def test_values_are_trimmed(landing: Landing) -> None:
    landing.calls(
        "telefonie/telefonie_20200316.csv",
        "  t1 ; 2020-03-15T09:00:00+01:00 ;  14 030 ; utrecht ;  Algemeen ; beantwoord ; 12 ;  60  ;",
    )
    landing.calls("telefonie/telefonie_20200317.csv", call("t1", "2020-03-15T09:00:00+01:00", wachttijd="20"))
    landing.appointments(
        "afspraken/afspraken_20200316.csv",
        " a1 ;  Stadskantoor ; balie ; Paspoort ; 15-03-2020 ; 10:00 ; Verschenen ; 2020-03-15T12:00:00+01:00 ;;;;",
    )
    out = landing.run()
    # ' t1 ' and 't1' are the same call: the later file's row (wachttijd 20) counts
    y = out.year(2020)
    assert (y["telefoontjes_gemeente"], y["wachttijd_gemiddeld_s"]) == (1, 20.0)
    assert y["baliebezoeken_met_afspraak"] == 1  # 'Stadskantoor' after trimming is a counted location
    assert [r["wachtrij"] for r in out.rows("telefoontjes_uitsplitsing")] == ["Algemeen"]


# ---------------------------------------------------------------------------------------------
# Invalid rows: quarantined with file, line, column, reason; never counted
# ---------------------------------------------------------------------------------------------

# Each case is a file of its own with one good row and the invalid one, both on the case's own day
# (1 Feb 2020 + case number), so that all cases share one pipeline run and still say which row counted.
# `{id}` and `{day}` (yyyy-mm-dd) / `{dmy}` (dd-mm-yyyy) are filled in per case.
INVALID_CALLS = {
    "unparseable time": (call("{id}", "{dmy} 09:00"), "starttijd", "not an ISO 8601"),
    "time without offset": (call("{id}", "{day}T09:01:00"), "starttijd", "not an ISO 8601"),
    "impossible day": (call("{id}", "2020-02-30T09:00:00+01:00"), "starttijd", "not an ISO 8601"),
    "negative wait": (call("{id}", "{day}T09:01:00+01:00", wachttijd="-5"), "wachttijd", "negative seconds"),
    "negative talk": (call("{id}", "{day}T09:01:00+01:00", gespreksduur="-1"), "gespreksduur", "negative seconds"),
    "seconds not whole": (call("{id}", "{day}T09:01:00+01:00", wachttijd="1.5"), "wachttijd", "whole number"),
    "unknown number": (call("{id}", "{day}T09:01:00+01:00", nummer="14031"), "nummer", "unknown number"),
    "unknown choice": (call("{id}", "{day}T09:01:00+01:00", keuze="Amersfoort"), "keuze", "unknown choice"),
    "unknown outcome": (call("{id}", "{day}T09:01:00+01:00", afhandeling="opgehangen"), "afhandeling", "unknown"),
    "choice on 030": (
        call("{id}", "{day}T09:01:00+01:00", nummer="030-2860000", keuze="Utrecht"),
        "keuze",
        "a choice on a 030 call",
    ),
    "empty id": (call(" ", "{day}T09:01:00+01:00"), "gesprek_id", "empty id"),
    "forwarded but not to a neighbour": (
        call("{id}", "{day}T09:01:00+01:00", keuze="Utrecht", afhandeling="doorgeschakeld"),
        "afhandeling",
        "inconsistent forwarding",
    ),
    "neighbour but not forwarded": (
        call("{id}", "{day}T09:01:00+01:00", keuze="Houten", afhandeling="beantwoord"),
        "afhandeling",
        "inconsistent forwarding",
    ),
    "talk on a call not answered": (
        call("{id}", "{day}T09:01:00+01:00", afhandeling="verbroken", gespreksduur="30"),
        "gespreksduur",
        "not answered",
    ),
    "too few fields": ("{id};{day}T09:01:00+01:00;14030;Utrecht;Algemeen;beantwoord;5", None, "wrong number"),
    "too many fields": (call("{id}", "{day}T09:01:00+01:00") + ";extra", None, "wrong number"),
}

INVALID_APPOINTMENTS = {
    "31 February": (appointment("{id}", "31-02-2020"), "datum", "not a date"),
    "date in another format": (appointment("{id}", "{day}"), "datum", "not a date"),
    "unparseable start time": (appointment("{id}", "{dmy}", tijd="25:00"), "tijd", "not a time"),
    "unknown status": (appointment("{id}", "{dmy}", status="misschien"), "status", "unknown status"),
    "unknown channel": (appointment("{id}", "{dmy}", kanaal="post"), "kanaal", "unknown channel"),
    "unparseable gewijzigd": (appointment("{id}", "{dmy}", gewijzigd="gisteren"), "gewijzigd", "not an ISO 8601"),
    "empty id": (appointment("", "{dmy}"), "afspraak_id", "empty id"),
    "wrong number of fields": ("{id};Stadskantoor;balie;Paspoort;{dmy};10:00", None, "wrong number"),
}


def _case_day(n: int) -> dt.date:
    return D(2020, 2, 1) + dt.timedelta(days=n)


def _fill(line: str, n: int) -> str:
    day = _case_day(n)
    return line.replace("{id}", f"bad-{n}").replace("{day}", day.isoformat()).replace("{dmy}", f"{day:%d-%m-%Y}")


@pytest.fixture(scope="module")
def invalid_rows(tmp_path_factory: pytest.TempPathFactory) -> Published:
    land = Landing(tmp_path_factory.mktemp("invalid"))
    for n, (line, _, _) in enumerate(INVALID_CALLS.values()):
        day = _case_day(n)
        land.calls(
            f"telefonie/ongeldig/telefonie_20200301_{n:02d}.csv",
            call(f"ok-{n}", f"{day}T09:00:00+01:00"),
            _fill(line, n),
        )
    for n, (line, _, _) in enumerate(INVALID_APPOINTMENTS.values()):
        day = _case_day(n)
        land.appointments(
            f"afspraken/afspraken_20200301_{n:02d}.csv", appointment(f"ok-{n}", f"{day:%d-%m-%Y}"), _fill(line, n)
        )
    return land.run(max_invalid_share=1.0)  # 1 of 2 invalid in every file; the 5 % threshold has its own tests


@pytest.mark.parametrize("case", INVALID_CALLS, ids=str)
def test_invalid_call_is_quarantined_and_not_counted(invalid_rows: Published, case: str) -> None:
    n = list(INVALID_CALLS).index(case)
    _, kolom, reason = INVALID_CALLS[case]
    bestand = f"telefonie/ongeldig/telefonie_20200301_{n:02d}.csv"
    # Only the good call of the case's day counts: 1 call, answered
    day = invalid_rows.day(_case_day(n))
    assert (day["telefoontjes_platform"], day["telefoontjes_gemeente"], day["telefoontjes_beantwoord"]) == (1, 1, 1)
    found = invalid_rows.quarantine(bestand)
    assert [(r["bron"], r["regel"], r["kolom"]) for r in found] == [("telefonie", 3, kolom)]
    assert reason in found[0]["reden"]
    delivery = invalid_rows.delivery(bestand)
    assert (delivery["status"], delivery["rijen"], delivery["ongeldige_rijen"]) == ("verwerkt", 2, 1)


@pytest.mark.parametrize("case", INVALID_APPOINTMENTS, ids=str)
def test_invalid_appointment_is_quarantined_and_not_counted(invalid_rows: Published, case: str) -> None:
    n = list(INVALID_APPOINTMENTS).index(case)
    _, kolom, reason = INVALID_APPOINTMENTS[case]
    bestand = f"afspraken/afspraken_20200301_{n:02d}.csv"
    # Only the good appointment of the case's day counts: 1 visit, 1 appointment in all
    day = invalid_rows.day(_case_day(n))
    assert (day["baliebezoeken_met_afspraak"], day["afspraken_totaal"]) == (1, 1)
    found = invalid_rows.quarantine(bestand)
    assert [(r["bron"], r["regel"], r["kolom"]) for r in found] == [("afspraken", 3, kolom)]
    assert reason in found[0]["reden"]
    delivery = invalid_rows.delivery(bestand)
    assert (delivery["status"], delivery["rijen"], delivery["ongeldige_rijen"]) == ("verwerkt", 2, 1)


def test_invalid_rows_are_counted_nowhere(invalid_rows: Published) -> None:
    # 16 call files and 8 appointment files, each with one good row: the totals are exactly the good rows
    y = invalid_rows.year(2020)
    assert (y["telefoontjes_platform"], y["afspraken_totaal"]) == (len(INVALID_CALLS), len(INVALID_APPOINTMENTS))
    assert len(invalid_rows.quarantine()) == len(INVALID_CALLS) + len(INVALID_APPOINTMENTS)


# ---------------------------------------------------------------------------------------------
# Whole files: threshold, missing column, non-deliveries, header only
# ---------------------------------------------------------------------------------------------


def _twenty_calls(prefix: str, invalid: int) -> list[str]:
    """20 calls on 15 March 2020, the last `invalid` of them with an unknown number."""
    return [
        call(f"{prefix}{i}", f"2020-03-15T09:{i:02d}:00+01:00", nummer="14030" if i < 20 - invalid else "112")
        for i in range(20)
    ]


def test_five_percent_invalid_is_accepted(landing: Landing) -> None:
    landing.calls("telefonie/telefonie_20200316.csv", *_twenty_calls("a", invalid=1))
    out = landing.run()  # default threshold 5 %
    # 1 of 20 = 5 %, not more than 5 %: accepted; 19 calls count
    d = out.delivery("telefonie/telefonie_20200316.csv")
    assert (d["status"], d["rijen"], d["ongeldige_rijen"]) == ("verwerkt", 20, 1)
    assert out.year(2020)["telefoontjes_gemeente"] == 19


def test_more_than_five_percent_invalid_rejects_the_whole_file(landing: Landing) -> None:
    landing.calls("telefonie/telefonie_20200316.csv", *_twenty_calls("a", invalid=2))
    landing.calls("telefonie/telefonie_20200317.csv", call("other", "2020-03-16T09:00:00+01:00"))
    out = landing.run()
    # 2 of 20 = 10 %: the file is rejected and none of its 18 good calls count; the other file's call does
    d = out.delivery("telefonie/telefonie_20200316.csv")
    assert (d["status"], d["rijen"], d["ongeldige_rijen"]) == ("afgewezen", 20, 2)
    assert "2 of 20" in d["reden"] and "5" in d["reden"]
    assert out.year(2020)["telefoontjes_gemeente"] == 1
    assert sum(r["telefoontjes_platform"] for r in out.rows("kerncijfers_dag")) == 1
    assert out.delivery("telefonie/telefonie_20200317.csv")["status"] == "verwerkt"
    assert out.summary.rejected == 1


def test_missing_required_column_rejects_the_file_and_names_the_column(landing: Landing) -> None:
    header = APPT_HEADER.replace(";status;", ";")
    landing.appointments(
        "afspraken/afspraken_20200316.csv",
        "a1;Stadskantoor;balie;Paspoort;15-03-2020;10:00;2020-03-15T12:00:00+01:00;;;;",
        header=header,
    )
    landing.appointments("afspraken/afspraken_20200317.csv", appointment("a2", "16-03-2020"))
    landing.calls("telefonie/telefonie_20200317.csv", call("c", "2020-03-16T09:00:00+01:00"))
    out = landing.run()
    d = out.delivery("afspraken/afspraken_20200316.csv")
    assert d["status"] == "afgewezen"
    assert "status" in d["reden"]
    # the other files are still processed: 1 visit (a2), 1 call
    y = out.year(2020)
    assert (y["baliebezoeken_met_afspraak"], y["telefoontjes_gemeente"]) == (1, 1)
    assert ("afspraken/afspraken_20200316.csv", d["reden"]) in out.summary.rejected_files


def test_unclosed_quote_in_a_large_file_rejects_that_file_not_the_run(landing: Landing) -> None:
    # Line 3 opens a quote that is never closed: the rest of the file (over 128 KiB) is one field,
    # past the csv module's field-size limit. That file is rejected; the run and the other file go on.
    lines = [call(f"c{i}", "2020-03-15T09:00:00+01:00") for i in range(3000)]
    lines[1] = lines[1].replace("Algemeen", '"Werk en Inkomen')
    landing.calls("telefonie/telefonie_20200316.csv", *lines)
    landing.calls("telefonie/telefonie_20200317.csv", call("other", "2020-03-16T09:00:00+01:00"))
    out = landing.run()
    d = out.delivery("telefonie/telefonie_20200316.csv")
    assert d["status"] == "afgewezen"
    assert "quote" in d["reden"] and "line" in d["reden"]
    assert out.year(2020)["telefoontjes_gemeente"] == 1


def test_files_that_are_not_deliveries_are_ignored_and_reported(landing: Landing) -> None:
    good = call("c", "2020-03-15T09:00:00+01:00")
    landing.write("README.txt", b"Landingsmap publieksdienstverlening\n")
    landing.write("telefonie/README.txt", b"uitleg\n")
    landing.calls("telefonie/telefonie_20200316.csv.tmp", call("tmp", "2020-03-15T09:00:00+01:00"))
    landing.calls("telefonie/.telefonie_20200316.csv", call("hidden", "2020-03-15T09:00:00+01:00"))
    landing.calls("telefonie/.upload/telefonie_20200316.csv", call("hidden-dir", "2020-03-15T09:00:00+01:00"))
    landing.calls("telefonie/telefonie_20200316.csv", good)
    out = landing.run()
    status = {r["bestand"]: r["status"] for r in out.rows("leveringen")}
    assert status == {
        "README.txt": "genegeerd",
        "telefonie/README.txt": "genegeerd",
        "telefonie/telefonie_20200316.csv.tmp": "genegeerd",
        "telefonie/.telefonie_20200316.csv": "genegeerd",
        "telefonie/.upload/telefonie_20200316.csv": "genegeerd",
        "telefonie/telefonie_20200316.csv": "verwerkt",
    }
    assert all(r["reden"] for r in out.rows("leveringen") if r["status"] == "genegeerd")
    assert out.year(2020)["telefoontjes_gemeente"] == 1  # only the real delivery
    assert out.summary.ignored == 5


def test_header_only_file_is_valid_with_no_rows(landing: Landing) -> None:
    landing.calls("telefonie/telefonie_20200316.csv", newline="\r\n")
    landing.appointments("afspraken/afspraken_20200316.csv")
    landing.calls("telefonie/telefonie_20200317.csv", call("c", "2020-03-16T09:00:00+01:00"))
    out = landing.run()
    for bestand in ("telefonie/telefonie_20200316.csv", "afspraken/afspraken_20200316.csv"):
        d = out.delivery(bestand)
        assert (d["status"], d["rijen"], d["ongeldige_rijen"], d["reden"]) == ("verwerkt", 0, 0, None)
    assert out.year(2020)["telefoontjes_gemeente"] == 1
    assert out.year(2020)["baliebezoeken_met_afspraak"] is None  # no appointment data at all: NULL, not 0


# ---------------------------------------------------------------------------------------------
# Figures: rounding and derived figures
# ---------------------------------------------------------------------------------------------


def _utrecht_calls(
    year: int, total: int, answered: int = 0, via_14030: int | None = None, prefix: str = ""
) -> list[str]:
    """`total` Utrecht calls on 1 July of `year`, the first `answered` answered, the first `via_14030` on 14030."""
    via_14030 = total if via_14030 is None else via_14030
    return [
        call(
            f"{prefix}{year}-{i}",
            f"{year}-07-01T{8 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}+02:00",
            nummer="14030" if i < via_14030 else "0302860000",
            keuze="Utrecht" if i < via_14030 else "",
            afhandeling="beantwoord" if i < answered else "verbroken",
        )
        for i in range(total)
    ]


def test_bereikbaarheid_rounds_half_up(landing: Landing) -> None:
    landing.calls("telefonie/telefonie_20190702.csv", *_utrecht_calls(2019, 8, answered=1))
    landing.calls("telefonie/telefonie_20200702.csv", *_utrecht_calls(2020, 8, answered=3))
    landing.calls("telefonie/telefonie_20210702.csv", *_utrecht_calls(2021, 3, answered=1))
    out = landing.run()
    # 2019: 100 x 1/8 = 12.5 -> 13; 2020: 100 x 3/8 = 37.5 -> 38; 2021: 100 x 1/3 = 33.3 -> 33
    assert out.years("bereikbaarheid_pct") == {2019: 13, 2020: 38, 2021: 33}


def test_aandeel_14030_rounds_half_up(landing: Landing) -> None:
    landing.calls("telefonie/telefonie_20190702.csv", *_utrecht_calls(2019, 8, via_14030=1))
    landing.calls("telefonie/telefonie_20200702.csv", *_utrecht_calls(2020, 8, via_14030=5))
    out = landing.run()
    # 2019: 100 x 1/8 = 12.5 -> 13; 2020: 100 x 5/8 = 62.5 -> 63
    assert out.years("aandeel_14030_pct") == {2019: 13, 2020: 63}
    assert out.years("telefoontjes_14030") == {2019: 1, 2020: 5}


def test_verandering_pct_keeps_the_sign_and_rounds_halves_away_from_zero(landing: Landing) -> None:
    landing.calls("telefonie/telefonie_20180702.csv", *_utrecht_calls(2018, 8))
    landing.calls("telefonie/telefonie_20190702.csv", *_utrecht_calls(2019, 7))
    landing.calls("telefonie/telefonie_20200702.csv", *_utrecht_calls(2020, 8))
    landing.calls("telefonie/telefonie_20210702.csv", *_utrecht_calls(2021, 9))
    visits = {2018: 4, 2019: 2, 2020: 3, 2021: 3}
    landing.appointments(
        "afspraken/afspraken_20220101.csv",
        *(appointment(f"v{y}-{i}", f"01-07-{y}") for y, n in visits.items() for i in range(n)),
    )
    out = landing.run()
    # calls 8 -> 7: -12.5 -> -13 (half away from zero); 7 -> 8: +14.29 -> 14; 8 -> 9: +12.5 -> 13
    assert out.years("telefoontjes_verandering_pct") == {2018: None, 2019: -13, 2020: 14, 2021: 13}
    # visits 4 -> 2: -50; 2 -> 3: +50; 3 -> 3: 0
    assert out.years("baliebezoeken_verandering_pct") == {2018: None, 2019: -50, 2020: 50, 2021: 0}


def test_telefoontjes_per_dag_divides_by_366_in_a_leap_year(landing: Landing) -> None:
    landing.calls("telefonie/telefonie_20190702.csv", *_utrecht_calls(2019, 548))
    landing.calls("telefonie/telefonie_20200702.csv", *_utrecht_calls(2020, 548))
    landing.calls("telefonie/telefonie_20210702.csv", *_utrecht_calls(2021, 549))
    out = landing.run()
    # 2019: 548/365 = 1.501 -> 2; 2020: 548/366 = 1.497 -> 1 (dividing by 365 would give 2);
    # 2021: 549/365 = 1.504 -> 2
    assert out.years("telefoontjes_per_dag") == {2019: 2, 2020: 1, 2021: 2}


def test_figures_that_cannot_be_computed_are_null(landing: Landing) -> None:
    # 2017: one visit. 2018: nothing. 2019: appointments only. 2020: calls, all forwarded to Zeist
    # (none are Utrecht's).
    landing.appointments("afspraken/afspraken_20170702.csv", appointment("v", "01-07-2017"))
    landing.appointments("afspraken/afspraken_20190702.csv", appointment("a", "01-07-2019"))
    landing.calls(
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


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("pipeline")
    env = {**os.environ, "PIPELINE_PII_KEY": PII_KEY}
    env.pop("COLUMNS", None)
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_cli_backfill_and_csv_report_in_dutch_number_format(landing: Landing) -> None:
    landing.calls("telefonie/telefonie_20200702.csv", *_utrecht_calls(2020, 1234, answered=617))
    landing.appointments(
        "afspraken/afspraken_20200316.csv",
        appointment("a1", "15-03-2020"),
        header=APPT_HEADER.replace("status", "toestand"),  # lacks 'status': rejected, the run still succeeds
    )
    done = _cli("backfill", "--raw", str(landing.raw), "--warehouse", str(landing.warehouse), cwd=landing.root)
    assert done.returncode == 0, done.stderr
    assert "rejected" in done.stderr and "afspraken_20200316.csv" in done.stderr

    report = _cli("report", "--warehouse", str(landing.warehouse), "--format", "csv", cwd=landing.root)
    assert report.returncode == 0, report.stderr
    lines = report.stdout.splitlines()
    assert lines[0] == "kerncijfer,2020"
    # 1234 calls -> '1.234'; 617/1234 = 50 %; 1234/366 = 3.37 -> 3; no visits -> '-'
    assert "aantal telefoontjes naar gemeente,1.234" in lines
    assert "aantal telefoontjes via 14030,1.234" in lines
    assert "% telefonische bereikbaarheid,50" in lines
    assert "telefoontjes per dag,3" in lines
    assert "aantal baliebezoeken* met afspraak,-" in lines


def test_cli_missing_landing_folder_fails_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "landingsmap-die-er-niet-is" / "nog-een-map" / "raw"
    done = _cli("backfill", "--raw", str(missing), "--warehouse", str(tmp_path / "wh" / "w.duckdb"), cwd=tmp_path)
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert str(missing) in lines[0] and "does not exist" in lines[0]
    assert not (tmp_path / "wh" / "w.duckdb").exists()


def test_an_unclosed_quote_in_a_small_file_rejects_that_file(landing: Landing) -> None:
    # The quote opened on line 3 swallows lines 3-5 into one field of a record that even has the
    # right number of fields. Accepting the file would lose c3 and c4 without a trace (and stay
    # under 5% invalid), so the file is rejected whole, naming the line.
    lines = [call(f"c{i}", "2020-03-15T09:00:00+01:00") for i in range(5)]
    lines[1] = lines[1].replace("Algemeen", '"Werk en Inkomen')
    landing.calls("telefonie/telefonie_20200316.csv", *lines)
    landing.calls("telefonie/telefonie_20200317.csv", call("other", "2020-03-16T09:00:00+01:00"))
    out = landing.run()
    d = out.delivery("telefonie/telefonie_20200316.csv")
    assert d["status"] == "afgewezen"
    assert d["reden"] == "the quote opened in the record on line 3 is never closed"
    assert out.year(2020)["telefoontjes_gemeente"] == 1


def test_closed_days_count_zero_within_a_source_month_and_days_add_up_to_months(landing: Landing) -> None:
    # Calls on Fri 3 and Mon 6 January 2020 only; no calls in February; one in March.
    landing.calls(
        "telefonie/telefonie_20200107.csv",
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
