"""The writer's decisions as pure functions, without a run: which content of a path counts and what
every content's status becomes (`stage.decide_contents`), which version of a record counts
(`versions.decide`), and a year of a whole backfill decided on its own (`versions.stage_year`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import polars as pl

from pipeline.core.ledger_values import DeliveryStatus, IgnoredBecause, NoticeKind
from pipeline.run import partitions
from pipeline.run.ledger import AFGEWEZEN, VERVANGEN, VERWERKT
from pipeline.run.partitions import VERSIONS
from pipeline.run.plan import Counted, Notice, Plan
from pipeline.run.stage import decide_contents, not_read
from pipeline.run.versions import YearTask, decide, stage_year
from pipeline.sources import SOURCES
from tests.support.figures import current_records

PATH = "telefonie/telefonie_20200107.csv"


def _plan(
    counted: dict[str, str], rejected: set[tuple[str, str]] = frozenset(), withdrawn: set[tuple[str, str]] = frozenset()
) -> Plan:  # type: ignore[assignment]
    return Plan(
        run_id="r",
        kind="nightly",
        full=False,
        years=None,
        items=[],
        counted={p: Counted("telefonie", p, sha, 1, None, None) for p, sha in counted.items()},
        withdrawn=frozenset(withdrawn),
        rejected=frozenset(rejected),
        landing={},
        notices=[],
    )


def _read(*rows: tuple[str, str, str, bool]) -> pl.DataFrame:
    """Contents read: (path, sha256, status reading gave it, read from the landing folder)."""
    return pl.DataFrame(
        rows,
        schema={"bestand": pl.String, "sha256": pl.String, "status": pl.String, "van_landing": pl.Boolean},
        orient="row",
    )


def _statuses(decision_ledger: pl.DataFrame) -> dict[str, str]:
    return dict(decision_ledger.select("sha256", "status").iter_rows())


def test_new_accepted_content_replaces_what_counted() -> None:
    decision = decide_contents(_plan({PATH: "old"}), _read((PATH, "new", VERWERKT, True)))
    assert decision.keep.rows() == [(PATH, "new")]
    assert _statuses(decision.ledger) == {"new": VERWERKT}
    assert decision.replaced.rows() == [(PATH, "old", VERVANGEN)]
    assert decision.unstage == [PATH]


def test_a_rejected_redelivery_leaves_what_counted_counting() -> None:
    decision = decide_contents(_plan({PATH: "old"}), _read((PATH, "empty", AFGEWEZEN, True)))
    assert decision.keep.is_empty() and decision.unstage == []
    assert _statuses(decision.ledger) == {"empty": AFGEWEZEN}
    assert decision.replaced.is_empty()


def test_entries_not_read_are_ignored_or_skipped_and_other_notices_give_no_status() -> None:
    notices = [
        Notice(NoticeKind.SKIPPED, "telefonie/pipe.csv", "named pipe"),
        Notice(NoticeKind.GONE, PATH, "verdwenen"),
        Notice(NoticeKind.IGNORED, "telefonie/.hidden.csv", IgnoredBecause.HIDDEN),
    ]
    plan = replace(_plan({}), notices=notices)
    assert not_read(plan, [("zaken/zaken_20200107.csv", "unreadable")]) == [
        ("telefonie/.hidden.csv", DeliveryStatus.IGNORED, IgnoredBecause.HIDDEN),
        ("telefonie/pipe.csv", DeliveryStatus.SKIPPED, "named pipe"),
        ("zaken/zaken_20200107.csv", DeliveryStatus.SKIPPED, "unreadable"),
    ]


def test_reading_the_counted_content_again_from_the_archive_keeps_a_rejection_on_record() -> None:
    plan = _plan({PATH: "old"}, rejected={(PATH, "empty")})
    decision = decide_contents(plan, _read((PATH, "old", VERWERKT, False)))
    assert _statuses(decision.ledger) == {"old": VERWERKT}
    assert decision.replaced.is_empty()  # a backfill delivers nothing new: the rejection stays


def test_a_new_delivery_makes_an_earlier_rejection_history() -> None:
    plan = _plan({PATH: "old"}, rejected={(PATH, "empty")})
    decision = decide_contents(plan, _read((PATH, "new", VERWERKT, True)))
    assert sorted(decision.replaced.rows()) == [(PATH, "empty", VERVANGEN), (PATH, "old", VERVANGEN)]


def test_two_contents_of_one_path_in_one_run_the_new_one_counts_the_other_is_replaced() -> None:
    decision = decide_contents(
        _plan({PATH: "old"}), _read((PATH, "old", VERWERKT, False), (PATH, "new", VERWERKT, True))
    )
    assert decision.keep.rows() == [(PATH, "new")]
    assert _statuses(decision.ledger) == {"old": VERVANGEN, "new": VERWERKT}


def test_withdrawn_content_read_again_stays_withdrawn() -> None:
    decision = decide_contents(_plan({}, withdrawn={(PATH, "gone")}), _read((PATH, "gone", VERWERKT, True)))
    assert decision.keep.is_empty() and decision.ledger.is_empty()


# --- versions ---------------------------------------------------------------------------------------


CALL = {"nummer": "14030", "keuze": "Utrecht", "wachtrij": "Algemeen", "afhandeling": "beantwoord"}


def _calls(rows: list[dict[str, object]]) -> pl.DataFrame:
    full = [
        CALL
        | {"wachttijd_s": 30, "gespreksduur_s": 120 if row.get("afhandeling", "beantwoord") == "beantwoord" else 0}
        | row
        for row in rows
    ]
    records = current_records("telefonie", full)
    return records.with_columns(pl.lit("sha").alias("sha256"))


def test_a_call_counts_from_the_file_whose_name_sorts_last_then_the_path_then_the_line() -> None:
    rows = [
        {"gesprek_id": "a", "gestart_op": "2020-01-06T10:00:00+01:00", "afhandeling": "verbroken"},
        {"gesprek_id": "a", "gestart_op": "2020-01-06T10:00:00+01:00", "afhandeling": "beantwoord"},
        {"gesprek_id": "b", "gestart_op": "2020-01-06T11:00:00+01:00", "afhandeling": "beantwoord"},
    ]
    versions = _calls(rows).with_columns(
        pl.Series(
            "bestand",
            ["telefonie/2020/telefonie_20200108.csv", "telefonie/telefonie_20200107.csv", "x/telefonie_20200101.csv"],
        )
    )
    found = decide(SOURCES["telefonie"], versions).sort("gesprek_id")
    # The name telefonie_20200108 sorts after telefonie_20200107, whatever the folders.
    assert found.select("gesprek_id", "afhandeling").rows() == [("a", "verbroken"), ("b", "beantwoord")]


def test_an_appointment_counts_by_its_latest_change_then_the_file_name() -> None:
    from tests.support.figures import current_records as records

    rows = [
        {"afspraak_id": "p", "datum": "2020-01-06", "status": "gepland", "gewijzigd_op": "2020-01-02T10:00:00+01:00"},
        {
            "afspraak_id": "p",
            "datum": "2020-01-06",
            "status": "verschenen",
            "gewijzigd_op": "2020-01-06T10:00:00+01:00",
        },
        {"afspraak_id": "q", "datum": "2020-01-06", "status": "gepland", "gewijzigd_op": "2020-01-02T10:00:00+01:00"},
        {
            "afspraak_id": "q",
            "datum": "2020-01-06",
            "status": "geannuleerd",
            "gewijzigd_op": "2020-01-02T10:00:00+01:00",
        },
    ]
    versions = records("afspraken", rows).with_columns(
        pl.Series(
            "bestand",
            [
                "a/afspraken_20200107.csv",
                "a/afspraken_20200103.csv",
                "a/afspraken_20200105.csv",
                "a/afspraken_20200104.csv",
            ],
        ),
        pl.lit("sha").alias("sha256"),
    )
    found = decide(SOURCES["afspraken"], versions).sort("afspraak_id")
    assert found.select("afspraak_id", "status").rows() == [("p", "verschenen"), ("q", "gepland")]


def test_a_tie_in_the_latest_change_and_the_file_name_goes_to_the_later_path_then_the_later_line() -> None:
    from tests.support.figures import current_records as records

    moment = "2020-01-02T10:00:00+01:00"
    rows = [
        {"afspraak_id": i, "datum": "2020-01-06", "status": status, "gewijzigd_op": moment}
        for i, status in [("p", "verschenen"), ("p", "gepland"), ("q", "gepland"), ("q", "geannuleerd")]
    ]
    versions = records("afspraken", rows).with_columns(
        pl.Series(
            "bestand",
            ["b/afspraken_20200103.csv", "a/afspraken_20200103.csv", *["a/afspraken_20200104.csv"] * 2],
        ),
        pl.Series("regel", [2, 2, 3, 2]),
        pl.lit("sha").alias("sha256"),
    )
    found = decide(SOURCES["afspraken"], versions).sort("afspraak_id")
    # p: one name in two folders, b/ sorts after a/; q: one file, line 3 comes after line 2.
    assert found.select("afspraak_id", "status").rows() == [("p", "verschenen"), ("q", "gepland")]


def test_a_year_is_decided_on_its_own_with_the_records_that_span_years_settled_up_front(tmp_path: Path) -> None:
    source = SOURCES["telefonie"]
    rows = [
        {"gesprek_id": "a", "gestart_op": "2019-12-31T10:00:00+01:00", "beller_hash": "x"},
        {"gesprek_id": "b", "gestart_op": "2020-01-02T10:00:00+01:00", "beller_hash": "x"},  # a repeat of a
        {"gesprek_id": "c", "gestart_op": "2020-03-01T10:00:00+01:00"},
        {"gesprek_id": "m", "gestart_op": "2019-12-30T10:00:00+01:00"},  # moved to 2020 by a later version
    ]
    first = _calls(rows).with_columns(pl.lit("telefonie/telefonie_20200301.csv").alias("bestand"))
    moved = _calls([{"gesprek_id": "m", "gestart_op": "2020-01-05T10:00:00+01:00"}]).with_columns(
        pl.lit("telefonie/telefonie_20200302.csv").alias("bestand")
    )
    files = partitions.write_years(tmp_path, source, VERSIONS, "r", "v", pl.concat([first, moved]))
    spanning = pl.DataFrame({"gesprek_id": ["m"]})
    settled = decide(source, pl.concat([first, moved]).filter(pl.col("gesprek_id") == "m"))
    task = YearTask(
        "telefonie",
        2020,
        tmp_path,
        "r",
        tuple(f for f in files if f.year == 2020),
        tuple(f for f in files if f.year == 2019),
        spanning,
        settled,
    )
    result = stage_year(task)
    assert result.current is not None
    current = partitions.scan(tmp_path, source, [result.current]).collect()
    assert sorted(current["gesprek_id"].to_list()) == ["b", "c", "m"]
    assert result.records == result.ids == 3
    (year,) = [p.frame for p in result.figures if p.table == source.figure_table("jaar")]
    assert year["herhaalbellers_7d"].to_list() == [1]  # b repeats a, from the days looked back on
    assert year["telefoontjes_platform"].to_list() == [3]
    assert dt.date(2020, 1, 5) in current["datum"].to_list()
