"""End to end: sample deliveries for the published targets give the published table exactly."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from pipeline import run as jobs
from pipeline.kit.contract import Kind, Sum, Unit
from pipeline.publish import definitions
from pipeline.publish.definitions import table_comments
from pipeline.publish.kerncijfers import figures_of
from pipeline.sample import generate
from tests.support.cli import cli
from tests.support.deliveries import settings_for
from tests.support.published import rows

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference" / "kerncijfers_utrecht_2017_2020.csv"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("e2e")
    s = settings_for(tmp)
    generate(REFERENCE, s.raw_dir, seed=2020)
    summary = jobs.run(s, "backfill")
    assert summary.rejected == 0 and summary.rows_quarantined > 0
    return s.warehouse


def test_the_published_table_is_reproduced_exactly(published: Path) -> None:
    with REFERENCE.open(newline="") as handle:
        expected = [{k: int(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    columns = ", ".join(expected[0])
    assert rows(published, f"SELECT {columns} FROM kerncijfers ORDER BY jaar") == expected


def test_the_statements_of_the_report(published: Path) -> None:
    by_year = {r["jaar"]: r for r in rows(published, "SELECT * FROM kerncijfers")}
    assert by_year[2020]["baliebezoeken_verandering_pct"] == -38
    assert by_year[2020]["telefoontjes_verandering_pct"] == 2
    assert (by_year[2019]["aandeel_14030_pct"], by_year[2020]["aandeel_14030_pct"]) == (66, 73)
    assert by_year[2020]["telefoontjes_per_dag"] == 831  # 304196 / 366 days
    assert by_year[2017]["baliebezoeken_verandering_pct"] is None


def test_days_and_months_add_up_to_the_years(published: Path) -> None:
    for column in (
        "baliebezoeken_met_afspraak",
        "telefoontjes_gemeente",
        "telefoontjes_14030",
        "telefoontjes_beantwoord",
    ):
        per_year = {r["jaar"]: r["n"] for r in rows(published, f"SELECT jaar, {column} AS n FROM kerncijfers")}
        months = rows(published, f"SELECT jaar, sum({column}) AS n FROM kerncijfers_maand GROUP BY jaar")
        days = rows(published, f"SELECT jaar, sum({column}) AS n FROM kerncijfers_dag GROUP BY jaar")
        assert {r["jaar"]: r["n"] for r in months if r["jaar"] in per_year} == per_year
        assert {r["jaar"]: r["n"] for r in days if r["jaar"] in per_year} == per_year


def test_the_2020_lockdown_dip_and_tozo_peak_show_per_month(published: Path) -> None:
    month = {
        (r["jaar"], r["maand"]): r
        for r in rows(
            published, "SELECT jaar, maand, baliebezoeken_met_afspraak, telefoontjes_gemeente FROM kerncijfers_maand"
        )
    }
    assert month[(2020, 4)]["baliebezoeken_met_afspraak"] < month[(2019, 4)]["baliebezoeken_met_afspraak"] / 5
    assert month[(2020, 4)]["telefoontjes_gemeente"] > month[(2019, 4)]["telefoontjes_gemeente"] * 1.3


def test_the_cli_report_prints_dutch_numbers(published: Path) -> None:
    done = cli("report", "--warehouse", published, "--format", "csv")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "kerncijfer,2017,2018,2019,2020"
    assert lines[1] == "aantal baliebezoeken* met afspraak,291.215,294.794,237.660,146.695"
    assert lines[4] == "% telefonische bereikbaarheid,90,90,88,88"


# --- the published file as a BI client lists it (issue 14, items 2-4) ------------------------------


def _catalog(published: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]], int]:
    with duckdb.connect(str(published), read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
        columns = con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = current_database() AND NOT internal ORDER BY table_name, column_index"
        ).fetchall()
        (views,) = con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE database_name = current_database() AND NOT internal"
        ).fetchone() or (0,)
    return tables, columns, views


def test_a_bi_client_lists_each_published_table_once_and_nothing_else(published: Path) -> None:
    tables, _, views = _catalog(published)
    assert views == 0, "no view: nothing an older client has to bind"
    assert {schema for schema, _ in tables} == {"main"}, "no internal copies beside the published tables"
    names = [name for _, name in tables]
    assert sorted(names) == sorted(set(names)) == sorted(table_comments())


def test_every_published_column_has_the_one_type_of_its_meaning(published: Path) -> None:
    """Every column's type, listed and checked: the type a figure's declaration gives it (a sum or a
    count BIGINT, a percentage or a mean DOUBLE), `jaar`/`maand` INTEGER, days DATE, moments
    TIMESTAMPTZ, any figure's value in a long table DECIMAL(18,1) exactly at its decimals."""
    _, columns, _ = _catalog(published)
    figures = {f.name: f for f in figures_of("jaar")}
    listed = []
    for table, name, sql_type in columns:
        declared = definitions.column(table, name)
        listed.append(f"{table}.{name} {sql_type}")
        assert sql_type == declared.kind.sql, listed[-1]
        if name in ("jaar", "maand"):
            assert sql_type == "INTEGER", listed[-1]
        if table.startswith("kerncijfers") and name in figures:
            figure = figures[name]
            is_count = figure.unit is Unit.COUNT or isinstance(getattr(figure, "aggregation", None), Sum)
            assert sql_type == ("BIGINT" if is_count else "DOUBLE"), listed[-1]
            if figure.unit in (Unit.PERCENT, Unit.PERCENT_CHANGE):
                assert sql_type == "DOUBLE", listed[-1]
        if declared.kind is Kind.DAY:
            assert sql_type == "DATE", listed[-1]
        if declared.kind is Kind.MOMENT:
            assert sql_type == "TIMESTAMP WITH TIME ZONE", listed[-1]
    assert len(listed) > 150, listed


def _half_up(n: int, d: int, scale: int, decimals: int) -> float | None:
    step = 10**decimals
    return ((2 * scale * step * n + d) // (2 * d)) / step if d else None


def test_every_ratio_is_its_numerator_over_its_denominator_summed_from_the_days(published: Path) -> None:
    """The day table's numerators and denominators, summed per month and per year, give the month and
    year figures exactly, as `definities` says; averaging a percentage over days does not."""
    ratios = rows(
        published,
        "SELECT cijfer, teller, noemer, decimalen, bi_metriek FROM definities WHERE aggregatie = 'verhouding'",
    )
    assert {r["cijfer"] for r in ratios} >= {"bereikbaarheid_pct", "aandeel_14030_pct", "no_show_pct"}
    for r in ratios:
        name, n, d = r["cijfer"], r["teller"], r["noemer"]
        scale = next(f for f in figures_of("jaar") if f.name == name).aggregation.scale  # type: ignore[union-attr]
        for keys, table in (("jaar, maand", "kerncijfers_maand"), ("jaar", "kerncijfers")):
            summed = rows(
                published,
                f"SELECT {keys}, sum({n})::BIGINT AS n, sum({d})::BIGINT AS d FROM kerncijfers_dag "
                "GROUP BY ALL ORDER BY ALL",
            )
            figures = rows(published, f"SELECT {keys}, {name} AS v FROM {table} ORDER BY ALL")
            assert [_half_up(s["n"], s["d"], scale, r["decimalen"]) for s in summed] == [f["v"] for f in figures], name
        # the BI metric of `definities`, over the days of March 2020, is March's figure before rounding
        (metric,) = rows(
            published,
            f"SELECT {r['bi_metriek']} AS v FROM kerncijfers_dag WHERE jaar = 2020 AND maand = 3",
        )
        (march,) = rows(published, f"SELECT {name} AS v FROM kerncijfers_maand WHERE jaar = 2020 AND maand = 3")
        assert abs(metric["v"] - march["v"]) <= 0.5 / 10 ** r["decimalen"] + 1e-9, name
