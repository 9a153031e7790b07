"""The archive's manifest: every delivery the ledger knows, kept with the archive, so that a lost state
database can be rebuilt from the archive alone (`pipeline backfill --rebuild-from-archive`).

`<archief>/manifest.json` lists, per delivery read (its path and the SHA-256 of its bytes): its
source, status, reason, the days of its records, when it was withdrawn, and the archive pack holding
it with that pack's SHA-256. It is written whole, atomically and readable by its owner only, after
every commit, and again at the start of a run (so a run killed between its commit and the manifest
leaves it one run behind until the next run). Without a state database, a run that finds a published
file or an archive refuses: rebuilding over them would silently drop every delivery that is only in
the archive.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipeline.core import db
from pipeline.core.atomic import atomic_output
from pipeline.core.ledger_values import DeliveryStatus
from pipeline.core.private import make_private_dir, owner_only_files
from pipeline.core.settings import Settings
from pipeline.run.errors import PipelineError

NAME = "manifest.json"
FORMAT = 1
COLUMNS = (
    "bestand",
    "sha256",
    "bron",
    "status",
    "rijen",
    "ongeldige_rijen",
    "reden",
    "extra_kolommen",
    "codering",
    "grootte_bytes",
    "gewijzigd_ns",
    "eerste_dag",
    "laatste_dag",
    "in_landingsmap",
    "ontbreekt_sinds",
    "ingetrokken_op",
    "archief",
    "archief_sha256",
    "archief_gewist_tot",
    "run_id",
    "gezien_op",
)
ADOPTED = ("vaststellingen", "vastgestelde_cijfers", "vastgestelde_leveringen")


def path(settings: Settings) -> Path:
    return settings.archive_dir / NAME


def write(con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str, fingerprint: str) -> None:
    """The manifest of the ledger as committed (atomically, owner-only)."""
    rows = db.frame(
        con,
        f"SELECT {', '.join(COLUMNS)} FROM leveringen WHERE status NOT IN (?, ?) ORDER BY bestand, sha256",
        [DeliveryStatus.IGNORED, DeliveryStatus.SKIPPED],
    )
    if rows.is_empty() and not settings.archive_dir.exists():
        return  # nothing delivered yet: no archive to describe
    document = {
        "formaat": FORMAT,
        "geschreven_op": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "run_id": run_id,
        "sleutel": fingerprint,
        "leveringen": rows.to_dicts(),
    }
    target = path(settings)
    make_private_dir(target.parent)
    with owner_only_files(), atomic_output(target) as temporary:
        temporary.write_text(json.dumps(document, default=str, ensure_ascii=False, indent=0))
        os.chmod(temporary, 0o600)


@dataclass(frozen=True)
class Manifest:
    written: str
    run_id: str
    fingerprint: str
    deliveries: pl.DataFrame


def read(settings: Settings) -> Manifest | None:
    try:
        document = json.loads(path(settings).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as problem:
        raise PipelineError(f"the archive's manifest {path(settings)} cannot be read: {problem}") from None
    # Dates and moments are ISO text in JSON; the counts numbers, the one flag a Boolean.
    schema: dict[str, pl.DataType] = {name: pl.String() for name in COLUMNS}
    schema |= {name: pl.Int64() for name in ("rijen", "ongeldige_rijen", "grootte_bytes", "gewijzigd_ns")}
    schema["in_landingsmap"] = pl.Boolean()
    deliveries = pl.DataFrame(document["leveringen"], schema=schema)
    return Manifest(document["geschreven_op"], document["run_id"], document["sleutel"], deliveries)


def refuse_without_state(settings: Settings, rebuild: bool) -> None:
    """Without a state database: refuse a run that would build over a published file or an archive,
    unless it rebuilds from the archive; refuse a rebuild when there is a state database."""
    found = []
    if settings.warehouse.exists():
        found.append(f"the published file {settings.warehouse}")
    manifest = read(settings) if settings.archive_dir.exists() else None
    if manifest is not None:
        found.append(
            f"an archive of {manifest.deliveries.height} deliveries ({settings.archive_dir}, manifest of run "
            f"{manifest.run_id}, {manifest.written})"
        )
    elif settings.archive_dir.exists() and any(settings.archive_dir.iterdir()):
        found.append(f"an archive without a manifest ({settings.archive_dir})")
    if settings.state_db.exists():
        if rebuild:
            raise PipelineError(
                f"the state database {settings.state_db} exists: a plain 'pipeline backfill' rebuilds the figures "
                "from the archive; --rebuild-from-archive is only for a state database that was lost"
            )
        return
    if not found:
        if rebuild:
            raise PipelineError(f"there is no archive at {settings.archive_dir} to rebuild from")
        return
    if rebuild and manifest is not None:
        return
    if rebuild:
        raise PipelineError(
            f"found {' and '.join(found)}, but no manifest to rebuild the state database from; restore "
            f"{settings.state_db} from a backup"
        )
    raise PipelineError(
        f"found {' and '.join(found)}, but no state database {settings.state_db}: it was lost or moved, and "
        "building anew would drop every delivery that is only in the archive. Restore it from a backup, or "
        "rebuild it and every figure from the archive: pipeline backfill --rebuild-from-archive"
    )


def seed(con: duckdb.DuckDBPyConnection, settings: Settings, fingerprint: str) -> int:
    """A new state database's ledger from the manifest (and adopted figures from the published file,
    when it can be read); the number of deliveries. The backfill that follows reads them again."""
    manifest = read(settings)
    assert manifest is not None  # checked by `refuse_without_state`
    if manifest.fingerprint != fingerprint:
        raise PipelineError(
            "the archive was made with another personal-data key than this run's: give the run the key the "
            "archive was made with (PIPELINE_PII_KEY, PIPELINE_PII_KEY_BLOCK or the .key file)"
        )
    rows = manifest.deliveries.with_columns(
        pl.col(c).str.to_date() for c in ("eerste_dag", "laatste_dag", "archief_gewist_tot")
    ).with_columns(
        pl.col(c).str.to_datetime(time_zone="UTC") for c in ("ontbreekt_sinds", "ingetrokken_op", "gezien_op")
    )
    db.insert(con, "leveringen", rows)
    _adopted(con, settings.warehouse)
    return rows.height


def _adopted(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    """Adopted years, with the figures and deliveries behind them, from the published file."""
    if not warehouse.is_file():
        return
    try:
        con.execute("ATTACH ? AS gepubliceerd (READ_ONLY)", [str(warehouse)])
    except duckdb.Error:
        return  # not readable: the adoptions are gone with the state database
    try:
        for table in ADOPTED:
            con.execute(f"INSERT INTO {table} SELECT * FROM gepubliceerd.data.{table}")
    except duckdb.Error:
        pass  # a published file of another layout: its adoptions are not taken over
    finally:
        con.execute("DETACH gepubliceerd")
