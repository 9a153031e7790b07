"""Every trap the author of a fourth source fell into (issue 16, "the contract's traps") is refused.

Each test builds the mistake as a source author would make it, from a registered source changed in
one declaration, and shows the refusal: at the declaration, at the registry, before a run writes
anything, or where the wrong value would be published. The first trap (a shared id column) is in
`tests/test_source_plugins.py`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandera.errors
import pandera.polars as pa
import polars as pl
import pytest

from pipeline.core.calendar import WEEKDAYS
from pipeline.kit.contract import (
    Breakdown,
    Column,
    ContractError,
    Figure,
    Kind,
    Ratio,
    Reason,
    Recomputed,
    Rule,
    Source,
    Sum,
    Unit,
    VersionRule,
    registry,
)
from pipeline.kit.models import figure_schema
from pipeline.kit.reporting import Chart, Section
from pipeline.kit.sampling import MIN_ROWS_FOR_INVALID, InvalidRows, RecordIds, file_keys, invalid_rows
from pipeline.publish import LayoutError, check_layout
from pipeline.publish.definitions import definities
from pipeline.publish.kerncijfers import conform, figures_of, with_empty_days
from pipeline.report.html import check_chart_ids
from pipeline.run import state
from pipeline.run.state import PipelineError
from pipeline.sources import SOURCES
from tests.sources.telefonie.lines import call
from tests.support.deliveries import Landing

CALLS = SOURCES["telefonie"]
COUNT = pl.len().cast(pl.Int64)


def video(**changes: object) -> Source:
    """A fourth source as its author first wrote it: the calls' contract under another name, with its
    own breakdown view and no figures of its own (each test adds the one it is about)."""
    base: dict[str, object] = {
        "name": "videobellen",
        "figures": (),
        "year_figures": (),
        "checks": (),
        "view_comments": {"videobellen_uitsplitsing": "Videogesprekken per dag."},
    }
    return dataclasses.replace(CALLS, **(base | changes))  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class InlineViews(Source):
    """A source whose views are given as text (a test has no package folder for them)."""

    sql: str = ""

    def views(self) -> str:
        return self.sql


# --- trap 2: a wrong definition published silently ------------------------------------------------

VIEW_WITH_STATUS = """
CREATE VIEW videobellen_uitsplitsing AS
SELECT datum, year(datum)::INTEGER AS jaar, month(datum)::INTEGER AS maand, afhandeling AS status, aantal
FROM data.videobellen_uitsplitsing_dag ORDER BY datum;
"""


def _video_with_status_undefined() -> InlineViews:
    fields = {f.name: getattr(video(), f.name) for f in dataclasses.fields(Source) if f.init}
    fields["view_columns"] = {"aantal": Column("Aantal videogesprekken.", Kind.WHOLE)}  # no `status`
    return InlineViews(**fields, sql=VIEW_WITH_STATUS)  # type: ignore[arg-type]


def test_a_column_named_like_a_generic_one_without_its_own_definition_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`status` means something else in `leveringen`: its text is never borrowed by name."""
    monkeypatch.setitem(SOURCES, "videobellen", _video_with_status_undefined())
    with pytest.raises(LayoutError, match=r"column status of view videobellen_uitsplitsing has no definition"):
        check_layout(state.SCHEMA)


def test_the_run_refuses_before_it_writes_anything(monkeypatch: pytest.MonkeyPatch, landing: Landing) -> None:
    """Not a bare KeyError at publishing after the commit: nothing is written, not even the state."""
    landing.csv("telefonie/telefonie_20200302.csv", call("c1", "2020-03-02T09:00:00+01:00"))
    monkeypatch.setitem(SOURCES, "videobellen", _video_with_status_undefined())
    with pytest.raises(PipelineError, match="videobellen_uitsplitsing"):
        landing.run()
    folder = landing.warehouse.parent
    assert not folder.exists() or not any(folder.iterdir())  # no state, no lock, no key, no published file


def test_a_column_no_declaration_defines_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = {f.name: getattr(video(), f.name) for f in dataclasses.fields(Source) if f.init}
    fields["view_columns"] = {"status": Column("Afloop.", Kind.TEXT)}  # `aantal` defined nowhere
    monkeypatch.setitem(SOURCES, "videobellen", InlineViews(**fields, sql=VIEW_WITH_STATUS))  # type: ignore[arg-type]
    with pytest.raises(LayoutError, match="column aantal of view videobellen_uitsplitsing"):
        check_layout(state.SCHEMA)


def test_a_column_of_another_kind_than_declared_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = {f.name: getattr(video(), f.name) for f in dataclasses.fields(Source) if f.init}
    fields["view_columns"] = {"status": Column("Afloop.", Kind.TEXT), "aantal": Column("Aantal.", Kind.FRACTIONAL)}
    monkeypatch.setitem(SOURCES, "videobellen", InlineViews(**fields, sql=VIEW_WITH_STATUS))  # type: ignore[arg-type]
    with pytest.raises(LayoutError, match=r"videobellen_uitsplitsing.aantal: BIGINT, declared FRACTIONAL"):
        check_layout(state.SCHEMA)


# --- trap 3: wrong figures published silently -----------------------------------------------------


def test_a_percentage_declared_as_a_sum_is_refused() -> None:
    """It showed 0 % on days without calls; a percentage is a ratio of two summed figures."""
    with pytest.raises(ContractError, match="procent cannot be added up"):
        Figure("bereikt_pct", "% bereikt", "Bereikt.", Unit.PERCENT, Sum(), order=1, expr=COUNT)


def test_a_ratio_of_figures_the_source_does_not_sum_is_refused() -> None:
    share = Figure("aandeel_video_pct", "% video", "Video.", Unit.PERCENT, Ratio("video", "gesprekken"), order=1)
    with pytest.raises(ContractError, match="ratio aandeel_video_pct needs video as a summed figure"):
        video(figures=(share,))


def test_a_count_that_is_not_a_sum_is_0_on_a_day_without_records_not_empty() -> None:
    """A count of distinct callers cannot be added up, but on a day without calls it is 0."""
    callers = Figure(
        "bellers", "aantal bellers", "Verschillende bellers.", Unit.COUNT, Recomputed("verschillende bellers"), 1, COUNT
    )
    minutes = Figure(
        "wachttijd_mediaan_s", "mediaan", "Mediaan.", Unit.SECONDS, Recomputed("mediaan"), 2, COUNT, decimals=1
    )
    source = video(figures=(callers, minutes))
    one_day = pl.DataFrame(
        {"datum": [dt.date(2021, 3, 1)], "bellers": [4], "wachttijd_mediaan_s": [12.5]},
        schema={"datum": pl.Date, "bellers": pl.Int64, "wachttijd_mediaan_s": pl.Float64},
    )
    next_day = with_empty_days(source, one_day).filter(pl.col("datum") == dt.date(2021, 3, 2)).row(0, named=True)
    assert next_day == {"datum": dt.date(2021, 3, 2), "bellers": 0, "wachttijd_mediaan_s": None}


def test_a_share_is_a_percentage_by_its_declaration_whatever_its_name() -> None:
    """A share not named `_pct` got the unit aantal and no bounds: 250 was published."""
    share = Figure(
        "aandeel_video", "aandeel video", "Aandeel video.", Unit.PERCENT, Recomputed("aandeel"), order=1, expr=COUNT
    )
    schema = figure_schema("jaar", [share])
    assert schema.columns["aandeel_video"].dtype.type == pl.Float64
    # the refusal names the figure's bounds and the row that broke them
    with pytest.raises(pandera.errors.SchemaError, match=r"aandeel_video 0\.\.100.*'aandeel_video': 250\.0"):
        schema.validate(pl.DataFrame({"jaar": [2021], "aandeel_video": [250.0]}, schema_overrides={"jaar": pl.Int32}))
    schema.validate(
        pl.DataFrame({"jaar": [2021], "aandeel_video": [None]}, schema={"jaar": pl.Int32, "aandeel_video": pl.Float64})
    )
    assert {r["cijfer"]: r["eenheid"] for r in definities()}["beantwoord_binnen_60s_pct"] == "procent"


def test_a_figure_derived_across_years_out_of_its_bounds_is_refused_before_publishing() -> None:
    """Derived when the yearly table is assembled, after every source's own figures were checked: a
    change below -100% (a count cannot fall by more than all of it) is a bug, and never published."""
    derived = [figure.name for source in SOURCES.values() for figure in source.year_figures]
    assert derived, "no source derives a figure across years"
    years = pl.DataFrame({"jaar": [2020, 2021]}, schema={"jaar": pl.Int32})
    sound = conform(years.with_columns(pl.lit(-100.0).alias(derived[0])), "jaar")
    assert sound[derived[0]].to_list() == [-100, -100]
    with pytest.raises(pandera.errors.SchemaError, match=derived[0]):
        conform(years.with_columns(pl.Series(derived[0], [-100.0, -150.0])), "jaar")


# --- trap 4: things declared nowhere --------------------------------------------------------------


def test_a_figure_name_used_twice_is_refused_in_a_source_and_across_sources() -> None:
    calls = CALLS.figures[0]
    with pytest.raises(ContractError, match="figure name used twice: telefoontjes_gemeente"):
        video(figures=(calls, dataclasses.replace(calls, order=99)))
    with pytest.raises(ContractError, match="figure name used by two sources: telefoontjes_gemeente"):
        registry(CALLS, video(figures=(calls,)))


def test_a_figure_order_used_twice_in_a_source_is_refused() -> None:
    first, second = CALLS.figures[0], CALLS.figures[1]
    with pytest.raises(ContractError, match="figure order used twice"):
        video(figures=(first, dataclasses.replace(second, order=first.order)))


def test_orders_are_per_source_and_the_registry_places_the_sources() -> None:
    """Two sources may number their figures alike; the registry's order decides where each comes."""
    orders = {s.name: {f.order for f in s.all_figures} for s in SOURCES.values()}
    assert orders["afspraken"] & orders["telefonie"] & orders["zaken"]  # 10 in every one of them
    rest = [f.name for f in figures_of("jaar") if f.published_in is None and not f.headline]
    owner = {f.name: n for n, s in SOURCES.items() for f in s.all_figures}
    assert [owner[name] for name in rest] == sorted((owner[n] for n in rest), key=list(SOURCES).index)


def test_two_charts_with_one_id_in_a_page_are_refused() -> None:
    chart = Chart("Telefoontjes", "Per maand.", "<svg/>", "telefoontjes")
    with pytest.raises(ValueError, match="chart id used twice in the page: telefoontjes"):
        check_chart_ids([Section("a", "", (chart,)), Section("b", "", (chart,))])


def test_two_sources_drawing_from_one_random_stream_are_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Same:
        stream: int = CALLS.sample.stream

    with pytest.raises(ContractError, match="sample random stream used by two sources: 1"):
        registry(CALLS, video(sample=Same(), view_comments={"videobellen_uitsplitsing": "x"}))


def test_a_drawn_frame_without_what_the_invalid_rows_need_is_refused() -> None:
    frame = pl.DataFrame({"gesprek_id": ["1"], "_eday": [18700], "_corr": [False], "_ord": [1], "_regular": [True]})
    with pytest.raises(ValueError, match="file_keys: the drawn frame lacks _kind"):
        file_keys(frame)
    finished = file_keys(frame.with_columns(pl.lit(1).alias("_kind"))).drop("_regular")
    with pytest.raises(ValueError, match="invalid_rows: the drawn frame lacks _regular"):
        invalid_rows(finished, None, 2021, 0, 1, InvalidRows(RecordIds("gesprek_id", ""), (), {}, {"lege id": {}}), 1)  # type: ignore[arg-type]


def test_small_files_take_invalid_rows_too() -> None:
    """Only files of 100 rows or more took one; now any file that one invalid row leaves accepted."""
    assert MIN_ROWS_FOR_INVALID == 20  # 1 invalid in 21 rows is 4.8 %, below the 5 % that rejects a file
    rows = 25
    frame = pl.DataFrame(
        {
            "gesprek_id": [str(i) for i in range(rows)],
            "_eday": [18700] * rows,
            "_corr": [False] * rows,
            "_ord": list(range(rows)),
            "_regular": [True] * rows,
            "_kind": [1] * rows,
        }
    )
    bad = invalid_rows(
        file_keys(frame),
        np.random.default_rng(1),
        2021,
        18700,
        18700,
        InvalidRows(RecordIds("gesprek_id", ""), (), {}, {"lege id": {"gesprek_id": ""}}),
        rows,
    )
    assert bad.height == rows + 1 and bad["gesprek_id"].to_list()[-1] == ""


def test_the_version_rule_names_model_columns_and_declares_its_tie_break() -> None:
    """`bestand_naam` was a magic name in a list of columns; the rule names model columns only."""
    with pytest.raises(ContractError, match="gewijzigd_op is not a column of GesprekRij"):
        video(versions=VersionRule(latest=("gewijzigd_op",)))
    # The tie-break itself (the latest change, then the file name, the path, the line) is decided by
    # `versions.decide`: tests/test_decisions.py.


def test_a_rule_of_the_model_without_a_reason_is_refused() -> None:
    """The quarantine showed the model's column and Pandera's name for the check."""
    reasons = tuple(r for r in CALLS.rows.reasons if "keuze_op_030" not in r.rules)
    with pytest.raises(
        ContractError, match="rules of GesprekRij without a reason for the quarantine: keuze keuze_op_030"
    ):
        video(rows=dataclasses.replace(CALLS.rows, reasons=reasons))


def test_a_reason_for_a_rule_the_model_does_not_have_is_refused() -> None:
    stale = Reason("wachttijd", "wachttijd_s", (Rule.MAXIMUM,), "te lang gewacht")
    with pytest.raises(ContractError, match=r"GesprekRij\.wachttijd_s has no rule less_than_or_equal_to"):
        video(rows=dataclasses.replace(CALLS.rows, reasons=(*CALLS.rows.reasons, stale)))
    other = Reason("duur", "wachttijd_s", (Rule.MINIMUM,), "negatief")
    with pytest.raises(ContractError, match="is about duur, not a delivered column"):
        video(rows=dataclasses.replace(CALLS.rows, reasons=(other, *CALLS.rows.reasons)))


def test_a_check_on_the_whole_row_is_refused_for_it_cannot_name_a_column() -> None:
    class Row(CALLS.rows.model):  # type: ignore[name-defined,misc]
        @pa.dataframe_check(name="rij_klopt")
        def _row(cls, data: pa.PolarsData) -> pl.LazyFrame:
            return data.lazyframe.select(pl.lit(True))

    with pytest.raises(ContractError, match="checks on the whole row"):
        video(rows=dataclasses.replace(CALLS.rows, model=Row))


def test_package_system_and_calendar_follow_from_the_declaration() -> None:
    source = video(description="videobelplatform van het Klantcontactcentrum")
    assert source.package == "pipeline.sources.videobellen"
    assert source.system == "videobellen: videobelplatform van het Klantcontactcentrum (videobellen_*.csv)"
    assert source.calendar is WEEKDAYS and all(s.calendar is WEEKDAYS for s in SOURCES.values())


def test_views_are_named_after_their_source() -> None:
    with pytest.raises(ContractError, match=r"views are named after their source \(videobellen_...\): video_dag"):
        video(view_comments={"videobellen_uitsplitsing": "x", "video_dag": "y"})
    assert SOURCES["telefonie"].breakdown_view == "telefonie_uitsplitsing"


def test_a_breakdown_declares_no_table_name_of_its_own() -> None:
    assert "table" not in {f.name for f in dataclasses.fields(Breakdown)}
    assert video().breakdown_table == "videobellen_uitsplitsing_dag"


def test_a_figure_with_more_decimals_than_adopted_figures_keep_is_refused() -> None:
    with pytest.raises(ContractError, match=r"2 decimals; a figure has 0 to 1.*DECIMAL\(18,1\)"):
        Figure("wacht_s", "wacht", "Wacht.", Unit.SECONDS, Recomputed("mediaan"), 1, COUNT, decimals=2)
