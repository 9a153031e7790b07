"""The generator's deliveries give the target figures exactly, by an independent reading of the spec.

The checker below reads the files with the csv module and zoneinfo only, applying the rules of
`shared/spec/raw-data.md` and `shared/spec/kpis.md`; it shares no code with `pipeline.generate`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

from pipeline.sample import GenerateSummary, generate, load_targets
from tests.support.cli import cli

TZ = ZoneInfo("Europe/Amsterdam")
BOM = b"\xef\xbb\xbf"
NAME = re.compile(r"^(afspraken|telefonie|zaken)_(\d{8})(_[^.]+)?\.csv$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
NUMBERS = {
    "14030": "14030",
    "14 030": "14030",
    "0302860000": "0302860000",
    "030-2860000": "0302860000",
    "030 286 0000": "0302860000",
    "+31302860000": "0302860000",
}
CHOICES = {c.lower(): c for c in ("Utrecht", "Zeist", "Houten", "Nieuwegein", "IJsselstein", "Overig", "Geen keuze")}
FORWARDED = {"Zeist", "Houten", "Nieuwegein", "IJsselstein"}
UTRECHT = {"Utrecht", "Overig", "Geen keuze"}
OUTCOMES = {"beantwoord", "verbroken", "doorgeschakeld"}
STATUSES = {"gepland", "verschenen", "niet verschenen", "geannuleerd"}
CHANNELS = {"balie", "video", "telefoon"}
COUNTED_LOCATIONS = {"Stadskantoor", "Wijkservicecentrum Vleuten-De Meern"}
CASE_TYPES = {"reisdocument", "rijbewijs", "geboorteaangifte", "verhuizing", "uittreksel"}
CASE_CHANNELS = {"balie", "thuisbezorgd", "digitaal", "post"}
CASE_STATUSES = {"aangevraagd", "afgerond", "ingetrokken"}
DELIVERED_HOME = {"reisdocument", "rijbewijs"}
CALL_REQUIRED = ("gesprek_id", "starttijd", "nummer", "keuze", "wachtrij", "afhandeling", "wachttijd", "gespreksduur")
APPT_REQUIRED = ("afspraak_id", "locatie", "kanaal", "product", "datum", "tijd", "status", "gewijzigd")
CASE_REQUIRED = ("zaak_id", "zaaktype", "kanaal", "status", "afgerond_op", "gewijzigd")
TARGET_COLUMNS = (
    "baliebezoeken_met_afspraak",
    "telefoontjes_gemeente",
    "telefoontjes_14030",
    "bereikbaarheid_pct",
    "reisdocumenten_thuisbezorgd",
    "geboorteaangiften_digitaal",
)


class Call(NamedTuple):
    local_year: int
    number: str
    choice: str
    outcome: str


class Version(NamedTuple):
    changed: dt.datetime
    year: int
    location: str
    channel: str
    status: str


class Case(NamedTuple):
    changed: dt.datetime
    done_year: int | None  # local year of afgerond_op
    kind: str
    channel: str
    status: str


@dataclass
class FileStats:
    encoding: str
    crlf: bool
    rows: int = 0
    invalid: int = 0


@dataclass
class Figures:
    visits: Counter[int] = field(default_factory=Counter)
    calls: Counter[int] = field(default_factory=Counter)
    calls_14030: Counter[int] = field(default_factory=Counter)
    answered: Counter[int] = field(default_factory=Counter)
    documents_home: Counter[int] = field(default_factory=Counter)
    births_online: Counter[int] = field(default_factory=Counter)
    files: dict[str, FileStats] = field(default_factory=dict)
    invalid_reasons: Counter[str] = field(default_factory=Counter)
    noise: Counter[str] = field(default_factory=Counter)

    def pct(self, year: int) -> int | None:
        total = self.calls[year]
        return None if total == 0 else (200 * self.answered[year] + total) // (2 * total)


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(BOM):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252"), "cp1252"


def _records(path: Path, required: tuple[str, ...], stats: FileStats) -> list[dict[str, str] | None]:
    """Trimmed records keyed by lower-case column name; None for a record with a wrong field count."""
    text, _ = _decode(path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"')
    header = [h.strip().lower() for h in next(reader)]
    missing = [c for c in required if c not in header]
    assert not missing, f"{path.name}: missing {missing}"
    out: list[dict[str, str] | None] = []
    for record in reader:
        if not record:
            continue
        stats.rows += 1
        if len(record) != len(header):
            out.append(None)
            continue
        out.append({h: v.strip() for h, v in zip(header, record, strict=True)})
    return out


def _moment(text: str) -> dt.datetime | None:
    if not ISO.match(text):
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    # the generator never writes a wrong offset (e.g. +01:00 in summer time)
    assert text.endswith("Z") or moment.utcoffset() == moment.astimezone(TZ).utcoffset(), text
    return moment


def _call(rec: dict[str, str] | None) -> tuple[str, Call] | str:
    """(gesprek_id, parsed call) or the reason it is invalid."""
    if rec is None:
        return "field count"
    if not rec["gesprek_id"]:
        return "empty id"
    start = _moment(rec["starttijd"])
    if start is None:
        return "starttijd"
    number = NUMBERS.get(rec["nummer"])
    if number is None:
        return "nummer"
    choice_text = rec["keuze"]
    if number == "0302860000":
        if choice_text:
            return "keuze on 030"
        choice = ""
    else:
        choice = "Geen keuze" if choice_text == "" else CHOICES.get(choice_text.lower(), "?")
        if choice == "?":
            return "keuze"
    outcome = rec["afhandeling"]
    if outcome not in OUTCOMES:
        return "afhandeling"
    if not re.fullmatch(r"\d+", rec["wachttijd"]) or not re.fullmatch(r"\d+", rec["gespreksduur"]):
        return "seconds"
    if int(rec["gespreksduur"]) > 0 and outcome != "beantwoord":
        return "gespreksduur without answer"
    if (outcome == "doorgeschakeld") != (number == "14030" and choice in FORWARDED):
        return "forwarding"
    local_year = start.astimezone(TZ).year
    return rec["gesprek_id"], Call(local_year, number, choice, outcome)


def _appointment(rec: dict[str, str] | None) -> tuple[str, Version] | str:
    if rec is None:
        return "field count"
    if not rec["afspraak_id"]:
        return "empty id"
    if not re.fullmatch(r"\d\d-\d\d-\d{4}", rec["datum"]):
        return "datum"
    try:
        day = dt.datetime.strptime(rec["datum"], "%d-%m-%Y").date()
    except ValueError:
        return "datum"
    match = re.fullmatch(r"(\d\d):(\d\d)", rec["tijd"])
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        return "tijd"
    status = rec["status"].lower()
    if status not in STATUSES:
        return "status"
    if rec["kanaal"] not in CHANNELS:
        return "kanaal"
    changed = _moment(rec["gewijzigd"])
    if changed is None:
        return "gewijzigd"
    return rec["afspraak_id"], Version(changed, day.year, rec["locatie"], rec["kanaal"], status)


def _case(rec: dict[str, str] | None) -> tuple[str, Case] | str:
    if rec is None:
        return "zaken: field count"
    if not rec["zaak_id"]:
        return "zaken: empty id"
    kind, channel, status = (rec[c].lower() for c in ("zaaktype", "kanaal", "status"))
    if kind not in CASE_TYPES:
        return "zaken: zaaktype"
    if channel not in CASE_CHANNELS:
        return "zaken: kanaal"
    if status not in CASE_STATUSES:
        return "zaken: status"
    changed = _moment(rec["gewijzigd"])
    if changed is None:
        return "zaken: gewijzigd"
    done = _moment(rec["afgerond_op"]) if rec["afgerond_op"] else None
    if rec["afgerond_op"] and done is None:
        return "zaken: afgerond_op"
    if (done is not None) != (status == "afgerond"):
        return "zaken: afgerond_op exactly when afgerond"
    if channel == "thuisbezorgd" and kind not in DELIVERED_HOME:
        return "zaken: thuisbezorgd"
    return rec["zaak_id"], Case(changed, done.astimezone(TZ).year if done else None, kind, channel, status)


REQUIRED = {"telefonie": CALL_REQUIRED, "afspraken": APPT_REQUIRED, "zaken": CASE_REQUIRED}
PARSE = {"telefonie": _call, "afspraken": _appointment, "zaken": _case}


def check(raw: Path, max_invalid_share: float = 0.05) -> Figures:
    """Figures from a landing folder by the spec's rules (files in name order, then path)."""
    figures = Figures()
    files = sorted(
        (p for p in raw.rglob("*") if p.is_file() and NAME.match(p.name)),
        key=lambda p: (p.name.encode(), p.relative_to(raw).as_posix().encode()),
    )
    assert not [p for p in raw.rglob("*.csv") if not NAME.match(p.name)]
    calls: dict[str, tuple[Call, str]] = {}
    versions: dict[str, tuple[Version, str]] = {}
    cases: dict[str, tuple[Case, str]] = {}
    for path in files:
        data = path.read_bytes()
        stats = FileStats(encoding=_decode(data)[1], crlf=b"\r\n" in data)
        figures.files[path.relative_to(raw).as_posix()] = stats
        source = NAME.match(path.name)[1]  # type: ignore[index]
        is_calls = source == "telefonie"
        records = _records(path, REQUIRED[source], stats)
        parsed: list[tuple[str, Call | Version | Case] | str] = [PARSE[source](r) for r in records]
        bad = [p for p in parsed if isinstance(p, str)]
        stats.invalid = len(bad)
        figures.invalid_reasons.update(bad)
        if stats.rows and stats.invalid / stats.rows > max_invalid_share:
            continue  # the whole file is rejected
        seen_here: dict[str, Call | Version | Case] = {}
        for item in parsed:
            if isinstance(item, str):
                continue
            key, value = item
            if key in seen_here:
                figures.noise["repeated in file"] += 1
                if is_calls:  # a call repeated within one file must be identical
                    assert seen_here[key] == value, (path.name, key)
            seen_here[key] = value
            if isinstance(value, Call):
                earlier = calls.get(key)
                if earlier is not None and earlier[1] != path.name:
                    same = earlier[0] == value
                    figures.noise["call in a later file" if same else "call changed by a later file"] += 1
                calls[key] = (value, path.name)  # files come in name order: the last one wins
            elif isinstance(value, Case):
                known = cases.get(key)
                if known is not None and value.changed < known[0].changed:
                    figures.noise["zaken: older version in a later file"] += 1
                if known is not None and value.changed == known[0].changed and known[1] != path.name:
                    figures.noise["zaken: same gewijzigd in a later file"] += 1
                if known is None or value.changed >= known[0].changed:  # on a tie the later file wins
                    cases[key] = (value, path.name)
            else:
                best = versions.get(key)
                if best is not None and value.changed < best[0].changed:
                    figures.noise["older version in a later file"] += 1
                if best is not None and value.changed == best[0].changed and best[1] != path.name:
                    figures.noise["same gewijzigd in a later file"] += 1
                if best is None or value.changed >= best[0].changed:  # on a tie the later file wins
                    versions[key] = (value, path.name)
    for call, _ in calls.values():
        if call.number == "0302860000" or call.choice in UTRECHT:
            figures.calls[call.local_year] += 1
            figures.calls_14030[call.local_year] += call.number == "14030"
            figures.answered[call.local_year] += call.outcome == "beantwoord"
    for version, _ in versions.values():
        if version.status == "verschenen" and version.channel == "balie" and version.location in COUNTED_LOCATIONS:
            figures.visits[version.year] += 1
    for case, _ in cases.values():
        if case.status == "afgerond" and case.done_year is not None:
            figures.documents_home[case.done_year] += (case.kind, case.channel) == ("reisdocument", "thuisbezorgd")
            figures.births_online[case.done_year] += (case.kind, case.channel) == ("geboorteaangifte", "digitaal")
    return figures


def _targets(tmp_path: Path, rows: list[tuple[int | None, ...]], columns: tuple[str, ...] = TARGET_COLUMNS[:4]) -> Path:
    """A targets table: `jaar` and `columns`; a row shorter than the header leaves the rest empty."""
    path = tmp_path / f"targets-{len(list(tmp_path.glob('targets*.csv')))}.csv"
    lines = [",".join(("jaar", *columns))]
    lines += [
        ",".join("" if v is None else str(v) for v in (*row, *[None] * (1 + len(columns) - len(row)))) for row in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


SMALL: list[tuple[int | None, ...]] = [(2021, 1200, 2000, 1500, 90)]
# a leap year, a year outside 2017-2020 and enough volume for invalid rows (files of >= 100 rows);
# case targets for 2021 only: 2016 gets no case deliveries
FIGURES: list[tuple[int | None, ...]] = [
    (2016, 24_000, 30_000, 19_000, 91, None, None),
    (2021, 20_000, 26_000, 19_500, 87, 6_000, 800),
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateSummary, Figures]:
    tmp = tmp_path_factory.mktemp("figures")
    out = tmp / "raw"
    summary = generate(_targets(tmp, FIGURES, TARGET_COLUMNS), out, seed=7)
    return out, summary, check(out)


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    targets = _targets(tmp_path, SMALL)
    seen: list[tuple[int, int]] = []
    summary = generate(targets, tmp_path / "a", seed=1, progress=lambda done, total: seen.append((done, total)))
    generate(targets, tmp_path / "b", seed=1)
    generate(targets, tmp_path / "c", seed=2)
    a, b, c = (_digest(tmp_path / name) for name in "abc")
    assert a == b
    assert a != c
    # progress: from 0 to total in steps of one; total = years drawn + files written
    assert [d for d, _ in seen] == list(range(len(seen)))
    assert {t for _, t in seen} == {len(seen) - 1} == {summary.files_written + len(summary.years)}
    for folder in ("a", "c"):
        figures = check(tmp_path / folder)
        assert figures.visits[2021] == 1200
        assert figures.calls[2021] == 2000
        assert figures.calls_14030[2021] == 1500
        assert figures.pct(2021) == 90


@pytest.mark.slow
def test_figures_equal_targets(generated: tuple[Path, GenerateSummary, Figures]) -> None:
    _, summary, figures = generated
    assert summary.years == (2016, 2021)
    for year, visits, calls, calls_14030, pct, _, _ in FIGURES:
        assert figures.visits[year] == visits
        assert figures.calls[year] == calls
        assert figures.calls_14030[year] == calls_14030
        assert figures.pct(year) == pct
    assert set(figures.visits) <= {2016, 2021}
    assert {y for y, n in figures.calls.items() if n} == {2016, 2021}


def test_case_figures_equal_targets(generated: tuple[Path, GenerateSummary, Figures]) -> None:
    _, summary, figures = generated
    # 2021's targets carry the two case columns: exactly those cases, counted in the local year of
    # completion (documents delivered at home, births registered online)
    assert (figures.documents_home[2021], figures.births_online[2021]) == (6_000, 800)
    # 2016 has none: no case in any other year, and no case file beyond the edges of 2021
    assert {y for y, n in figures.documents_home.items() if n} == {2021}
    assert {y for y, n in figures.births_online.items() if n} == {2021}
    case_files = [name for name in figures.files if name.startswith("zaken/")]
    assert case_files and summary.rows["zaken"] == sum(figures.files[name].rows for name in case_files)
    assert {name.split("/")[1] for name in case_files} <= {"2020", "2021", "2022"}
    # the noise of the case system: stale re-exports, corrections with the same gewijzigd, invalid rows
    assert figures.noise["zaken: older version in a later file"] > 0, figures.noise
    assert figures.noise["zaken: same gewijzigd in a later file"] > 0, figures.noise
    case_reasons = {reason for reason in figures.invalid_reasons if reason.startswith("zaken: ")}
    assert case_reasons == {
        "zaken: field count",
        "zaken: empty id",
        "zaken: zaaktype",
        "zaken: kanaal",
        "zaken: status",
        "zaken: gewijzigd",
        "zaken: afgerond_op",
        "zaken: afgerond_op exactly when afgerond",
        "zaken: thuisbezorgd",
    }, figures.invalid_reasons


@pytest.mark.slow
def test_noise_is_present(generated: tuple[Path, GenerateSummary, Figures]) -> None:
    out, summary, figures = generated
    assert summary.files_written == len(figures.files)
    rows = sum(s.rows for s in figures.files.values())
    assert rows == sum(summary.rows.values())
    assert any("_correctie" in name for name in figures.files)
    assert (out / "README.txt").is_file()
    # several kinds of invalid rows were delivered and recognised
    assert len(figures.invalid_reasons) >= 8, figures.invalid_reasons
    assert any(s.rows == 0 for s in figures.files.values())  # header-only files occur
    for kind in (
        "repeated in file",
        "call in a later file",
        "call changed by a later file",
        "older version in a later file",
        "same gewijzigd in a later file",
    ):
        assert figures.noise[kind] > 0, (kind, figures.noise)


def test_encodings_and_line_endings_vary(generated: tuple[Path, GenerateSummary, Figures]) -> None:
    _, _, figures = generated
    encodings = {s.encoding for s in figures.files.values()}
    assert {"utf-8", "utf-8-sig", "cp1252"} <= encodings
    assert {s.crlf for s in figures.files.values() if s.rows} == {True, False}


def test_invalid_share_per_file_below_threshold(generated: tuple[Path, GenerateSummary, Figures]) -> None:
    _, _, figures = generated
    assert sum(s.invalid for s in figures.files.values()) > 0
    for name, stats in figures.files.items():
        assert stats.invalid <= 1, name
        if stats.invalid:
            assert stats.invalid / stats.rows < 0.05, name


def test_bad_targets_are_rejected_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "jaar,baliebezoeken_met_afspraak,telefoontjes_gemeente,telefoontjes_14030,bereikbaarheid_pct\n"
        "2019,10,100,50,90\n"
        "2020,10,100,150,90\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"bad\.csv:3: telefoontjes_14030"):
        load_targets(bad)
    bad.write_text("jaar,x\n2020,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.csv:1: expected header"):
        load_targets(bad)
    bad.write_text(
        "jaar,baliebezoeken_met_afspraak,telefoontjes_gemeente,telefoontjes_14030,bereikbaarheid_pct\n2020,10,3,1,50\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"bad\.csv:2: no number of answered calls"):
        load_targets(bad)


def test_refuses_to_mix_with_an_earlier_delivery(tmp_path: Path) -> None:
    targets = _targets(tmp_path, SMALL)
    generate(targets, tmp_path / "out")
    with pytest.raises(FileExistsError):
        generate(targets, tmp_path / "out")


def test_two_targets_files_combine_by_year_on_the_command_line(tmp_path: Path) -> None:
    counts = _targets(tmp_path, [(2021, 1200, 2000, 1500, 90)])  # the published table's columns
    cases = _targets(tmp_path, [(2020, 150, 20), (2021, 300, 40)], TARGET_COLUMNS[4:])  # case columns only
    done = cli("generate", "--targets", counts, "--targets", cases, "--out", "raw", "--seed", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "for [2020, 2021] in raw" in done.stderr
    figures = check(tmp_path / "raw")
    # 2021 from both tables; 2020 from the case table alone, so 2020 has cases and nothing else
    assert (figures.visits[2021], figures.calls[2021], figures.calls_14030[2021], figures.pct(2021)) == (
        1200,
        2000,
        1500,
        90,
    )
    assert (figures.documents_home[2021], figures.births_online[2021]) == (300, 40)
    assert (figures.documents_home[2020], figures.births_online[2020]) == (150, 20)
    assert (figures.visits[2020], figures.calls[2020]) == (0, 0)


def test_a_figure_given_in_two_targets_files_is_refused(tmp_path: Path) -> None:
    first = _targets(tmp_path, [(2020, 150, 20)], TARGET_COLUMNS[4:])
    second = _targets(tmp_path, [(2019, 10, 1), (2020, 150, 20)], TARGET_COLUMNS[4:])
    with pytest.raises(ValueError, match=r"targets-1\.csv:3: reisdocumenten_thuisbezorgd of 2020 is already given in"):
        load_targets(first, second)
