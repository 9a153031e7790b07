"""Golden cases of the delivery rules every source shares ("Common format rules", "Invalid rows and
files" and "Personal data" of /work/shared/spec/raw-data.md): encodings, line endings, quoting,
header spellings, extra columns, trimming, the invalid-row threshold, missing columns, unreadable
files, files that are not deliveries, header-only files, and personal data kept out of every table.

Tiny deliveries written by hand as the bytes a source system writes; expected figures in comments.
"""

from __future__ import annotations

import datetime as dt

from tests.sources.afspraken.lines import APPT_HEADER, appointment
from tests.sources.telefonie.lines import CALL_HEADER, call
from tests.support.deliveries import Landing
from tests.support.published import all_text

D = dt.date


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
        landing.csv(
            f"afspraken/afspraken_20200311_{name}.csv",
            appointment(f"{name}-1", "10-03-2020", naam="José Çelik", bsn="123456782", email="jose.celik@example.nl"),
            appointment(f"{name}-2", "10-03-2020", product="Rijbewijs — spoed", naam="Çelik"),
            encoding=enc,
        )
        landing.csv(
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
    assert {r["wachtrij"] for r in out.rows("telefonie_uitsplitsing")} == {"Burgerzaken é"}


def test_no_personal_data_anywhere_in_the_warehouse(landing: Landing) -> None:
    landing.csv(
        "afspraken/afspraken_20200311.csv",
        appointment("A1", "10-03-2020", naam="José Çelik", bsn="123456782", telefoon="0612345678"),
        appointment("A2", "10-03-2020", naam="Jos\u00e9 de Vries-\u00c7elik", email="jose.celik@example.nl"),
        # invalid rows keep their place in the quarantine, never their personal data
        appointment("A3", "31-02-2020", naam="Çelik", bsn="987654321", telefoon="06-98765432"),
        "A4;Stadskantoor;balie;Paspoort;10-03-2020;10:00;verschenen;2020-01-01T08:00:00+01:00;123456782;José",
        encoding="cp1252",
    )
    landing.csv(
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
    landing.csv(
        "telefonie/telefonie_20200316.csv",
        call("lf-1", "2020-03-15T09:00:00+01:00"),
        call("lf-2", "2020-03-15T09:01:00+01:00", nummer="99"),  # line 3, invalid
        newline="\n",
    )
    landing.csv(
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
    assert {r["wachtrij"] for r in out.rows("telefonie_uitsplitsing")} == {"Algemeen"}


def test_quoted_fields_with_separator_quotes_and_line_breaks(landing: Landing) -> None:
    data = (
        CALL_HEADER + "\r\n"
        '"q1";"2020-03-15T09:00:00+01:00";"14030";"Utrecht";"Werk; en ""Inkomen""";"beantwoord";"5";"10";""\r\n'
        'q2;2020-03-15T09:01:00+01:00;14030;Utrecht;"Parkeren\r\nvergunning";beantwoord;5;10;\r\n'
        "q3;2020-03-15T09:02:00+01:00;14030;Utrecht;Algemeen;beantwoord;-5;10;\r\n"  # starts on line 5
    ).encode("utf-8")
    landing.write("telefonie/telefonie_20200316.csv", data)
    out = landing.run(max_invalid_share=1.0)
    queues = {r["wachtrij"] for r in out.rows("telefonie_uitsplitsing")}
    assert queues == {'Werk; en "Inkomen"', "Parkeren\r\nvergunning"}
    assert out.year(2020)["telefoontjes_gemeente"] == 2
    # the quoted line break makes q2 span lines 3-4, so q3 starts on physical line 5
    assert [(r["regel"], r["kolom"], r["reden"]) for r in out.quarantine()] == [
        (5, "wachttijd", "negatief aantal seconden")
    ]


def test_header_names_in_any_case_order_and_with_spaces(landing: Landing) -> None:
    header = " AFHANDELING ;Starttijd; gesprek_ID;Nummer  ;KEUZE;WachtRij;wachttijd ; Gespreksduur"
    landing.csv(
        "telefonie/telefonie_20200316.csv",
        "beantwoord;2020-03-15T09:00:00+01:00;h1;14030;Utrecht;Algemeen;5;10",
        "verbroken;2020-03-15T09:01:00+01:00;h2;0302860000;;Algemeen;50;0",
        header=header,
    )
    landing.csv(
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
    landing.csv(
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
    landing.csv(
        "telefonie/telefonie_20200316.csv",
        "  t1 ; 2020-03-15T09:00:00+01:00 ;  14 030 ; utrecht ;  Algemeen ; beantwoord ; 12 ;  60  ;",
    )
    landing.csv("telefonie/telefonie_20200317.csv", call("t1", "2020-03-15T09:00:00+01:00", wachttijd="20"))
    landing.csv(
        "afspraken/afspraken_20200316.csv",
        " a1 ;  Stadskantoor ; balie ; Paspoort ; 15-03-2020 ; 10:00 ; Verschenen ; 2020-03-15T12:00:00+01:00 ;;;;",
    )
    out = landing.run()
    # ' t1 ' and 't1' are the same call: the later file's row (wachttijd 20) counts
    y = out.year(2020)
    assert (y["telefoontjes_gemeente"], y["wachttijd_gemiddeld_s"]) == (1, 20.0)
    assert y["baliebezoeken_met_afspraak"] == 1  # 'Stadskantoor' after trimming is a counted location
    assert [r["wachtrij"] for r in out.rows("telefonie_uitsplitsing")] == ["Algemeen"]


# ---------------------------------------------------------------------------------------------
# Whole files: threshold, missing column, unreadable files, non-deliveries, header only
# ---------------------------------------------------------------------------------------------


def _twenty_calls(prefix: str, invalid: int) -> list[str]:
    """20 calls on 15 March 2020, the last `invalid` of them with an unknown number."""
    return [
        call(f"{prefix}{i}", f"2020-03-15T09:{i:02d}:00+01:00", nummer="14030" if i < 20 - invalid else "112")
        for i in range(20)
    ]


def test_five_percent_invalid_is_accepted(landing: Landing) -> None:
    landing.csv("telefonie/telefonie_20200316.csv", *_twenty_calls("a", invalid=1))
    out = landing.run()  # default threshold 5 %
    # 1 of 20 = 5 %, not more than 5 %: accepted; 19 calls count
    d = out.delivery("telefonie/telefonie_20200316.csv")
    assert (d["status"], d["rijen"], d["ongeldige_rijen"]) == ("verwerkt", 20, 1)
    assert out.year(2020)["telefoontjes_gemeente"] == 19


def test_more_than_five_percent_invalid_rejects_the_whole_file(landing: Landing) -> None:
    landing.csv("telefonie/telefonie_20200316.csv", *_twenty_calls("a", invalid=2))
    landing.csv("telefonie/telefonie_20200317.csv", call("other", "2020-03-16T09:00:00+01:00"))
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
    landing.csv(
        "afspraken/afspraken_20200316.csv",
        "a1;Stadskantoor;balie;Paspoort;15-03-2020;10:00;2020-03-15T12:00:00+01:00;;;;",
        header=header,
    )
    landing.csv("afspraken/afspraken_20200317.csv", appointment("a2", "16-03-2020"))
    landing.csv("telefonie/telefonie_20200317.csv", call("c", "2020-03-16T09:00:00+01:00"))
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
    landing.csv("telefonie/telefonie_20200316.csv", *lines)
    landing.csv("telefonie/telefonie_20200317.csv", call("other", "2020-03-16T09:00:00+01:00"))
    out = landing.run()
    d = out.delivery("telefonie/telefonie_20200316.csv")
    assert d["status"] == "afgewezen"
    assert "quote" in d["reden"] and "line" in d["reden"]
    assert out.year(2020)["telefoontjes_gemeente"] == 1


def test_an_unclosed_quote_in_a_small_file_rejects_that_file(landing: Landing) -> None:
    # The quote opened on line 3 swallows lines 3-5 into one field of a record that even has the
    # right number of fields. Accepting the file would lose c3 and c4 without a trace (and stay
    # under 5% invalid), so the file is rejected whole, naming the line.
    lines = [call(f"c{i}", "2020-03-15T09:00:00+01:00") for i in range(5)]
    lines[1] = lines[1].replace("Algemeen", '"Werk en Inkomen')
    landing.csv("telefonie/telefonie_20200316.csv", *lines)
    landing.csv("telefonie/telefonie_20200317.csv", call("other", "2020-03-16T09:00:00+01:00"))
    out = landing.run()
    d = out.delivery("telefonie/telefonie_20200316.csv")
    assert d["status"] == "afgewezen"
    assert d["reden"] == "the quote opened in the record on line 3 is never closed"
    assert out.year(2020)["telefoontjes_gemeente"] == 1


def test_files_that_are_not_deliveries_are_ignored_and_reported(landing: Landing) -> None:
    good = call("c", "2020-03-15T09:00:00+01:00")
    landing.write("README.txt", b"Landingsmap publieksdienstverlening\n")
    landing.write("telefonie/README.txt", b"uitleg\n")
    landing.csv("telefonie/telefonie_20200316.csv.tmp", call("tmp", "2020-03-15T09:00:00+01:00"))
    landing.csv("telefonie/.telefonie_20200316.csv", call("hidden", "2020-03-15T09:00:00+01:00"))
    landing.csv("telefonie/.upload/telefonie_20200316.csv", call("hidden-dir", "2020-03-15T09:00:00+01:00"))
    landing.csv("telefonie/telefonie_20200316.csv", good)
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
    landing.csv("telefonie/telefonie_20200316.csv", newline="\r\n")
    landing.csv("afspraken/afspraken_20200316.csv")
    landing.csv("telefonie/telefonie_20200317.csv", call("c", "2020-03-16T09:00:00+01:00"))
    out = landing.run()
    for bestand in ("telefonie/telefonie_20200316.csv", "afspraken/afspraken_20200316.csv"):
        d = out.delivery(bestand)
        assert (d["status"], d["rijen"], d["ongeldige_rijen"], d["reden"]) == ("verwerkt", 0, 0, None)
    assert out.year(2020)["telefoontjes_gemeente"] == 1
    assert out.year(2020)["baliebezoeken_met_afspraak"] is None  # no appointment data at all: NULL, not 0
