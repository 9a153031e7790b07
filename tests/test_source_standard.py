"""The standard tests every registered source runs: a new source gets them without writing one.

Like Singer SDK's `get_standard_tap_tests`, every test here is parametrised over the registry
(`pipeline.sources.SOURCES`), so a source added there is tested here at once. All a source needs for
them is what the contract asks anyway (`pipeline.kit.contract.Source`), and a sample profile whose
`example` targets a small year: that year is generated, read by a real backfill and published, and
each source's part of it is checked against its own declarations.

Checked per source: its declarations hold together and its reasons cover every rule of its model;
its parser gives its model's columns; its figures have their declared types, and a day without
records its declared value; its published tables are declared column by column; its sample draws
the frame the generator expects, in files its pattern accepts, with figures equal to the targets,
and invalid rows even in small files; its days add up, its ratios recompute from their summed parts
in every period, and its quarantine speaks its declared reasons.
"""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from pipeline.core.calendar import ClosedDays
from pipeline.core.periods import Partitions
from pipeline.kit.contract import READ_COLUMNS, Ratio, Rule, Source, Sum, polars_schema, registry
from pipeline.kit.figures import split
from pipeline.kit.sampling import DRAWN, World
from pipeline.publish import definitions, write
from pipeline.publish.kerncijfers import with_empty_days
from pipeline.run import run as run_pipeline
from pipeline.run import state
from pipeline.run.figures import check
from pipeline.sample import generate
from pipeline.sources import SOURCES
from tests.support.deliveries import header_of, settings_for
from tests.support.published import rows

# One generated and published example year serves the whole module: keep it on one worker.
pytestmark = pytest.mark.xdist_group("standard-example")
BY_NAME = pytest.mark.parametrize("source", list(SOURCES.values()), ids=list(SOURCES))
YEAR = 2021
PANDERA_NAMES = {rule.value for rule in Rule}


def _records(source: Source) -> pl.DataFrame:
    return pl.DataFrame(schema=polars_schema(source.rows.model) | {"datum": pl.Date})


# --- the declarations ----------------------------------------------------------------------------


@BY_NAME
def test_its_declarations_hold_together_on_their_own(source: Source) -> None:
    assert registry(source) == {source.name: source}
    assert importlib.import_module(source.package).SOURCE is source
    assert source.system == f"{source.name}: {source.description} ({source.name}_*.csv)"
    assert all(view.startswith(f"{source.name}_") for view in source.view_comments)
    assert source.breakdown_view in source.view_comments


@BY_NAME
def test_every_rule_of_its_model_has_a_reason_and_no_pandera_name_reaches_the_quarantine(source: Source) -> None:
    schema = source.rows.model.to_schema()
    rules = {
        (name, rule)
        for name, column in schema.columns.items()
        if name not in READ_COLUMNS
        for rule in (["not_nullable"] if not column.nullable else []) + [c.name for c in column.checks]
    }
    assert set(source.reason_of) == rules
    for delivered, text in source.reason_of.values():
        assert delivered in source.rows.required
        assert text.strip() and text not in PANDERA_NAMES and text not in {rule for _, rule in rules}


@BY_NAME
def test_its_line_builders_beside_its_tests_write_every_column_it_requires(source: Source) -> None:
    """`tests/sources/<name>/lines.py`: what `Landing.csv` writes above a delivery of the source."""
    header = header_of(source.name).split(";")
    assert len(header) == len(set(header))
    assert set(source.rows.required) <= set(header), set(source.rows.required) - set(header)


@BY_NAME
def test_its_parser_gives_its_model_columns(source: Source) -> None:
    text = pl.DataFrame(
        {"bestand": [f"{source.name}/{source.name}_20210104.csv"], "regel": [2]}
        | {c: [""] for c in source.rows.required},
        schema_overrides={"regel": pl.Int64},
    )
    parsed = source.rows.parse(text, b"k" * 32)
    assert dict(parsed.schema) == polars_schema(source.rows.model)


@BY_NAME
def test_its_figures_have_their_declared_types_without_records(source: Source) -> None:
    for part in split(source, _records(source), Partitions.of([])):
        check(source, part)  # the figure models, with the declared bounds
        if part.table == source.breakdown_table:
            continue
        for figure in source.figures:
            assert part.frame.schema[figure.name] == figure.dtype, (part.table, figure.name)
        assert all(part.frame.schema[c] == pl.Int32 for c in ("jaar", "maand") if c in part.frame.columns)


@BY_NAME
def test_a_day_without_records_has_the_value_its_declaration_gives(source: Source) -> None:
    day = next(p.frame for p in split(source, _records(source), Partitions.of([])) if p.grain == "dag")
    filled = {f.name: (5 if f.whole else 50.0) for f in source.figures}
    one_day = pl.DataFrame([{"datum": dt.date(YEAR, 3, 1)} | filled], schema=day.schema)
    empty = with_empty_days(source, one_day).filter(pl.col("datum") == dt.date(YEAR, 3, 2)).row(0, named=True)
    for figure in source.figures:
        assert empty[figure.name] == figure.on_empty_day, figure.name
        # 0 for what is summed or counted, nothing for a ratio, a mean or a median
        assert (figure.on_empty_day == 0) == (isinstance(figure.aggregation, Sum) or figure.whole)


@BY_NAME
def test_its_published_tables_are_declared_column_by_column(source: Source) -> None:
    mine = {table: columns for table, _, columns in write.layout(state.SCHEMA) if table in source.view_comments}
    assert set(mine) == set(source.view_comments)
    for table, columns in mine.items():
        for name, text in columns:
            assert text == definitions.column(table, name).definition and text.strip()


@BY_NAME
def test_its_sample_draws_the_frame_the_generator_expects(source: Source) -> None:
    profile = source.sample
    profile.check(dict(profile.example), "example")
    plan = profile.plan(YEAR, dict(profile.example))
    world = World.of([YEAR], ClosedDays()).serving(source.calendar)
    drawn = profile.draw(YEAR, dict(profile.example), plan, world, seed=7)
    assert set(DRAWN) <= set(drawn.columns)
    assert set(profile.columns) <= set(drawn.columns)


# --- one generated year of every source's example, read and published ---------------------------


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("standard")
    columns = [c for s in SOURCES.values() for c in s.sample.target_columns]
    values = {c: v for s in SOURCES.values() for c, v in s.sample.example.items()}
    targets = tmp / "targets.csv"
    targets.write_text(
        "jaar," + ",".join(columns) + f"\n{YEAR}," + ",".join(str(values.get(c, "")) for c in columns) + "\n"
    )
    settings = settings_for(tmp)
    generate(targets, settings.raw_dir, seed=11)
    summary = run_pipeline(settings, "backfill")
    assert summary.rejected == 0
    return settings.warehouse


@pytest.mark.slow
@BY_NAME
def test_its_generated_files_follow_its_pattern(example: Path, source: Source) -> None:
    files = [p for p in (example.parent.parent / "raw" / source.name).rglob("*") if p.is_file()]
    assert files and all(source.file_pattern.match(p.name) for p in files)


@BY_NAME
def test_the_example_year_gives_its_targets_exactly(example: Path, source: Source) -> None:
    (year,) = rows(example, "SELECT * FROM kerncijfers WHERE jaar = ?", [YEAR])
    assert {c: year[c] for c in source.sample.example} == source.sample.example


def _sums(example: Path, grain: str, column: str) -> dict[Any, int]:
    if grain == "maand":
        query = f"SELECT jaar, maand, sum({column})::BIGINT AS n FROM kerncijfers_dag GROUP BY ALL"
        return {(r["jaar"], r["maand"]): r["n"] for r in rows(example, query)}
    return {
        r["jaar"]: r["n"]
        for r in rows(example, f"SELECT jaar, sum({column})::BIGINT AS n FROM kerncijfers_dag GROUP BY 1")
    }


def _figures(example: Path, grain: str, column: str) -> dict[Any, Any]:
    if grain == "maand":
        return {
            (r["jaar"], r["maand"]): r["v"]
            for r in rows(example, f"SELECT jaar, maand, {column} AS v FROM kerncijfers_maand")
        }
    return {r["jaar"]: r["v"] for r in rows(example, f"SELECT jaar, {column} AS v FROM kerncijfers")}


def half_up(numerator: int | None, denominator: int | None, scale: int, decimals: int) -> float | None:
    """scale x n / d rounded half up to `decimals`, in integers (as kpis.md rounds); None without d."""
    if not denominator or numerator is None:
        return None
    step = 10**decimals
    return ((2 * scale * step * numerator + denominator) // (2 * denominator)) / step


@pytest.mark.slow
@BY_NAME
def test_its_days_add_up_and_its_ratios_recompute_from_their_parts(example: Path, source: Source) -> None:
    """A summed figure's days add up to its months and year; a ratio over a month or the year is the
    ratio of its numerator's and denominator's sums over the days, and so is every day's own."""
    for figure in source.figures:
        for grain in ("maand", "jaar"):
            published = _figures(example, grain, figure.name)
            if isinstance(figure.aggregation, Sum):
                assert _sums(example, grain, figure.name) == published, figure.name
            if isinstance(figure.aggregation, Ratio):
                parts = figure.aggregation
                n, d = _sums(example, grain, parts.numerator), _sums(example, grain, parts.denominator)
                recomputed = {k: half_up(n[k], d[k], parts.scale, figure.decimals) for k in n}
                assert recomputed == published, figure.name
        if isinstance(figure.aggregation, Ratio):
            parts = figure.aggregation
            query = f"SELECT {parts.numerator} AS n, {parts.denominator} AS d, {figure.name} AS v FROM kerncijfers_dag"
            for day in rows(example, query):
                assert half_up(day["n"], day["d"], parts.scale, figure.decimals) == day["v"], (figure.name, day)


@pytest.mark.slow
@BY_NAME
def test_invalid_rows_even_in_small_files_are_quarantined_with_its_declared_reasons(
    example: Path, source: Source
) -> None:
    found = rows(example, "SELECT kolom, reden FROM quarantaine WHERE bron = ?", [source.name])
    assert found, "the example year's files are small, and still hold invalid rows"
    declared = {text for _, text in source.reason_of.values()}
    model_rules = {rule for (_, rule) in source.reason_of}
    for row in found:
        assert row["reden"] not in model_rules | PANDERA_NAMES, row
        assert row["kolom"] is None or row["kolom"] in source.rows.required, row
    assert declared & {row["reden"] for row in found}, "some invalid rows break a rule of the model"


@BY_NAME
def test_its_published_tables_carry_every_comment(example: Path, source: Source) -> None:
    with duckdb.connect(str(example), read_only=True) as con:
        for table in source.view_comments:
            (comment,) = con.execute(
                "SELECT comment FROM duckdb_tables() WHERE table_name = ?", [table]
            ).fetchone() or (None,)
            assert comment == source.view_comments[table]
            missing = con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND (comment IS NULL OR comment = '')",
                [table],
            ).fetchall()
            assert not missing, (table, missing)
