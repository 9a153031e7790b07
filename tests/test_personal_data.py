"""Personal data where the agreement does not put it (a swapped header, a BSN in a status, a phone
number in a queue name) is never published in clear: not in the published file, its exports or the
run's output; where the agreement puts it, it is never published at all (docs/operations.md,
"personal data")."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import duckdb
import pytest

from tests.sources.afspraken.lines import APPT_HEADER, appointment
from tests.sources.telefonie.lines import CALL_HEADER, call
from tests.support.cli import cli
from tests.support.deliveries import PII_KEY, settings_for, write
from tests.support.published import all_text, export_text, relation_names, rows

SWAPPED_CALL_HEADER = CALL_HEADER.replace("nummer", "@@").replace("beller", "nummer").replace("@@", "beller")
CALLER_NUMBERS = ("0612345678", "06-23456789", "+31 6 34567890")  # in `nummer`: the header was swapped
BSN_IN_STATUS = "111222333"  # passes the eleven-test
PHONE_IN_TIME = "06-87654321"
EMAIL_IN_OUTCOME = "piet.puk@example.nl"
PHONE_IN_QUEUE = "0687654321"
EMAIL_IN_LOCATION = "klaas@voorbeeld.nl"
NAME_IN_PRODUCT = "Jan de Vries"
# and the personal data where the agreement puts it
CALLER = "0611122233"
CITIZEN = {"bsn": "123456782", "naam": "José Çelik", "telefoon": "0698765432", "email": "jose.celik@example.nl"}
PERSONAL_VALUES = (
    *CALLER_NUMBERS,
    BSN_IN_STATUS,
    PHONE_IN_TIME,
    EMAIL_IN_OUTCOME,
    PHONE_IN_QUEUE,
    EMAIL_IN_LOCATION,
    NAME_IN_PRODUCT,
    CALLER,
    *CITIZEN.values(),
)


def _mask(kind: str, value: str) -> str:
    """How the pipeline shows a personal value: its kind and a keyed hash (HMAC-SHA-256, 12 hex digits)."""
    return f"[{kind} #{hmac.new(PII_KEY.encode(), value.strip().encode(), hashlib.sha256).hexdigest()[:12]}]"


def _relations_holding(path: Path, values: tuple[str, ...]) -> dict[str, list[str]]:
    """Per value found: the tables and views of a DuckDB file that hold it in some column."""
    found: dict[str, list[str]] = {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        for relation in relation_names(con):
            text = "\n".join(str(v) for row in con.execute(f"SELECT * FROM {relation}").fetchall() for v in row)
            for value in values:
                if value in text:
                    found.setdefault(value, []).append(relation)
    finally:
        con.close()
    return found


def write_personal_data_in_the_wrong_columns(raw: Path) -> None:
    """Deliveries with personal data where it does not belong, and where it does."""
    day = "2020-03-16"
    ordinary = [call(f"o{i}", f"{day}T09:{i:02d}:00+01:00", beller=CALLER) for i in range(5)]
    write(raw / "telefonie/telefonie_20200317.csv", CALL_HEADER, ordinary)
    # The header names `nummer` and `beller` the wrong way round: the callers' numbers land in `nummer`.
    swapped = [call(f"s{i}", f"{day}T10:0{i}:00+01:00", beller=n) for i, n in enumerate(CALLER_NUMBERS)]
    write(raw / "telefonie/telefonie_20200317_verwisseld.csv", SWAPPED_CALL_HEADER, swapped)
    write(
        raw / "telefonie/telefonie_20200317_fout.csv",
        CALL_HEADER,
        [call("e1", f"{day}T11:00:00+01:00", afhandeling=EMAIL_IN_OUTCOME)],
    )
    # A phone number typed into the queue: a valid call (three of them, so the value is not rare).
    queue = [call(f"q{i}", f"{day}T12:0{i}:00+01:00", wachtrij=PHONE_IN_QUEUE) for i in range(3)]
    write(raw / "telefonie/telefonie_20200317_wachtrij.csv", CALL_HEADER, queue)

    visits = [appointment(f"v{i}", "16-03-2020", **CITIZEN) for i in range(5)]  # type: ignore[arg-type]
    visits += [appointment(f"l{i}", "16-03-2020", locatie=EMAIL_IN_LOCATION) for i in range(3)]
    visits.append(appointment("n1", "16-03-2020", product=NAME_IN_PRODUCT))
    write(raw / "afspraken/afspraken_20200317.csv", APPT_HEADER, visits)
    write(
        raw / "afspraken/afspraken_20200317_fout.csv",
        APPT_HEADER,
        [appointment("b1", "16-03-2020", status=BSN_IN_STATUS), appointment("t1", "16-03-2020", tijd=PHONE_IN_TIME)],
    )


@pytest.mark.slow
def test_personal_data_in_the_wrong_column_is_never_published(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    raw = s.raw_dir
    write_personal_data_in_the_wrong_columns(raw)
    backfill = cli("backfill", "--raw", raw, "--warehouse", s.warehouse, PIPELINE_RARE_BELOW="3")
    assert backfill.returncode == 0, backfill.stderr
    exports = {fmt: tmp_path / f"export-{fmt}" for fmt in ("csv", "parquet", "xlsx")}
    for fmt, folder in exports.items():
        done = cli("export", "--warehouse", s.warehouse, "--format", fmt, "--out", folder)
        assert done.returncode == 0, done.stderr

    texts = {
        "published file": all_text(s.warehouse),
        **{f"{fmt} export": export_text(folder) for fmt, folder in exports.items()},
        "the run's output": backfill.stdout + backfill.stderr,
    }
    for where, text in texts.items():
        for value in PERSONAL_VALUES:
            assert value not in text, f"{value!r} found in the {where}"
    # The private state database holds no recognisable personal value either. A name typed into a
    # free-text column cannot be recognised: it stays in the staged records (private, like the
    # archive of deliveries) until publishing decides, per year, that it is rare.
    found = {value: sorted(relations) for value, relations in _relations_holding(s.state_db, PERSONAL_VALUES).items()}
    assert found == {
        NAME_IN_PRODUCT: [
            '"main"."afspraken_actueel"',
            '"main"."afspraken_uitsplitsing_dag"',
            '"main"."afspraken_versies"',
        ]
    }

    # The quarantine shows the kind of personal data and a keyed hash, with file, line and column.
    quarantined = {
        (r["bestand"].rsplit("/", 1)[1], r["regel"], r["kolom"]): r["waarde"]
        for r in rows(s.warehouse, "SELECT * FROM quarantaine")
    }
    assert quarantined == {
        **{
            ("telefonie_20200317_verwisseld.csv", line, "nummer"): _mask("telefoonnummer", number)
            for line, number in enumerate(CALLER_NUMBERS, 2)
        },
        ("telefonie_20200317_fout.csv", 2, "afhandeling"): _mask("e-mailadres", EMAIL_IN_OUTCOME),
        ("afspraken_20200317_fout.csv", 2, "status"): _mask("bsn", BSN_IN_STATUS),
        ("afspraken_20200317_fout.csv", 3, "tijd"): _mask("telefoonnummer", PHONE_IN_TIME),
    }
    # The breakdowns mask what looks personal, and group what is rare (a name cannot be recognised).
    queues = {r["wachtrij"] for r in rows(s.warehouse, "SELECT DISTINCT wachtrij FROM telefonie_uitsplitsing")}
    assert queues == {"Algemeen", _mask("telefoonnummer", PHONE_IN_QUEUE)}
    found = rows(s.warehouse, "SELECT locatie, product, sum(aantal) AS n FROM afspraken_uitsplitsing GROUP BY ALL")
    assert {(r["locatie"], r["product"], r["n"]) for r in found} == {
        ("Stadskantoor", "Paspoort", 5),
        (_mask("e-mailadres", EMAIL_IN_LOCATION), "Paspoort", 3),
        ("Stadskantoor", "(zelden)", 1),
    }
