"""Staged records as Parquet partitions per source and year, and the snapshot that says which files count.

Below `<warehouse>.versies/` each source has a folder per year (the local day a record belongs to)
holding two kinds of file, both named by the run that wrote them and never changed afterwards:

- version files (`versies`): every valid row of the deliveries that count, as the readers typed
  it (the source model's columns, `datum` and the delivery's `sha256`). The readers write them, one
  per chunk of deliveries and year; the writer writes new ones only to take out the rows of a
  delivery that no longer counts, to erase keyed hashes past their retention, or to merge small files.
- current files (`actueel`): one per source and year, the version that counts of each record whose
  day lies in that year, written by the writer when it has decided.

Files and the database cannot share a transaction, so the database names the files that count: the
table `partities` (grain: one row per file) changes in the run's one transaction with the ledger and
the figures. A file that no committed row names (written by a run that was killed or failed, or one a
commit superseded) is removed at the start of the next run, under the writer lock. Iceberg, Delta
and DuckLake keep their tables the same way.

The state database's views `<bron>_versies` and `<bron>_actueel` read the files that count, for
whoever queries the state database (the views are made again on every commit and connection).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core import db
from pipeline.core.private import make_private_dir, owner_only_files
from pipeline.kit.contract import Source, polars_schema

VERSIONS, CURRENT = "versies", "actueel"
SUFFIX = ".parquet"
# A partition whose small files number this many is merged into one file by the run that finds it
# (a nightly run adds one file per source and year it touches: ten years of nights would otherwise
# leave thousands of files to open for every decision).
MERGE_FROM_FILES = 12
SMALL_ROWS = 200_000


def staged_schema(source: Source) -> dict[str, pl.DataType]:
    """The columns of a staged record: the model's, the record's local day and the delivery's content."""
    schema = polars_schema(source.rows.model)
    return {name: schema.get(name, pl.Date() if name == "datum" else pl.String()) for name in staged_columns(source)}


def staged_columns(source: Source) -> list[str]:
    return list(dict.fromkeys([*polars_schema(source.rows.model), "datum", "sha256"]))


def empty(source: Source) -> pl.LazyFrame:
    return pl.LazyFrame(schema=staged_schema(source))


@dataclass(frozen=True)
class PartFile:
    """One Parquet file of a partition (source, year). `path` is relative to the versions folder."""

    source: str
    kind: str  # VERSIONS or CURRENT
    year: int
    path: str
    run_id: str
    rows: int
    first_day: dt.date | None
    last_day: dt.date | None
    deliveries: tuple[str, ...] = ()  # version files: the delivery paths whose rows it holds
    erased_before: dt.date | None = None  # keyed hashes of personal data erased for days before this


def folder(root: Path, source: str, year: int) -> Path:
    return root / source / f"{year:04d}"


def write(root: Path, source: Source, kind: str, year: int, run_id: str, label: str, rows: pl.DataFrame) -> PartFile:
    """Write one partition file of `rows` (all of `year`). A current file is in day order, with
    statistics, so that a scan of some days reads only what it needs; version files are read whole."""
    where = folder(root, source.name, year)
    make_private_dir(where)  # keyed hashes of personal data: the owner's only, whatever the umask
    path = where / f"{run_id}-{label}{SUFFIX}"
    rows = rows.select(staged_columns(source))
    if kind == CURRENT:
        rows = rows.sort("datum")
    with owner_only_files():
        rows.write_parquet(path, compression="lz4", statistics=kind == CURRENT)
    days = rows["datum"]
    deliveries = tuple(sorted(rows["bestand"].unique().to_list())) if kind == VERSIONS else ()
    return PartFile(
        source.name,
        kind,
        year,
        path.relative_to(root).as_posix(),
        run_id,
        rows.height,
        days.min(),  # type: ignore[arg-type]
        days.max(),  # type: ignore[arg-type]
        deliveries,
    )


def write_years(root: Path, source: Source, kind: str, run_id: str, label: str, rows: pl.DataFrame) -> list[PartFile]:
    """`rows` as one file per year of their days."""
    if rows.is_empty():
        return []
    years = rows.select(pl.col("datum").dt.year().alias("_jaar"))["_jaar"]
    return [
        write(root, source, kind, int(year), run_id, label, part.drop("_jaar"))
        for (year,), part in rows.with_columns(years).partition_by("_jaar", as_dict=True, maintain_order=True).items()
    ]


def scan(root: Path, source: Source, files: Iterable[PartFile]) -> pl.LazyFrame:
    """The rows of `files`, lazily (Parquet statistics prune what a filter on the day leaves out)."""
    paths = [str(root / f.path) for f in files]
    if not paths:
        return empty(source)
    return pl.scan_parquet(paths).select(staged_columns(source))


def rows_of(root: Path, source: Source, files: Sequence[PartFile], ids: pl.DataFrame) -> pl.DataFrame:
    """The rows of `files` whose record is one of `ids`: only the id column of every file is read to
    find the files that hold some, then those files (a nightly run touches a few records among years
    of them)."""
    id_col = source.rows.id_column
    by_path = {str(root / f.path): f for f in files}
    if not by_path or ids.is_empty():
        return empty(source).collect()
    wanted = ids.lazy()
    hits = (
        pl.scan_parquet(list(by_path), include_file_paths="_pad")
        .select(id_col, "_pad")
        .join(wanted, on=id_col, how="semi")
        .select("_pad")
        .unique()
        .collect()
    )
    holding = [by_path[path] for path in hits["_pad"].to_list()]
    return scan(root, source, holding).join(wanted, on=id_col, how="semi").collect()


@dataclass
class Snapshot:
    """The files that count for every source, as committed, and what this run changes in them."""

    root: Path
    committed: dict[str, PartFile]
    added: dict[str, PartFile] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)

    def files(self, source: str, kind: str, years: Iterable[int] | None = None) -> list[PartFile]:
        """The files that count after this run's changes, in path order."""
        wanted = None if years is None else set(years)
        current = {p: f for p, f in self.committed.items() if p not in self.removed} | self.added
        return sorted(
            (
                f
                for f in current.values()
                if f.source == source and f.kind == kind and (wanted is None or f.year in wanted)
            ),
            key=lambda f: f.path,
        )

    def years(self, source: str, kind: str = VERSIONS) -> list[int]:
        return sorted({f.year for f in self.files(source, kind)})

    def add(self, files: Iterable[PartFile]) -> None:
        for f in files:
            self.added[f.path] = f

    def remove(self, files: Iterable[PartFile]) -> None:
        for f in files:
            if f.path in self.added:
                del self.added[f.path]  # written by this run and superseded within it
                (self.root / f.path).unlink(missing_ok=True)
            else:
                self.removed.add(f.path)

    def replace_source(self, source: str, files: Iterable[PartFile]) -> None:
        """Every file of `source` is superseded by `files` (a whole backfill of the source)."""
        self.remove([*self.files(source, VERSIONS), *self.files(source, CURRENT)])
        self.add(files)

    def holding(self, source: str, paths: Iterable[str]) -> list[PartFile]:
        """The version files that hold rows of any of the delivery `paths`."""
        wanted = set(paths)
        return [f for f in self.files(source, VERSIONS) if wanted.intersection(f.deliveries)]


def load(con: duckdb.DuckDBPyConnection, root: Path) -> Snapshot:
    found = db.frame(con, "SELECT * FROM partities")
    files = {
        r["bestand"]: PartFile(
            r["bron"],
            r["soort"],
            r["jaar"],
            r["bestand"],
            r["run_id"],
            r["rijen"],
            r["eerste_dag"],
            r["laatste_dag"],
            tuple(r["leveringen"] or ()),
            r["gewist_tot"],
        )
        for r in found.iter_rows(named=True)
    }
    return Snapshot(root, files)


_COLUMNS: dict[str, pl.DataType] = {
    "bestand": pl.String(),
    "bron": pl.String(),
    "soort": pl.String(),
    "jaar": pl.Int32(),
    "run_id": pl.String(),
    "rijen": pl.Int64(),
    "eerste_dag": pl.Date(),
    "laatste_dag": pl.Date(),
    "leveringen": pl.List(pl.String),
    "gewist_tot": pl.Date(),
}


def record(con: duckdb.DuckDBPyConnection, snapshot: Snapshot) -> None:
    """The run's changes to the files that count (inside the caller's transaction), and the views."""
    gone = db.paths(sorted(snapshot.removed | set(snapshot.added)))
    with db.registered(con, "_gone", gone):
        con.execute("DELETE FROM partities WHERE bestand IN (SELECT bestand FROM _gone)")
    rows = pl.DataFrame(
        [
            {
                "bestand": f.path,
                "bron": f.source,
                "soort": f.kind,
                "jaar": f.year,
                "run_id": f.run_id,
                "rijen": f.rows,
                "eerste_dag": f.first_day,
                "laatste_dag": f.last_day,
                "leveringen": list(f.deliveries),
                "gewist_tot": f.erased_before,
            }
            for f in snapshot.added.values()
        ],
        schema=_COLUMNS,
    )
    db.insert(con, "partities", rows)


def create_views(con: duckdb.DuckDBPyConnection, root: Path, sources: Iterable[Source]) -> list[str]:
    """`<bron>_versies` and `<bron>_actueel` over the files the database names (committed or not yet)
    that are there; the files named but missing (damaged storage: a whole backfill stages them anew)."""
    missing: list[str] = []
    for source in sources:
        for kind, view in ((VERSIONS, source.versions_table), (CURRENT, source.current_table)):
            found = con.execute(
                "SELECT bestand FROM partities WHERE bron = ? AND soort = ? ORDER BY bestand", [source.name, kind]
            ).fetchall()
            missing += [path for (path,) in found if not (root / path).is_file()]
            files = ", ".join(_literal(str(root / path)) for (path,) in found if (root / path).is_file())
            select = f"SELECT * FROM {empty_table(source)}"
            if files:
                select += f" UNION ALL BY NAME SELECT * FROM read_parquet([{files}])"
            con.execute(f"CREATE OR REPLACE VIEW {view} AS {select}")
    return missing


def empty_table(source: Source) -> str:
    """The typed empty table that gives the views their columns when a source has no files."""
    return f"{source.name}_leeg"


def _literal(value: str) -> str:
    # A view's definition takes literals, not parameters; the path is ours (the warehouse's folder).
    return "'" + value.replace("'", "''") + "'"


def sweep(root: Path, con: duckdb.DuckDBPyConnection) -> int:
    """Remove every Parquet file below `root` that the committed snapshot does not name; the number
    removed (a file the pipeline did not write is left alone).

    Under the writer lock no run is writing here, so such a file is a killed run's or one a commit
    superseded."""
    if not root.is_dir():
        return 0
    named = {path for (path,) in con.execute("SELECT bestand FROM partities").fetchall()}
    removed = 0
    for where, folders, names in os.walk(root):
        for name in names:
            path = Path(where) / name
            if name.endswith(SUFFIX) and path.relative_to(root).as_posix() not in named:
                path.unlink(missing_ok=True)
                removed += 1
        for name in folders:
            with_nothing = Path(where) / name
            if not any(with_nothing.rglob("*")):
                with_nothing.rmdir()
    return removed


def merge_small(
    root: Path, source: Source, snapshot: Snapshot, run_id: str, years: Sequence[int] | None = None
) -> None:
    """Merge the small version files of a partition into one when they have become many."""
    for year in years if years is not None else snapshot.years(source.name):
        small = [f for f in snapshot.files(source.name, VERSIONS, [year]) if f.rows < SMALL_ROWS]
        if len(small) < MERGE_FROM_FILES:
            continue
        merged = scan(root, source, small).collect()
        erased = None if any(f.erased_before is None for f in small) else min(f.erased_before for f in small)  # type: ignore[type-var]
        part = write(root, source, VERSIONS, year, run_id, f"samengevoegd-{len(snapshot.added)}", merged)
        snapshot.remove(small)
        snapshot.add([replace(part, erased_before=erased)])
