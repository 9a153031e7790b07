"""What a run reads, decided without a run (`plan.make_plan`): the landing folder's scan compared with
the ledger, in an in-memory state database that holds only the ledger's rows a test writes.

Each entry of the scan either becomes an item to read or a notice saying why not; each counted
delivery is read again from the archive by a backfill of its years, and only then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipeline.core.landing import LandingFile, Notice, Scan
from pipeline.core.ledger_values import DeliveryStatus, IgnoredBecause, NoticeKind, RunKind
from pipeline.run import state
from pipeline.run.plan import KEEPS_COUNTING, WITHDRAWN_PRESENT, Plan, make_plan
from tests.support.deliveries import settings_for

DELIVERY = "telefonie/telefonie_20200702.csv"
SIZE, MTIME = 100, 1_593_700_000_000_000_000


@pytest.fixture
def ledger() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    con.execute(state.SCHEMA)
    yield con
    con.close()


def _file(path: str, size: int = SIZE, mtime_ns: int = MTIME) -> LandingFile:
    return LandingFile(path, path, path, size, mtime_ns, 1, abs(hash(path)))


def _seen(
    con: duckdb.DuckDBPyConnection,
    path: str,
    status: DeliveryStatus,
    sha: str = "a" * 64,
    days: tuple[dt.date, dt.date] | None = (dt.date(2020, 7, 1), dt.date(2020, 7, 1)),
    reason: str | None = None,
) -> None:
    """A ledger row as a run writes it for `path` as the landing folder showed it (SIZE, MTIME)."""
    first, last = days or (None, None)
    con.execute(
        "INSERT INTO leveringen (bestand, sha256, bron, status, reden, grootte_bytes, gewijzigd_ns, eerste_dag,"
        " laatste_dag, archief, run_id, gezien_op) VALUES (?, ?, 'telefonie', ?, ?, ?, ?, ?, ?, ?, 'r0', now())",
        [path, sha, status, reason, SIZE, MTIME, first, last, "telefonie/r0-0.parquet"],
    )


def _plan(
    con: duckdb.DuckDBPyConnection,
    kind: RunKind,
    *files: LandingFile,
    years: list[int] | None = None,
    skipped: tuple[Notice, ...] = (),
) -> Plan:
    settings = settings_for(Path("/nonexistent"))  # a file is read only when its time changed, not here
    return make_plan(con, Scan(files, skipped), kind, years, settings, run_id="r1")


def _notices(plan: Plan) -> dict[str, tuple[str, str]]:
    return {n.path: (n.kind, n.reason) for n in plan.notices}


def test_each_entry_is_a_delivery_to_read_or_a_notice_saying_why_not(ledger: duckdb.DuckDBPyConnection) -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    plan = _plan(
        ledger,
        RunKind.NIGHTLY,
        _file(DELIVERY),
        _file("README.txt"),
        _file("telefonie/.telefonie_20200703.csv"),
        _file("telefonie/telefonie_20200703.csv.tmp"),
        _file("telefonie/telefonie_2020-07-03.csv"),
        _file("telefonie/telefonie_20201332.csv"),
        _file(f"telefonie/telefonie_{tomorrow:%Y%m%d}.csv"),
        _file("onbekend/onbekend_20200703.csv"),
        skipped=(Notice(NoticeKind.SKIPPED, "telefonie/pijp.csv", "named pipe (FIFO)"),),
    )
    assert [(i.source, i.path, i.sha256) for i in plan.items] == [("telefonie", DELIVERY, None)]
    assert _notices(plan) == {
        "README.txt": (NoticeKind.IGNORED, IgnoredBecause.NOT_IN_A_SOURCE_FOLDER),
        "telefonie/.telefonie_20200703.csv": (NoticeKind.IGNORED, IgnoredBecause.HIDDEN),
        "telefonie/telefonie_20200703.csv.tmp": (NoticeKind.IGNORED, IgnoredBecause.PARTIAL_UPLOAD),
        "telefonie/telefonie_2020-07-03.csv": (NoticeKind.IGNORED, IgnoredBecause.NAME_NOT_A_DELIVERY),
        "telefonie/telefonie_20201332.csv": (NoticeKind.IGNORED, IgnoredBecause.EXPORT_DAY_NOT_A_DATE),
        f"telefonie/telefonie_{tomorrow:%Y%m%d}.csv": (NoticeKind.IGNORED, IgnoredBecause.EXPORT_DAY_AHEAD),
        "onbekend/onbekend_20200703.csv": (NoticeKind.IGNORED, IgnoredBecause.NOT_IN_A_SOURCE_FOLDER),
        "telefonie/pijp.csv": (NoticeKind.SKIPPED, "named pipe (FIFO)"),
    }
    assert list(plan.landing) == [DELIVERY]
    assert (plan.kind, plan.full, plan.years) == (RunKind.NIGHTLY, False, None)


def test_a_counted_delivery_is_read_again_only_by_a_backfill_of_its_years(ledger: duckdb.DuckDBPyConnection) -> None:
    _seen(ledger, DELIVERY, DeliveryStatus.PROCESSED)
    assert _plan(ledger, RunKind.NIGHTLY, _file(DELIVERY)).items == []
    assert _plan(ledger, RunKind.BACKFILL, _file(DELIVERY), years=[2019]).items == []
    for years in (None, [2020], [2019, 2020]):
        plan = _plan(ledger, RunKind.BACKFILL, _file(DELIVERY), years=years)
        (item,) = plan.items
        assert (item.path, item.sha256, item.archive) == (DELIVERY, "a" * 64, ("telefonie/r0-0.parquet", None))
        assert item.entry == _file(DELIVERY)  # the landing folder's file may repair a damaged pack
        assert plan.full == (years is None)


def test_a_counted_delivery_whose_file_is_gone_keeps_counting_and_is_named(ledger: duckdb.DuckDBPyConnection) -> None:
    _seen(ledger, DELIVERY, DeliveryStatus.PROCESSED)
    assert _plan(ledger, RunKind.NIGHTLY).items == []
    assert _notices(_plan(ledger, RunKind.NIGHTLY))[DELIVERY][0] == NoticeKind.GONE
    (item,) = _plan(ledger, RunKind.BACKFILL).items  # from the archive alone
    assert (item.path, item.entry) == (DELIVERY, None)


def test_a_delivery_whose_size_changed_is_read_as_new(ledger: duckdb.DuckDBPyConnection) -> None:
    _seen(ledger, DELIVERY, DeliveryStatus.PROCESSED)
    plan = _plan(ledger, RunKind.NIGHTLY, _file(DELIVERY, size=SIZE + 1))
    assert [(i.path, i.sha256, i.size) for i in plan.items] == [(DELIVERY, None, SIZE + 1)]


def test_a_rejected_delivery_is_named_each_night_and_judged_again_by_a_whole_backfill(
    ledger: duckdb.DuckDBPyConnection,
) -> None:
    _seen(ledger, DELIVERY, DeliveryStatus.REJECTED, reason="lege levering")
    nightly = _plan(ledger, RunKind.NIGHTLY, _file(DELIVERY))
    assert nightly.items == []
    assert _notices(nightly) == {DELIVERY: (NoticeKind.REJECTED, "lege levering")}
    assert [i.path for i in _plan(ledger, RunKind.BACKFILL, _file(DELIVERY)).items] == [DELIVERY]
    assert nightly.rejected == frozenset({(DELIVERY, "a" * 64)})


def test_a_rejected_redelivery_says_the_accepted_one_keeps_counting(ledger: duckdb.DuckDBPyConnection) -> None:
    _seen(ledger, DELIVERY, DeliveryStatus.PROCESSED, sha="a" * 64)
    ledger.execute("UPDATE leveringen SET grootte_bytes = 50")  # the accepted content had another size
    _seen(ledger, DELIVERY, DeliveryStatus.REJECTED, sha="b" * 64, days=None, reason="lege levering")
    nightly = _plan(ledger, RunKind.NIGHTLY, _file(DELIVERY))
    assert nightly.items == []
    assert _notices(nightly) == {DELIVERY: (NoticeKind.REJECTED, "lege levering" + KEEPS_COUNTING)}


def test_a_withdrawn_delivery_still_in_the_folder_is_named_and_never_read(ledger: duckdb.DuckDBPyConnection) -> None:
    _seen(ledger, DELIVERY, DeliveryStatus.WITHDRAWN)
    for kind in (RunKind.NIGHTLY, RunKind.BACKFILL):
        plan = _plan(ledger, kind, _file(DELIVERY))
        assert plan.items == []
        assert _notices(plan) == {DELIVERY: (NoticeKind.WITHDRAWN_PRESENT, WITHDRAWN_PRESENT)}
        assert plan.withdrawn == frozenset({(DELIVERY, "a" * 64)})
