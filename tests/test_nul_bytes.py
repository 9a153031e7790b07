"""A NUL byte inside a field quarantines its row, and is never exported (docs/operations.md, "NUL
bytes")."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.ledger_values import CONTROL_CHARACTER
from tests.sources.afspraken.lines import APPT_HEADER, appointment
from tests.sources.telefonie.lines import CALL_HEADER, call
from tests.support.cli import cli
from tests.support.deliveries import settings_for, write
from tests.support.published import all_text, export_text, rows


def write_nul_bytes(raw: Path) -> None:
    ordinary = [call(f"c{i}", "2020-01-06T10:00:00+01:00") for i in range(40)]
    nul = call("nul", "2020-01-06T11:00:00+01:00", wachtrij="Alge\x00meen")
    quoted = call("quoted", "2020-01-06T12:00:00+01:00", wachtrij='"Burger\x00zaken"')
    write(raw / "telefonie/telefonie_20200107.csv", CALL_HEADER, [*ordinary, nul, quoted])
    visits = [appointment(f"v{i}", "06-01-2020") for i in range(30)]
    visits.append(appointment("nul", "06-01-2020", product="Pas\x00poort"))
    write(raw / "afspraken/afspraken_20200107.csv", APPT_HEADER, visits)


@pytest.mark.slow
def test_a_nul_byte_in_a_field_quarantines_the_row_and_is_never_exported(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    write_nul_bytes(s.raw_dir)
    done = cli("backfill", "--raw", s.raw_dir, "--warehouse", s.warehouse)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        "backfill: 2 deliveries processed, 0 rejected, 0 ignored, 0 skipped; 70 valid rows, 3 "
    )
    reason = CONTROL_CHARACTER
    assert rows(s.warehouse, "SELECT bron, regel, kolom, reden, waarde FROM quarantaine ORDER BY bron, regel") == [
        {"bron": "afspraken", "regel": 32, "kolom": "product", "reden": reason, "waarde": r"Pas\x00poort"},
        {"bron": "telefonie", "regel": 42, "kolom": "wachtrij", "reden": reason, "waarde": r"Alge\x00meen"},
        {"bron": "telefonie", "regel": 43, "kolom": "wachtrij", "reden": reason, "waarde": r"Burger\x00zaken"},
    ]
    figures = rows(s.warehouse, "SELECT telefoontjes_gemeente, baliebezoeken_met_afspraak FROM kerncijfers")
    assert figures == [{"telefoontjes_gemeente": 40, "baliebezoeken_met_afspraak": 30}]
    assert "\x00" not in all_text(s.warehouse) and "\x00" not in all_text(s.state_db)
    for fmt in ("csv", "parquet", "xlsx"):
        folder = tmp_path / f"export-{fmt}"
        assert cli("export", "--warehouse", s.warehouse, "--format", fmt, "--out", folder).returncode == 0
        assert "\x00" not in export_text(folder)
        if fmt == "csv":
            assert all(b"\x00" not in path.read_bytes() for path in folder.iterdir())
            assert r"Alge\x00meen" in (folder / "quarantaine.csv").read_text(encoding="utf-8")
