"""Adopted figures stay adopted: `pipeline freeze --year YEAR` records a year's figures as published.

The figures of the year, the deliveries behind them (every delivery with status `verwerkt`, by
SHA-256) and the code that computed them (package version, git commit) go into the private state
database (tables in `pipeline/run/state.sql`) and are published with the warehouse. Later runs still
recompute the year from the deliveries, but never silently: `verschillen_vastgesteld` in the
warehouse lists every figure that now differs from its adopted value, `pipeline status` and the
report say so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core import db
from pipeline.core.ledger_values import DeliveryStatus
from pipeline.core.locking import writer_lock
from pipeline.core.settings import Settings
from pipeline.publish import LayoutError, check_layout, publish
from pipeline.publish.kerncijfers import kerncijfers
from pipeline.run import state

HERE = Path(__file__).resolve()


class FreezeError(Exception):
    """The year cannot be adopted; the message is the one line the operator sees."""


@dataclass(frozen=True)
class Vaststelling:
    """What `freeze` recorded for one year."""

    jaar: int
    vastgesteld_op: dt.datetime
    aantal_cijfers: int
    aantal_leveringen: int
    manifest_sha256: str
    pakketversie: str
    git_commit: str | None
    git_gewijzigd: bool | None


def _git(*args: str) -> str | None:
    """Ask git about the checkout this module runs from; None when it is not in one (an installed wheel)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(HERE.parent), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def code_version() -> tuple[str, str | None, bool | None]:
    """(package version, git commit or None, whether tracked files differ from that commit or None)."""
    try:
        version = metadata.version("pipeline")
    except metadata.PackageNotFoundError:
        version = "onbekend"
    tracked = _git("ls-files", "--error-unmatch", HERE.name) is not None  # not a copy in site-packages
    commit = (_git("rev-parse", "HEAD") or None) if tracked else None
    changes = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return version, commit, (bool(changes) if changes is not None else None)


def manifest(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The deliveries the current figures are computed from: every processed delivery, by content."""
    return db.frame(
        con,
        "SELECT bestand, bron, sha256 FROM leveringen WHERE status = ? ORDER BY bestand, sha256",
        [DeliveryStatus.PROCESSED],
    )


def manifest_digest(files: pl.DataFrame) -> str:
    """One SHA-256 over the manifest, in `sha256sum` line format, so two manifests compare at a glance."""
    lines = "".join(f"{sha}  {name}\n" for name, sha in zip(files["bestand"], files["sha256"], strict=True))
    return hashlib.sha256(lines.encode()).hexdigest()


def _year_figures(con: duckdb.DuckDBPyConnection, year: int) -> pl.DataFrame:
    jaar = kerncijfers(con)["kerncijfers_jaar"].filter(pl.col("jaar") == year)
    if jaar.is_empty():
        raise FreezeError(f"the warehouse has no figures for {year}; run a backfill that includes {year} first")
    row = jaar.row(0, named=True)
    names = [c for c in jaar.columns if c != "jaar"]
    return pl.DataFrame(
        {
            "jaar": [year] * len(names),
            "cijfer": names,
            "volgorde": list(range(1, len(names) + 1)),
            "vastgesteld": [None if row[c] is None else float(row[c]) for c in names],
        },
        schema={"jaar": pl.Int32, "cijfer": pl.String, "volgorde": pl.Int32, "vastgesteld": pl.Float64},
    )


def freeze(settings: Settings, year: int, replace: bool = False) -> Vaststelling:
    """Adopt the figures of `year` as they are now, with their manifest, and republish the warehouse."""
    if not settings.state_db.exists():  # checked before the lock: a mistyped path leaves no files behind
        raise FreezeError(f"there is no warehouse at {settings.warehouse}; run 'pipeline backfill' first")
    try:
        check_layout(state.SCHEMA)  # what it would publish is declared, before it adopts anything
    except LayoutError as problem:
        raise FreezeError(str(problem)) from None
    with writer_lock(settings), state.connect(settings) as con:
        earlier = db.first(con, "SELECT vastgesteld_op FROM vaststellingen WHERE jaar = ?", [year])
        if earlier is not None and not replace:
            raise FreezeError(
                f"{year} was adopted on {earlier[0]:%Y-%m-%d %H:%M} UTC; "
                "pass --replace to adopt today's figures instead"
            )
        figures = _year_figures(con, year)
        files = manifest(con)
        version, commit, changed = code_version()
        adopted = Vaststelling(
            jaar=year,
            vastgesteld_op=dt.datetime.now(dt.UTC),
            aantal_cijfers=int(figures["vastgesteld"].is_not_null().sum()),
            aantal_leveringen=files.height,
            manifest_sha256=manifest_digest(files),
            pakketversie=version,
            git_commit=commit,
            git_gewijzigd=changed,
        )
        with db.transaction(con):
            for table in ("vaststellingen", "vastgestelde_cijfers", "vastgestelde_leveringen"):
                con.execute(f"DELETE FROM {table} WHERE jaar = ?", [year])
            con.execute(
                "INSERT INTO vaststellingen VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    adopted.jaar,
                    adopted.vastgesteld_op,
                    adopted.aantal_cijfers,
                    adopted.aantal_leveringen,
                    adopted.manifest_sha256,
                    adopted.pakketversie,
                    adopted.git_commit,
                    adopted.git_gewijzigd,
                ],
            )
            db.insert(con, "vastgestelde_cijfers", figures)
            db.insert(con, "vastgestelde_leveringen", files.with_columns(pl.lit(year, pl.Int32).alias("jaar")))
        publish(con, settings)
    return adopted
