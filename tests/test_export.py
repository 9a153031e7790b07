"""`pipeline export`: the published views as CSV, Parquet or Excel, with their definitions (issue 4 part 4)."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.publish.definitions import table_comments
from tests.sources.afspraken.lines import APPT_HEADER_NO_PII
from tests.sources.telefonie.lines import CALL_HEADER_NO_PII
from tests.support.deliveries import Landing


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small published warehouse: a few calls and visits on two days of 2020."""
    landing = Landing(tmp_path_factory.mktemp("export"))
    calls: list[str] = []
    visits: list[str] = []
    for day in (dt.date(2020, 5, 4), dt.date(2020, 5, 5)):
        for i in range(12):
            keuze, outcome = ("Houten", "doorgeschakeld") if i == 0 else ("Utrecht", "beantwoord")
            calls.append(
                f"g{day:%d}{i};{day.isoformat()}T09:{i:02d}:00Z;14030;{keuze};Algemeen;{outcome};15;{60 * (i > 0)}"
            )
            visits.append(
                f"v{day:%d}{i};Stadskantoor;{'video' if i % 4 == 0 else 'balie'};Paspoort;{day:%d-%m-%Y};11:00;"
                f"verschenen;{day.isoformat()}T16:00:00+02:00"
            )
    landing.csv("telefonie/telefonie_20200506.csv", *calls, header=CALL_HEADER_NO_PII)
    landing.csv("afspraken/afspraken_20200506.csv", *visits, header=APPT_HEADER_NO_PII)
    published = landing.run("backfill")
    assert published.summary.status == "voltooid"
    return published.path


def _views(warehouse: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [
            n
            for (n,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT internal AND schema_name = 'main'"
            ).fetchall()
        ]
        return {n: con.sql(f'SELECT * FROM "{n}"').pl() for n in names}
    finally:
        con.close()


def test_csv_export_writes_every_view_and_the_definitions(warehouse: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["export", "--warehouse", str(warehouse), "--format", "csv", "--out", str(tmp_path / "csv")]
    )
    assert result.exit_code == 0, result.output
    views = _views(warehouse)
    assert set(table_comments()) <= set(views)
    written = {p.stem for p in (tmp_path / "csv").iterdir()}
    assert written == {*views, "toelichting"}, "one file per view, and the explanation; no temporary files left"

    kerncijfers = pl.read_csv(tmp_path / "csv" / "kerncijfers.csv")
    assert kerncijfers["telefoontjes_gemeente"].to_list() == [22]
    assert kerncijfers["baliebezoeken_met_afspraak"].to_list() == [18]
    assert kerncijfers.columns == views["kerncijfers"].columns
    dag = pl.read_csv(tmp_path / "csv" / "kerncijfers_dag.csv", try_parse_dates=True)
    # Every day of May 2020 (the month with records), the days without records as 0.
    assert dag["datum"].to_list() == [dt.date(2020, 5, d) for d in range(1, 32)]
    assert dag.filter(pl.col("datum") > dt.date(2020, 5, 5))["telefoontjes_gemeente"].sum() == 0
    assert dag["telefoontjes_gemeente"].sum() == 22

    about = pl.read_csv(tmp_path / "csv" / "toelichting.csv")
    assert about.filter(pl.col("kolom").is_null())["view"].sort().to_list() == sorted(views)
    columns = about.filter(pl.col("kolom").is_not_null())
    assert columns.height == sum(len(f.columns) for f in views.values())
    assert columns["omschrijving"].null_count() == 0
    assert (
        "Kalenderjaar"
        in columns.filter((pl.col("view") == "kerncijfers") & (pl.col("kolom") == "jaar"))["omschrijving"].item()
    )


def test_parquet_export_keeps_types_and_carries_the_definitions(warehouse: Path, tmp_path: Path) -> None:
    from pipeline.export import export

    written = export(warehouse, "parquet", tmp_path)
    views = _views(warehouse)
    assert {p.stem for p in written} == {*views, "toelichting"}
    for name, frame in views.items():
        table = pq.read_table(tmp_path / f"{name}.parquet")
        assert pl.from_arrow(table).equals(frame), name
    schema = pq.read_schema(tmp_path / "kerncijfers_dag.parquet")
    assert schema.field("datum").type == "date32[day]"
    assert b"Europe/Amsterdam" in schema.field("datum").metadata[b"description"]
    assert schema.metadata[b"description"].decode() == table_comments()["kerncijfers_dag"]


def test_xlsx_export_is_one_workbook_with_a_sheet_per_view(warehouse: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["export", "--warehouse", str(warehouse), "--format", "xlsx", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    (book,) = tmp_path.iterdir()
    assert book.name == "kerncijfers.xlsx"
    with zipfile.ZipFile(book) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
        strings = archive.read("xl/sharedStrings.xml").decode()
    sheets = re.findall(r'<sheet name="([^"]+)"', workbook)
    assert sheets[0] == "toelichting"
    assert set(sheets) == {"toelichting", *_views(warehouse)}
    assert "Kalenderjaar in Nederlandse tijd" in strings, "the definitions travel along"


def test_export_fails_clearly(tmp_path: Path, warehouse: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["export", "--warehouse", str(tmp_path / "nope.duckdb"), "--out", str(tmp_path)])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    unknown = runner.invoke(app, ["export", "--warehouse", str(warehouse), "--format", "json", "--out", str(tmp_path)])
    assert unknown.exit_code == 2
