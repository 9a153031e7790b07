"""A state database of layout 5, as main wrote it before its values were Dutch, is translated in place.

The warehouse in `tests/data/warehouse-layout5.tar.gz` was made by main at 1562da4
(`tests/data/make_layout5.py` says how): runs of kind `nightly` and `backfill`, a run `niet
gepubliceerd`, the reader's quarantine reasons and the reasons of ignored files in English, and the
key's fingerprint as `hmac_key_fingerprint`. The next run of this version translates them and keeps
every figure.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import duckdb

from pipeline.run import run
from tests.support.deliveries import settings_for
from tests.support.published import view_contents

LAYOUT5 = Path(__file__).parent / "data" / "warehouse-layout5.tar.gz"
# Published tables whose values the translation changes (checked below); every other is kept as it was.
TRANSLATED = ("runs", "meldingen", "leveringen", "quarantaine", "definities")


def _state(path: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_state_database_of_layout_5_is_translated_in_place_and_keeps_its_figures(tmp_path: Path) -> None:
    with tarfile.open(LAYOUT5) as packed:
        packed.extractall(tmp_path, filter="data")
    s = settings_for(tmp_path)
    published = view_contents(s.warehouse, skip=TRANSLATED)
    assert _state(s.state_db, "SELECT waarde FROM meta WHERE sleutel = 'schema_versie'") == [("5",)]

    summary = run(s, "nightly")

    assert summary.status == "voltooid" and summary.processed == 0
    assert view_contents(s.warehouse, skip=TRANSLATED) == published
    assert sorted(_state(s.state_db, "SELECT sleutel, waarde FROM meta")) == [
        ("schema_versie", "6"),
        ("sleutel_vingerafdruk", "139275dabf83be99"),
    ]
    assert _state(s.state_db, "SELECT soort, status, rijen_geldig FROM runs ORDER BY gestart_op") == [
        ("nachtelijk", "niet_gepubliceerd", 42),
        ("herberekening", "voltooid", 43),
        ("nachtelijk", "voltooid", 0),
    ]
    assert sorted(_state(s.state_db, "SELECT reden FROM quarantaine")) == [
        ("stuurteken (zoals NUL) in de waarde",),
        ("verkeerd aantal velden: 3 in plaats van 9",),
    ]
    ignored = {
        "README.txt": "niet_in_een_bronmap",
        "telefonie/.telefonie_20200108.csv": "verborgen_bestand",
        "telefonie/telefonie_2020-01-08.csv": "naam_geen_levering",
    }
    assert dict(_state(s.state_db, "SELECT bestand, reden FROM leveringen WHERE status = 'genegeerd'")) == ignored
    # The notices of the runs of layout 5 (two runs) and of this one say the same, in the same words.
    notices = _state(s.state_db, "SELECT bestand, reden FROM meldingen WHERE soort = 'genegeerd'")
    assert sorted(notices) == sorted(list(ignored.items()) * 3)
    assert _state(s.state_db, "SELECT count(*) FROM leveringen WHERE status = 'verwerkt'") == [(2,)]
    # The published ledgers say it in Dutch too.
    runs = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        assert runs.execute("SELECT soort, status FROM runs ORDER BY gestart_op").fetchall() == [
            ("nachtelijk", "niet_gepubliceerd"),
            ("herberekening", "voltooid"),
            ("nachtelijk", "voltooid"),
        ]
    finally:
        runs.close()
