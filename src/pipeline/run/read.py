"""Reading deliveries: tokenise, parse, validate, quarantine, pseudonymise, stage, archive.

`read_deliveries` is the pure part: the bytes of some deliveries of one source in, the valid rows
(typed by the source's model, personal data hashed, each with its local day), the quarantine and
one ledger row per delivery out. It runs vectorised over a whole chunk of deliveries at once.

`read_chunk` is the unit of work a worker does (a process here, or a task on a Dask cluster): it
fetches a chunk's bytes from the landing folder or the archive, reads them, archives the accepted
ones and leaves the valid rows as a Parquet file in the run's staging folder for the one writer.
It takes and returns only small, picklable values.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandera.errors
import polars as pl

from pipeline.core import archive
from pipeline.core.contract import Source, polars_schema
from pipeline.core.csvfile import FileRejected, read_csv_table
from pipeline.core.dates import violations
from pipeline.core.landing_files import LandingFile, Unreadable, read_file
from pipeline.core.privacy import screen, screen_message, screen_names
from pipeline.core.private import make_private_dir
from pipeline.core.settings import Settings
from pipeline.run.ledger import AFGEWEZEN, VERWERKT
from pipeline.run.state import key_fingerprint
from pipeline.sources import SOURCES

QUARANTINE_SCHEMA = {
    "bestand": pl.String,
    "sha256": pl.String,
    "regel": pl.Int64,
    "kolom": pl.String,
    "reden": pl.String,
    "waarde": pl.String,
}
FILE_SCHEMA = {
    "bestand": pl.String,
    "sha256": pl.String,
    "status": pl.String,
    "rijen": pl.Int64,
    "ongeldige_rijen": pl.Int64,
    "reden": pl.String,
    "extra_kolommen": pl.String,
    "codering": pl.String,
    "grootte_bytes": pl.Int64,
    "eerste_dag": pl.Date,
    "laatste_dag": pl.Date,
}
MAX_VALUE_CHARS = 200  # of a rejected value shown in the quarantine
MAX_FIELD_BYTES = 4096  # no value of the agreement is longer; a longer one is a broken row, not data
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


@dataclass(frozen=True)
class Delivery:
    """One delivery's bytes, exactly as read and hashed. `path` is its name below the landing folder."""

    path: str
    data: bytes
    sha256: str

    @staticmethod
    def of(path: str, data: bytes) -> Delivery:
        return Delivery(path, data, hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class BatchRead:
    """What reading some deliveries of one source gave.

    `rows`: valid rows of accepted deliveries, typed by the source's model, personal data hashed,
    free text that looks personal masked, with the local day each record belongs to (`datum`) and the
    delivery's `sha256`. `quarantine`: every invalid row (also of rejected deliveries), one row per
    broken rule. `files`: one ledger row per delivery (status, rows, invalid rows, reason, days).
    """

    source: str
    rows: pl.DataFrame
    quarantine: pl.DataFrame
    files: pl.DataFrame


def _check_kind(check: str) -> str:
    return re.sub(r"\(.*\)$", "", check)


def _shown_value(value: pl.Expr) -> pl.Expr:
    """A rejected value as the quarantine shows it: control characters escaped, cut to a readable length."""
    shown = value.str.slice(0, MAX_VALUE_CHARS)
    for code in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]:
        shown = shown.str.replace_all(chr(code), f"\\x{code:02x}", literal=True)
    return shown


def _failures(source: Source, typed: pl.DataFrame, text: pl.DataFrame) -> pl.DataFrame:
    """Run the source's Pandera model over all rows; turn its failure cases into quarantine rows."""
    try:
        source.model.validate(typed, lazy=True)
        return pl.DataFrame(schema={"index": pl.Int64, "kolom": pl.String, "reden": pl.String})
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    if cases["index"].null_count():
        # A failure without a row is a broken frame, not a broken row: a bug, never quarantined.
        raise RuntimeError(f"{source.name}: parsed rows do not fit their schema:\n{cases}")
    reasons = pl.DataFrame(
        {
            "column": [k[0] for k in source.reason_of],
            "kind": [k[1] for k in source.reason_of],
            "kolom": [v[0] for v in source.reason_of.values()],
            "reden": [v[1] for v in source.reason_of.values()],
        }
    )
    found = cases.select(
        pl.col("index").cast(pl.Int64),
        "column",
        pl.col("check").map_elements(_check_kind, return_dtype=pl.String).alias("kind"),
    ).join(reasons, on=["column", "kind"], how="left")
    return found.select("index", pl.col("kolom").fill_null(pl.col("column")), pl.col("reden").fill_null(pl.col("kind")))


def _broken_values(source: Source, text: pl.DataFrame) -> pl.DataFrame:
    """Rows with a value no agreement allows, before parsing: control characters, absurd lengths."""
    found = []
    indexed = text.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    for column in source.required:
        value = pl.col(column)
        found.append(
            indexed.filter(value.str.contains(CONTROL)).select(
                "index",
                pl.lit(column).alias("kolom"),
                pl.lit("control character (such as NUL) in the value").alias("reden"),
            )
        )
        found.append(
            indexed.filter(value.str.len_bytes() > MAX_FIELD_BYTES).select(
                "index",
                pl.lit(column).alias("kolom"),
                pl.format(
                    "value of {} bytes, more than the {} a value may hold",
                    value.str.len_bytes(),
                    pl.lit(MAX_FIELD_BYTES),
                ).alias("reden"),
            )
        )
    return pl.concat(found)


def _check_types(source: Source, rows: pl.DataFrame) -> None:
    """What goes on must have the model's columns and types (a failure is a bug, never data); its
    values passed the model's rules above, which put every row that broke one in the quarantine."""
    expected = polars_schema(source.model)
    found = {name: rows.schema.get(name) for name in expected}
    if found != expected:
        raise RuntimeError(f"{source.name}: parsed rows do not fit their model: {found} instead of {expected}")


def _shown_names(columns: Sequence[str], key: bytes) -> str | None:
    """Unknown columns as the ledger lists them: a header name may hold personal data too."""
    shown = screen_names(columns, key)
    return ", ".join(shown[c] for c in columns) or None


def _day_range(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.group_by("bestand", "sha256").agg(
        pl.col("datum").min().alias("eerste_dag"), pl.col("datum").max().alias("laatste_dag")
    )


def read_deliveries(source: Source, deliveries: Sequence[Delivery], key: bytes, max_invalid_share: float) -> BatchRead:
    """Read the deliveries of `source` as one batch (pure: bytes in, frames out)."""
    frames: list[pl.DataFrame] = []
    ragged_rows: list[dict[str, object]] = []
    file_rows: list[dict[str, object]] = []
    for delivery in deliveries:
        where = {"bestand": delivery.path, "sha256": delivery.sha256, "grootte_bytes": len(delivery.data)}
        try:
            table = read_csv_table(delivery.data, source.required, source.personal)
        except FileRejected as err:  # the reason may quote the file's header names
            reason = screen_message(str(err), key)
            file_rows.append(where | {"status": AFGEWEZEN, "rijen": 0, "ongeldige_rijen": 0, "reden": reason})
            continue
        frames.append(
            table.rows.with_columns(pl.lit(delivery.path).alias("bestand"), pl.lit(delivery.sha256).alias("sha256"))
        )
        for line, fields in table.ragged:
            reason = f"wrong number of fields: {fields} instead of {table.header_width}"
            ragged_rows.append(
                {
                    "bestand": delivery.path,
                    "sha256": delivery.sha256,
                    "regel": line,
                    "kolom": None,
                    "reden": reason,
                    "waarde": None,
                }
            )
        file_rows.append(
            where
            | {
                "status": VERWERKT,
                "rijen": table.rows.height + len(table.ragged),
                "extra_kolommen": _shown_names(table.extra_columns, key),
                "codering": table.encoding,
            }
        )

    # No accepted file (none new, or all rejected) still gives a frame with the row's place columns.
    text = (
        pl.concat(frames, how="diagonal")
        if frames
        else pl.DataFrame(schema={"bestand": pl.String, "sha256": pl.String, "regel": pl.Int64})
    )
    for column in (*source.required, *source.personal):
        if column not in text.columns:
            text = text.with_columns(pl.lit(None, pl.String).alias(column))
    typed = source.parse(text.drop("sha256"), key)
    # Free text is published as delivered: a value that looks like personal data never gets that far.
    typed = typed.with_columns(screen(pl.col(c), key).alias(c) for c in source.breakdown.free_text)
    problems = pl.concat([_broken_values(source, text), _failures(source, typed, text), violations(source, typed)])
    located = problems.join(
        text.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64)), on="index", how="left"
    )
    value_of = pl.coalesce(
        *(
            pl.when(pl.col("kolom") == name).then(pl.col(name))
            for name in text.columns
            if name not in ("bestand", "sha256", "regel", *source.personal)
        )
    )
    invalid = located.select(
        "bestand", "sha256", "regel", "kolom", "reden", _shown_value(screen(value_of, key)).alias("waarde")
    ).unique(keep="first", maintain_order=True)
    quarantine = pl.concat([invalid, pl.DataFrame(ragged_rows, schema=QUARANTINE_SCHEMA)]).sort(
        "bestand", "sha256", "regel", "kolom", nulls_last=True
    )

    invalid_per_file = quarantine.group_by("bestand", "sha256").agg(pl.col("regel").n_unique().alias("ongeldig"))
    files = (
        pl.DataFrame(file_rows, schema={k: v for k, v in FILE_SCHEMA.items() if k not in ("eerste_dag", "laatste_dag")})
        .join(invalid_per_file, on=["bestand", "sha256"], how="left")
        .with_columns(pl.col("ongeldig").fill_null(0).cast(pl.Int64).alias("ongeldige_rijen"))
        .drop("ongeldig")
    )
    share = pl.col("ongeldige_rijen") / pl.col("rijen")
    too_many = (pl.col("status") == VERWERKT) & (pl.col("rijen") > 0) & (share > max_invalid_share)
    files = files.with_columns(
        pl.when(too_many).then(pl.lit(AFGEWEZEN)).otherwise(pl.col("status")).alias("status"),
        pl.when(too_many)
        .then(
            pl.format(
                "{} of {} rows invalid ({}%), more than the allowed {}%",
                "ongeldige_rijen",
                "rijen",
                (share * 100).round(1),
                pl.lit(round(max_invalid_share * 100, 1)),
            )
        )
        .otherwise(pl.col("reden"))
        .alias("reden"),
    )
    accepted = files.filter(pl.col("status") == VERWERKT).select("bestand", "sha256")
    keep = text.select("bestand", "sha256", "regel").with_row_index("index")
    keep = keep.join(accepted, on=["bestand", "sha256"], how="semi").join(
        quarantine.select("bestand", "sha256", "regel").unique(), on=["bestand", "sha256", "regel"], how="anti"
    )
    rows = typed.with_columns(text["sha256"])[keep["index"]]
    _check_types(source, rows)
    rows = rows.with_columns(source.day().alias("datum"))
    files = files.join(_day_range(rows), on=["bestand", "sha256"], how="left").select(list(FILE_SCHEMA))
    return BatchRead(source.name, rows, quarantine, files)


# --- a chunk of work ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One delivery to read: from the landing folder (`entry`) or, given its `sha256`, the archive."""

    source: str
    path: str
    size: int
    entry: LandingFile | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs, by value: it reaches the files by path (shared storage on a cluster).

    `key`: the personal-data key, for a worker on this machine. None for a worker elsewhere (a task
    travels to a Dask worker over the network): that worker takes the key from its own settings,
    `PIPELINE_PII_KEY`, `PIPELINE_PII_KEY_BLOCK` or the key file beside `warehouse` on shared storage.
    """

    chunk_id: str
    source: str
    items: tuple[Item, ...]
    raw_dir: Path
    archive_dir: Path
    stage_dir: Path
    warehouse: Path
    key: bytes | None
    max_invalid_share: float
    max_delivery_bytes: int
    read_timeout_s: float


@dataclass(frozen=True)
class ChunkResult:
    """What a worker hands back: small. The valid rows wait in `rows_file` (Parquet) for the writer,
    who checks `key_fingerprint` (of the key the worker hashed with) against its own key."""

    chunk_id: str
    source: str
    files: pl.DataFrame
    quarantine: pl.DataFrame
    rows_file: Path | None
    rows: int
    key_fingerprint: str
    unreadable: tuple[tuple[str, str], ...] = field(default=())  # (path, reason) of items not read


def _fetch(task: ChunkTask, item: Item) -> Delivery:
    if item.entry is None:
        assert item.sha256 is not None
        return Delivery(item.path, archive.fetch(task.archive_dir, item.sha256), item.sha256)
    found = read_file(task.raw_dir, item.entry, task.max_delivery_bytes, task.read_timeout_s)
    return Delivery(item.path, found.data, found.sha256)


def read_chunk(task: ChunkTask) -> ChunkResult:
    """Read one chunk: fetch, read, archive the accepted deliveries, stage their valid rows."""
    source = SOURCES[task.source]
    key = task.key if task.key is not None else Settings(warehouse=task.warehouse).hmac_key(create=False)
    deliveries: list[Delivery] = []
    unreadable: list[tuple[str, str]] = []
    for item in task.items:
        try:
            deliveries.append(_fetch(task, item))
        except Unreadable as problem:
            unreadable.append((item.path, problem.reason))  # the path is shown beside the reason
        except archive.ArchiveError as problem:
            unreadable.append((item.path, str(problem)))
    read = read_deliveries(source, deliveries, key, task.max_invalid_share)
    accepted = set(read.files.filter(pl.col("status") == VERWERKT)["sha256"].to_list())
    for delivery in deliveries:
        if delivery.sha256 in accepted:
            archive.keep(task.archive_dir, delivery.sha256, delivery.data)
    rows_file = None
    if read.rows.height:
        for folder in (task.stage_dir.parent, task.stage_dir):  # rows with free text as delivered
            make_private_dir(folder)
        rows_file = task.stage_dir / f"{task.chunk_id}.parquet"
        # in day order, so that a year's scan of the staged rows skips what lies outside it
        read.rows.sort("datum").write_parquet(rows_file, compression="lz4", statistics=True)
    return ChunkResult(
        task.chunk_id,
        task.source,
        read.files,
        read.quarantine,
        rows_file,
        read.rows.height,
        key_fingerprint(key),
        tuple(unreadable),
    )


def empty_rows(source: Source) -> pl.DataFrame:
    """The staged rows' frame of a source with no rows (the model's columns, `datum` and `sha256`)."""
    return pl.DataFrame(schema=polars_schema(source.model)).with_columns(
        pl.lit(None, pl.Date).alias("datum"), pl.lit(None, pl.String).alias("sha256")
    )


def chunks(items: Sequence[Item], chunk_bytes: int) -> list[list[Item]]:
    """Items grouped per source, in path order, into chunks of about `chunk_bytes`."""
    grouped: list[list[Item]] = []
    by_source: dict[str, list[Item]] = {}
    for item in sorted(items, key=lambda i: (i.source, i.path, i.sha256 or "")):
        by_source.setdefault(item.source, []).append(item)
    for mine in by_source.values():
        current: list[Item] = []
        size = 0
        for item in mine:
            if current and size + item.size > chunk_bytes:
                grouped.append(current)
                current, size = [], 0
            current.append(item)
            size += item.size
        if current:
            grouped.append(current)
    return grouped
