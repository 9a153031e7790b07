"""Retention (`PIPELINE_RETENTION_DAYS`): past the horizon nothing the pipeline keeps gives back a
caller's number or its keyed hash.

- Staged files (`partitions`): the keyed hashes of records of days before the horizon are erased,
  by writing the files that still hold some again without them (the figures of those days were
  computed with them and stay as they are).
- The archive (`core.archive`): a pack holding records of such days is written again without their
  keyed hashes and sealed values (a sealed value keeps only its kind). A record's day is the one its
  source gives it; an invalid record, which has none, takes its delivery's export day.

Both are part of the run's commit. Afterwards a backfill from the archive gives every figure as
before, except repeat callers on days past the horizon (their keyed hashes are gone): those stay as
they were adopted (`pipeline freeze`), and `verschillen_vastgesteld` shows the difference.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import duckdb
import polars as pl

from pipeline.core import archive, db
from pipeline.core.archive import LEVERING, REGEL
from pipeline.core.settings import Settings
from pipeline.kit.contract import Source
from pipeline.run import partitions
from pipeline.run.partitions import CURRENT, VERSIONS, PartFile
from pipeline.run.plan import Item
from pipeline.run.read import from_pack, text_columns
from pipeline.run.stage import Staging
from pipeline.sources import SOURCES


def erase_staged(staging: Staging, before: dt.date) -> int:
    """Erase the keyed hashes of personal data from staged records of days before `before`; the number
    of staged versions whose hashes were erased."""
    erased = 0
    for source in SOURCES.values():
        if not source.pseudonyms:
            continue
        for kind in (VERSIONS, CURRENT):
            for part in staging.snapshot.files(source.name, kind):
                if not _holds_unerased(part, before):
                    continue
                rows = partitions.scan(staging.root, source, [part]).collect()
                old = pl.col("datum") < before
                if kind == VERSIONS:
                    erased += rows.filter(old & pl.any_horizontal(pl.col(source.pseudonyms).is_not_null())).height
                rows = rows.with_columns(pl.when(~old).then(pl.col(c)).alias(c) for c in source.pseudonyms)
                label = staging.label("gewist")
                new = partitions.write(staging.root, source, kind, part.year, staging.run_id, label, rows)
                staging.snapshot.remove([part])
                staging.snapshot.add([replace(new, erased_before=min(before, _after(part.last_day)))])
    return erased


def _holds_unerased(part: PartFile, before: dt.date) -> bool:
    if part.first_day is None or part.first_day >= before:
        return False
    return part.erased_before is None or part.erased_before < min(before, _after(part.last_day))


def _after(day: dt.date | None) -> dt.date:
    assert day is not None
    return day + dt.timedelta(days=1)


def erase_archive(con: duckdb.DuckDBPyConnection, settings: Settings, key: bytes, before: dt.date, run_id: str) -> int:
    """Write again every archive pack holding records of days before `before` that still have keyed
    hashes or sealed values, without them; the ledger names the new packs. The number of records."""
    deliveries = db.frame(
        con,
        "SELECT bron, bestand, sha256, archief, archief_sha256, eerste_dag, laatste_dag, archief_gewist_tot "
        "FROM leveringen WHERE archief IS NOT NULL",
    )
    erased = 0
    for n, ((path, sha), mine) in enumerate(deliveries.group_by("archief", "archief_sha256", maintain_order=True)):
        source = SOURCES[mine["bron"][0]]
        if not any(_due(r, before) for r in _days(source, mine).iter_rows(named=True)):
            continue
        order = archive.pack_order(settings.archive_dir, path, sha)
        row_days = _row_days(settings, source, path, sha, mine, key)
        old = order.join(row_days, on=[LEVERING, REGEL], how="left", maintain_order="left")["_dag"] < before
        name = f"{run_id}-gewist{n:04d}"
        new, new_sha, count = archive.erase(settings.archive_dir, path, sha, name, old.fill_null(False), key)
        erased += count
        con.execute(
            "UPDATE leveringen SET archief = ?, archief_sha256 = ?, archief_gewist_tot = ? "
            "WHERE archief = ? AND archief_sha256 = ?",
            [new, new_sha, before, path, sha],
        )
    return erased


def _due(delivery: dict[str, object], before: dt.date) -> bool:
    """Whether a delivery has records before `before` whose hashes and sealed values are not erased."""
    first, last, erased = delivery["eerste"], delivery["laatste"], delivery["archief_gewist_tot"]
    assert isinstance(first, dt.date) and isinstance(last, dt.date)
    return first < before and (erased is None or erased < min(before, last + dt.timedelta(days=1)))  # type: ignore[operator]


def _export_day(source: Source, path: str) -> dt.date | None:
    found = source.file_pattern.match(path.rsplit("/", 1)[-1])
    return dt.datetime.strptime(found.group(1), "%Y%m%d").date() if found else None


def _days(source: Source, deliveries: pl.DataFrame) -> pl.DataFrame:
    """Per delivery of a pack, the first and last day of its records, invalid ones (their delivery's
    export day) included."""
    rows = []
    for r in deliveries.iter_rows(named=True):
        export = _export_day(source, r["bestand"])
        days = [d for d in (r["eerste_dag"], r["laatste_dag"], export) if d is not None]
        rows.append(r | {"eerste": min(days, default=dt.date.max), "laatste": max(days, default=dt.date.min)})
    return pl.DataFrame(rows)


def _row_days(
    settings: Settings, source: Source, path: str, sha: str, deliveries: pl.DataFrame, key: bytes
) -> pl.DataFrame:
    """The day of every record of a pack: the one its source gives it, else its delivery's export day."""
    items = [
        Item(source.name, r["bestand"], 0, sha256=r["sha256"], archive=(path, sha))
        for r in deliveries.unique("sha256").iter_rows(named=True)
    ]
    pack = archive.read_pack(settings.archive_dir, path, sha, [str(i.sha256) for i in items], key)
    tokens = from_pack(pack, items)
    text = text_columns(source, tokens.rows)
    typed = source.rows.parse(text.drop("sha256"), key)
    days = typed.select(source.day().alias("_dag")).with_columns(text["sha256"], text["regel"])
    export = pl.DataFrame(
        {"sha256": [i.sha256 for i in items], "_export": [_export_day(source, i.path) for i in items]},
        schema={"sha256": pl.String, "_export": pl.Date},
    )
    ragged = tokens.ragged.select("sha256", "regel").with_columns(pl.lit(None, pl.Date).alias("_dag"))
    found = pl.concat([days.select("sha256", "regel", "_dag"), ragged])
    found = found.join(export, on="sha256", how="left").select(
        pl.col("sha256").alias(LEVERING), pl.col("regel").alias(REGEL), pl.coalesce("_dag", "_export").alias("_dag")
    )
    return found
