"""Golden cases of the case source: tiny case-version deliveries written by hand, one test per rule of
the spec, figures computed by hand.

Spec: /work/shared/spec/raw-data.md ("Cases: services done without a counter visit") and kpis.md
("Services without a counter visit"). Every delivery is written as the bytes the case system writes;
every expected figure is worked out in a comment next to the case. Rows of the `case` helper are in
the header's column order:

    case: zaak_id;zaaktype;kanaal;status;afgerond_op;gewijzigd;bsn;naam;adres

`case` fills in status afgerond when afgerond_op is given (else aangevraagd) and gewijzigd = afgerond_op
(else 1 Jan 2020), unless told otherwise. A case counts on the local day of its completion; a case
not completed on the local day of its last change.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from pipeline.report import html as html_report
from tests.sources.telefonie.lines import call, utrecht_calls
from tests.sources.zaken.lines import case
from tests.support.deliveries import Landing, invalid_day, invalid_file, land_invalid_cases
from tests.support.published import Published, all_text

D = dt.date
SECTION = "Paspoort thuisbezorgd en digitaal geboorteaangifte"
CASE_FIGURES = ("reisdocumenten_thuisbezorgd", "geboorteaangiften_digitaal", "zaken_afgerond", "zaken_zonder_balie")


def _figures(row: dict[str, object]) -> tuple[object, ...]:
    return tuple(row[name] for name in CASE_FIGURES)


def _birth(zaak_id: str, afgerond_op: str, **kwargs: str) -> str:
    return case(zaak_id, afgerond_op, zaaktype="geboorteaangifte", kanaal="digitaal", **kwargs)


def _breakdown(out: Published) -> list[tuple[object, ...]]:
    return sorted(
        (r["datum"], r["zaaktype"], r["kanaal"], r["status"], r["zonder_balie"], r["aantal"])
        for r in out.rows("zaken_uitsplitsing")
    )


# ---------------------------------------------------------------------------------------------
# The figures: what counts as a document delivered at home, a birth registered online
# ---------------------------------------------------------------------------------------------


def test_only_completed_cases_of_the_right_type_and_channel_count(landing: Landing) -> None:
    landing.csv(
        "zaken/zaken_20200602.csv",
        case("k1", "2020-06-01T10:00:00+02:00"),  # reisdocument thuisbezorgd: counted
        case("k2", "2020-06-01T10:05:00+02:00", kanaal="balie"),  # a passport at the counter
        case("k3", "2020-06-01T10:10:00+02:00", zaaktype="rijbewijs"),  # at home, but not a reisdocument
        _birth("k4", "2020-06-01T10:15:00+02:00"),  # geboorteaangifte digitaal: counted
        case("k5", "2020-06-01T10:20:00+02:00", zaaktype="geboorteaangifte", kanaal="balie"),
        case("k6", "2020-06-01T10:25:00+02:00", zaaktype="uittreksel", kanaal="post"),
        case("k7", "2020-06-01T10:30:00+02:00", zaaktype="verhuizing", kanaal="digitaal"),
        case("k8", "", gewijzigd="2020-06-01T09:00:00+02:00"),  # requested, not completed
        _birth("k9", "", status="ingetrokken", gewijzigd="2020-06-01T09:30:00+02:00"),  # withdrawn
    )
    out = landing.run()
    # thuisbezorgd: k1 = 1; digitaal births: k4 = 1; completed: k1-k7 = 7; without a counter:
    # k1 (thuisbezorgd), k3 (thuisbezorgd), k4 (digitaal), k6 (post), k7 (digitaal) = 5
    assert _figures(out.year(2020)) == (1, 1, 7, 5)
    assert _figures(out.day(D(2020, 6, 1))) == (1, 1, 7, 5)
    june = [r for r in out.rows("kerncijfers_maand") if (r["jaar"], r["maand"]) == (2020, 6)]
    assert [_figures(r) for r in june] == [(1, 1, 7, 5)]
    day = D(2020, 6, 1)
    assert _breakdown(out) == [
        (day, "geboorteaangifte", "balie", "afgerond", False, 1),
        (day, "geboorteaangifte", "digitaal", "afgerond", True, 1),
        (day, "geboorteaangifte", "digitaal", "ingetrokken", False, 1),
        (day, "reisdocument", "balie", "afgerond", False, 1),
        (day, "reisdocument", "thuisbezorgd", "aangevraagd", False, 1),
        (day, "reisdocument", "thuisbezorgd", "afgerond", True, 1),
        (day, "rijbewijs", "thuisbezorgd", "afgerond", True, 1),
        (day, "uittreksel", "post", "afgerond", True, 1),
        (day, "verhuizing", "digitaal", "afgerond", True, 1),
    ]
    assert out.quarantine() == []


# ---------------------------------------------------------------------------------------------
# Versions: the latest gewijzigd wins, a tie goes to the later file name
# ---------------------------------------------------------------------------------------------


def test_latest_gewijzigd_wins_and_a_stale_re_export_in_a_later_file_does_not(landing: Landing) -> None:
    landing.csv(
        "zaken/zaken_20200311.csv",
        case("Z1", "", gewijzigd="2020-03-01T10:00:00+01:00"),  # requested
        case("Z1", "2020-03-10T09:30:00Z"),  # completed on 10 March (10:30 local): the latest version
        case("Z1", "2020-03-10T09:30:00Z"),  # the same version repeated in the file: still one case
        _birth("Z2", "", gewijzigd="2020-03-02T10:00:00+01:00"),  # requested
        _birth("Z2", "", status="ingetrokken", gewijzigd="2020-03-05T10:00:00+01:00"),  # withdrawn: latest
    )
    landing.csv(
        "zaken/zaken_20200315.csv",
        # stale re-exports in a file whose name sorts later: Z1's request again, and a version made at
        # 10:15+01:00 = 09:15Z (as text it sorts after '...09:30:00Z', as an instant it is older)
        case("Z1", "", gewijzigd="2020-03-01T10:00:00+01:00"),
        case("Z1", "", kanaal="balie", gewijzigd="2020-03-10T10:15:00+01:00"),
        _birth("Z2", "2020-03-04T10:00:00+01:00", gewijzigd="2020-03-04T10:00:00+01:00"),  # older than withdrawn
    )
    out = landing.run()
    # Z1 completed at home on 10 March; Z2 withdrawn (on 5 March, the day of its last change): 1 document,
    # no birth; 1 completed, 1 without a counter
    assert _figures(out.year(2020)) == (1, 0, 1, 1)
    assert _figures(out.day(D(2020, 3, 10))) == (1, 0, 1, 1)
    assert _figures(out.day(D(2020, 3, 4))) == (0, 0, 0, 0)  # the stale completion of Z2 counts nowhere
    assert _breakdown(out) == [
        (D(2020, 3, 5), "geboorteaangifte", "digitaal", "ingetrokken", False, 1),
        (D(2020, 3, 10), "reisdocument", "thuisbezorgd", "afgerond", True, 1),
    ]


def test_tie_on_gewijzigd_goes_to_the_later_file_name(landing: Landing) -> None:
    # The same instant written with two offsets: 09:00Z = 10:00+01:00. The correctie's name sorts
    # last ('.' < '_'), its folder first: the name decides, not the path.
    landing.csv(
        "zaken/b/zaken_20200311.csv",
        case("T1", "2020-03-10T10:00:00+01:00", kanaal="balie"),
        case("T2", "2020-03-10T10:00:00+01:00", kanaal="thuisbezorgd"),
    )
    landing.csv(
        "zaken/a/zaken_20200311_correctie.csv",
        case("T1", "2020-03-10T09:00:00Z", kanaal="thuisbezorgd"),  # wins: T1 delivered at home
        case("T2", "2020-03-10T09:00:00Z", kanaal="balie"),  # wins: T2 at the counter
    )
    out = landing.run()
    # T1 thuisbezorgd, T2 balie: 1 document at home, 2 completed, 1 without a counter
    assert _figures(out.year(2020)) == (1, 0, 2, 1)


# ---------------------------------------------------------------------------------------------
# Days and years are Europe/Amsterdam calendar periods of afgerond_op
# ---------------------------------------------------------------------------------------------


def test_utc_year_edges_count_in_the_local_year_of_completion(landing: Landing) -> None:
    landing.csv(
        "zaken/zaken_20210104.csv",
        _birth("a", "2019-12-31T22:59:59Z"),  # 23:59:59 local on 31 Dec 2019 -> 2019
        _birth("b", "2019-12-31T23:30:00Z"),  # 00:30 local on 1 Jan 2020      -> 2020
        _birth("c", "2020-12-31T22:59:59+00:00"),  # 23:59:59 local on 31 Dec 2020 -> 2020
        _birth("d", "2020-12-31T23:30:00Z"),  # 00:30 local on 1 Jan 2021      -> 2021 (the spec's example)
        _birth("e", "2021-01-01T00:30:00+01:00"),  # local time given           -> 2021
        # completed on 31 Dec 2020 (22:00 local), changed again in 2021: the completion's year counts
        _birth("f", "2020-12-31T21:00:00Z", gewijzigd="2021-01-04T09:00:00+01:00"),
    )
    out = landing.run()
    # 2019: a; 2020: b, c, f; 2021: d, e
    assert out.years("geboorteaangiften_digitaal") == {2019: 1, 2020: 3, 2021: 2}
    assert out.day(D(2019, 12, 31))["geboorteaangiften_digitaal"] == 1  # a
    assert out.day(D(2020, 1, 1))["geboorteaangiften_digitaal"] == 1  # b
    assert out.day(D(2020, 12, 31))["geboorteaangiften_digitaal"] == 2  # c, f
    assert out.day(D(2021, 1, 1))["geboorteaangiften_digitaal"] == 2  # d, e
    assert out.day(D(2021, 1, 4))["geboorteaangiften_digitaal"] == 0  # f's last change is not its day


# ---------------------------------------------------------------------------------------------
# Values: any case, trimmed; encodings
# ---------------------------------------------------------------------------------------------


def test_values_in_any_case_and_with_spaces(landing: Landing) -> None:
    landing.csv(
        "zaken/zaken_20200311.csv",
        case("C1", "2020-03-10T10:00:00+01:00", zaaktype="REISDOCUMENT", kanaal="Thuisbezorgd", status="AFGEROND"),
        case("C2", "2020-03-10T10:05:00+01:00", zaaktype="Geboorteaangifte", kanaal="DIGITAAL", status="Afgerond"),
        case("C3", "2020-03-10T10:10:00+01:00", zaaktype=" reisDocument ", kanaal=" thuisBEZORGD", status="afgerond "),
        case(
            " C4 ", "", zaaktype="RijBewijs", kanaal="Post", status="AangeVraagd", gewijzigd="2020-03-10T11:00:00+01:00"
        ),
    )
    out = landing.run()
    # C1, C3 documents at home; C2 a birth online; C4 requested: 3 completed, all 3 without a counter
    assert _figures(out.year(2020)) == (2, 1, 3, 3)
    day = D(2020, 3, 10)
    assert _breakdown(out) == [
        (day, "geboorteaangifte", "digitaal", "afgerond", True, 1),
        (day, "reisdocument", "thuisbezorgd", "afgerond", True, 2),
        (day, "rijbewijs", "post", "aangevraagd", False, 1),
    ]
    assert out.quarantine() == []


def test_encodings_utf8_utf8_bom_and_windows_1252(landing: Landing) -> None:
    for enc, name in (("utf-8", "utf8"), ("utf-8-sig", "bom"), ("cp1252", "ansi")):
        landing.csv(
            f"zaken/zaken_20200311_{name}.csv",
            case(f"{name}-1", "2020-03-10T10:00:00+01:00", naam="Çelik", adres="Oudegracht 1 — achterom"),
            _birth(f"{name}-2", "2020-03-10T11:00:00+01:00", naam="José Çelik", bsn="123456782"),
            encoding=enc,
        )
    out = landing.run()
    # 3 files x (1 document, 1 birth); nothing quarantined (a BOM glued to the first column name would
    # make 'zaak_id' missing and reject the file; a cp1252 'Ç' read as UTF-8 would reject it too)
    assert _figures(out.year(2020)) == (3, 3, 6, 6)
    codering = {r["bestand"].split("_")[-1]: r["codering"] for r in out.rows("leveringen")}
    assert codering == {"utf8.csv": "utf-8", "bom.csv": "utf-8-sig", "ansi.csv": "cp1252"}
    assert {r["status"] for r in out.rows("leveringen")} == {"verwerkt"}
    assert out.quarantine() == []


# ---------------------------------------------------------------------------------------------
# Invalid rows: quarantined with file, line, column, reason; never counted
# ---------------------------------------------------------------------------------------------

# Each case is a file of its own with one good row (a document delivered at home) and the invalid one,
# both on the case's own day, so that all cases share one pipeline run and still say which row counted.
# `{id}` and `{day}` (yyyy-mm-dd) / `{dmy}` (dd-mm-yyyy) are filled in per case.
AT = "{day}T10:01:00+01:00"
INVALID_CASES = {
    "unknown zaaktype": (case("{id}", AT, zaaktype="paspoort"), "zaaktype", "onbekend zaaktype"),
    "unknown kanaal": (case("{id}", AT, kanaal="koerier"), "kanaal", "onbekend kanaal"),
    "unknown status": (case("{id}", AT, status="gesloten"), "status", "onbekende status"),
    "empty id": (case(" ", AT), "zaak_id", "lege id"),
    "unparseable gewijzigd": (case("{id}", AT, gewijzigd="gisteren"), "gewijzigd", "geen ISO 8601-tijd met offset"),
    "gewijzigd without offset": (
        case("{id}", AT, gewijzigd="{day}T10:01:00"),
        "gewijzigd",
        "geen ISO 8601-tijd met offset",
    ),
    "unparseable afgerond_op": (
        case("{id}", "{dmy} 10:01", gewijzigd=AT),
        "afgerond_op",
        "geen ISO 8601-tijd met offset",
    ),
    "impossible afgerond_op": (
        case("{id}", "2020-02-30T10:01:00+01:00", gewijzigd=AT),
        "afgerond_op",
        "geen ISO 8601-tijd met offset",
    ),
    "afgerond without afgerond_op": (
        case("{id}", "", status="afgerond", gewijzigd=AT),
        "afgerond_op",
        "gevuld zijn precies als de status afgerond is",
    ),
    "afgerond_op on a requested case": (
        case("{id}", AT, status="aangevraagd"),
        "afgerond_op",
        "gevuld zijn precies als de status afgerond is",
    ),
    "afgerond_op on a withdrawn case": (
        case("{id}", AT, status="ingetrokken"),
        "afgerond_op",
        "gevuld zijn precies als de status afgerond is",
    ),
    "thuisbezorgd with geboorteaangifte": (
        case("{id}", AT, zaaktype="geboorteaangifte", kanaal="thuisbezorgd"),
        "kanaal",
        "thuisbezorgd kan alleen bij een reisdocument of rijbewijs",
    ),
    "thuisbezorgd with uittreksel": (
        case("{id}", AT, zaaktype="uittreksel", kanaal="thuisbezorgd"),
        "kanaal",
        "thuisbezorgd kan alleen",
    ),
    "too few fields": (f"{{id}};reisdocument;thuisbezorgd;afgerond;{AT};{AT};;", None, "verkeerd aantal velden"),
    "too many fields": (case("{id}", AT) + ";extra", None, "verkeerd aantal velden"),
}


@pytest.fixture(scope="module")
def invalid_rows(tmp_path_factory: pytest.TempPathFactory) -> Published:
    return land_invalid_cases(
        tmp_path_factory.mktemp("invalid"),
        "zaken/ongeldig/zaken",
        INVALID_CASES,
        lambda n, day: case(f"ok-{n}", f"{day}T10:00:00+01:00"),
    )


@pytest.mark.slow
@pytest.mark.parametrize("kind", INVALID_CASES, ids=str)
def test_invalid_case_is_quarantined_and_not_counted(invalid_rows: Published, kind: str) -> None:
    n = list(INVALID_CASES).index(kind)
    _, kolom, reason = INVALID_CASES[kind]
    bestand = invalid_file("zaken/ongeldig/zaken", n)
    # Only the good case of the case's day counts: 1 document at home, 1 completed, 1 case in the breakdown
    day = invalid_rows.day(invalid_day(n))
    assert _figures(day) == (1, 0, 1, 1)
    breakdown = [r for r in invalid_rows.rows("zaken_uitsplitsing") if r["datum"] == invalid_day(n)]
    assert [(r["zaaktype"], r["kanaal"], r["status"], r["aantal"]) for r in breakdown] == [
        ("reisdocument", "thuisbezorgd", "afgerond", 1)
    ]
    # One quarantine row per invalid row, naming the delivered column and the reason
    found = invalid_rows.quarantine(bestand)
    assert [(r["bron"], r["regel"], r["kolom"]) for r in found] == [("zaken", 3, kolom)]
    assert reason in found[0]["reden"]
    delivery = invalid_rows.delivery(bestand)
    assert (delivery["status"], delivery["rijen"], delivery["ongeldige_rijen"]) == ("verwerkt", 2, 1)


def test_invalid_cases_are_counted_nowhere(invalid_rows: Published) -> None:
    # 15 case files, each with one good row: the totals are exactly the good rows
    y = invalid_rows.year(2020)
    assert _figures(y) == (len(INVALID_CASES), 0, len(INVALID_CASES), len(INVALID_CASES))
    assert sum(r["aantal"] for r in invalid_rows.rows("zaken_uitsplitsing")) == len(INVALID_CASES)
    assert len(invalid_rows.quarantine()) == len(INVALID_CASES)


def test_a_file_without_afgerond_op_is_rejected_and_names_the_column(landing: Landing) -> None:
    landing.csv(
        "zaken/zaken_20200311.csv",
        "Z1;reisdocument;thuisbezorgd;afgerond;2020-03-10T10:00:00+01:00;;;",
        header="zaak_id;zaaktype;kanaal;status;gewijzigd;bsn;naam;adres",
    )
    landing.csv("zaken/zaken_20200312.csv", case("Z2", "2020-03-11T10:00:00+01:00"))
    out = landing.run()
    d = out.delivery("zaken/zaken_20200311.csv")
    assert d["status"] == "afgewezen" and "afgerond_op" in d["reden"]
    assert _figures(out.year(2020)) == (1, 0, 1, 1)  # Z2 only


# ---------------------------------------------------------------------------------------------
# Personal data: bsn, naam and adres never reach the warehouse or the state database
# ---------------------------------------------------------------------------------------------

PII = {
    "bsn": ["123456782", "987654321", "111222333"],
    "naam": ["Zoë Çelik", "José de Vries-Çelik", "Çelik"],
    "adres": ["Oudegracht 1, 3511 AB Utrecht", "Hoogstraat 12bis", "Neude 5"],
}


def test_no_personal_data_anywhere_in_the_warehouse(landing: Landing) -> None:
    landing.csv(
        "zaken/zaken_20200311.csv",
        case(
            "P1", "2020-03-10T10:00:00+01:00", bsn="123456782", naam="Zoë Çelik", adres="Oudegracht 1, 3511 AB Utrecht"
        ),
        _birth(
            "P2", "2020-03-10T11:00:00+01:00", bsn="987654321", naam="José de Vries-Çelik", adres="Hoogstraat 12bis"
        ),
        # invalid rows keep their place in the quarantine, never their personal data
        case("P3", "2020-03-10T12:00:00+01:00", kanaal="koerier", bsn="111222333", naam="Çelik", adres="Neude 5"),
        # a field too few: the citizen's values shift into other columns, the row is quarantined whole
        "P4;reisdocument;thuisbezorgd;afgerond;2020-03-10T12:00:00+01:00;123456782;Zoë Çelik;Neude 5",
        # P3's BSN delivered in the zaaktype column: the quarantine shows its kind and a keyed hash
        case("P5", "2020-03-10T12:00:00+01:00", zaaktype="111222333"),
        encoding="cp1252",
    )
    out = landing.run(max_invalid_share=1.0)
    assert _figures(out.year(2020)) == (1, 1, 2, 2)  # P1, P2
    assert [(r["regel"], r["kolom"]) for r in out.quarantine()] == [(4, "kanaal"), (5, None), (6, "zaaktype")]
    assert re.fullmatch(r"\[bsn #[0-9a-f]{12}\]", out.quarantine()[2]["waarde"])

    state = landing.settings().state_db
    texts = {"published": all_text(out.path), "state": all_text(state), "summary": repr(out.summary)}
    for where, text in texts.items():
        for column, values in PII.items():
            for value in values:
                assert value not in text, f"{column} value {value!r} found in the {where} database"


# ---------------------------------------------------------------------------------------------
# A year without any case record is NULL; the report's section only with case data for its year
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def years(tmp_path_factory: pytest.TempPathFactory) -> Published:
    land = Landing(tmp_path_factory.mktemp("years"))
    for year in (2019, 2020, 2021):
        land.csv(f"telefonie/telefonie_{year}0702.csv", *utrecht_calls(year, 2, answered=1))
    land.csv("zaken/zaken_20190702.csv")  # header only: no case record in 2019
    land.csv(
        "zaken/zaken_20200702.csv",
        case("Z1", "2020-07-01T10:00:00+02:00"),
        case("Z2", "2020-07-01T10:10:00+02:00"),
        _birth("Z3", "2020-07-01T10:20:00+02:00"),
        case("Z4", "2020-07-01T10:30:00+02:00", zaaktype="rijbewijs"),
        case("Z5", "2020-07-01T10:40:00+02:00", kanaal="balie"),
    )
    # 2021: one case, requested and not completed: a year with case data in which nothing was completed
    land.csv("zaken/zaken_20210702.csv", case("Z6", "", gewijzigd="2021-07-01T10:00:00+02:00"))
    return land.run()


def test_a_year_without_any_case_record_is_null_not_zero(years: Published) -> None:
    # 2019: calls but no case record at all -> NULL; 2020: Z1, Z2 at home, Z3 online, Z4 (rijbewijs at
    # home) and Z5 (at the counter) completed -> 2, 1, 5 completed, 4 without a counter;
    # 2021: one case record, nothing completed -> 0, not NULL
    assert _figures(years.year(2019)) == (None, None, None, None)
    assert years.year(2019)["telefoontjes_gemeente"] == 2
    assert _figures(years.year(2020)) == (2, 1, 5, 4)
    assert _figures(years.year(2021)) == (0, 0, 0, 0)
    assert _figures(years.day(D(2019, 7, 1))) == (None, None, None, None)
    assert _figures(years.day(D(2020, 7, 2))) == (0, 0, 0, 0)  # a day without cases in a month with cases


@pytest.mark.slow
def test_the_report_has_the_case_section_only_for_a_year_with_case_data(years: Published) -> None:
    def sections(year: int) -> dict[str, str]:
        return {s.title: s.text for s in html_report.read(years.path, year).sections}

    assert SECTION not in sections(2019)
    assert sections(2020)[SECTION] == (
        "In 2020 zijn 2 paspoorten en identiteitskaarten thuisbezorgd, en is 1 keer een geboorte digitaal "
        "aangegeven. In totaal zijn 4 zaken afgerond zonder bezoek aan de balie."
    )
    # 2021 has case data (nothing completed): the section is there, with the change against 2020
    assert sections(2021)[SECTION].startswith(
        "In 2021 zijn 0 paspoorten en identiteitskaarten thuisbezorgd (-2 ten opzichte van het jaar ervoor)"
    )
    assert SECTION in html_report.markdown(html_report.read(years.path, 2020))
    assert SECTION not in html_report.markdown(html_report.read(years.path, 2019))


def test_no_case_data_at_all_leaves_the_case_figures_null(landing: Landing) -> None:
    landing.csv("telefonie/telefonie_20200702.csv", call("c", "2020-07-01T10:00:00+02:00"))
    out = landing.run()
    assert _figures(out.year(2020)) == (None, None, None, None)
    assert out.rows("zaken_uitsplitsing") == []
    assert SECTION not in {s.title for s in html_report.read(out.path, 2020).sections}
