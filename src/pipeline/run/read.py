"""Reading deliveries: tokenise, parse, validate, quarantine, pseudonymise, screen; archive and stage.

`read_deliveries` is the pure part: the bytes of some deliveries of one source in, the valid rows
(typed by the source's model, personal data hashed, each with its local day), the quarantine and one
ledger row per delivery out. It reads a whole chunk of deliveries at once: one native tokenising pass
over the files that share a header (`core.csvbatch`), then one parse, one validation and one screen
of the chunk's records as columns, each personal value hashed once. Deliveries taken from the archive
arrive already tokenised, with their keyed hashes (`Tokens.archived`), and follow the same path.

`read_chunk` is the unit of work a worker does (a process here, or a task on a Dask cluster): it
fetches a chunk's deliveries from the landing folder or the archive, reads them, puts the accepted
ones it read from the landing folder in one archive pack, and leaves the valid rows as version files,
one per year of their days, among the staged partitions (named by the run: they count once the
writer's commit names them). It takes and returns only small, picklable values.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandera.errors
import polars as pl

from pipeline.core import archive
from pipeline.core.archive import LEVERING, PSEUDONYM_PREFIX, REGEL, VELDEN, ArchivedFile
from pipeline.core.bounded_read import Unreadable, read_file
from pipeline.core.csvbatch import FIELDS, FILE, LINE, PREFIX, CsvFile, column, read_csv_batch
from pipeline.core.csvfile import FileRejected, normalise_header
from pipeline.core.ledger_values import CONTROL_CHARACTER, RAGGED, TOO_LONG
from pipeline.core.privacy import screen, screen_message, screen_names
from pipeline.core.settings import Settings
from pipeline.kit.contract import Source, polars_schema
from pipeline.kit.dates import violations
from pipeline.run import partitions
from pipeline.run.ledger import AFGEWEZEN, VERWERKT
from pipeline.run.partitions import VERSIONS, PartFile
from pipeline.run.plan import Item
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
    "archief": pl.String,
    "archief_sha256": pl.String,
}
MAX_VALUE_CHARS = 200  # of a rejected value shown in the quarantine
MAX_FIELD_BYTES = 4096  # no value of the agreement is longer; a longer one is a broken row, not data
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


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
class TokenFile:
    """One delivery of a batch of records: what it is (`file`), or why it is rejected whole."""

    path: str
    sha256: str
    size: int
    file: ArchivedFile | None
    rejected: str | None = None
    archived: tuple[str, str] | None = None  # (pack, its SHA-256) of a delivery taken from the archive
    from_landing: bool = True


@dataclass(frozen=True)
class Tokens:
    """Some deliveries of one source as records. `rows`: bestand, sha256, regel, one trimmed text
    column per header name (`csvbatch.column`), and, for deliveries from the archive, their keyed
    hashes (`pseudoniem:<column>`). `ragged`: bestand, sha256, regel and the fields of each record
    whose number of fields differs from its header's."""

    rows: pl.DataFrame
    ragged: pl.DataFrame
    files: list[TokenFile]

    @staticmethod
    def combine(parts: Sequence[Tokens]) -> Tokens:
        return Tokens(
            pl.concat([p.rows for p in parts], how="diagonal"),
            pl.concat([p.ragged for p in parts], how="diagonal"),
            [f for p in parts for f in p.files],
        )


_RAGGED = {"bestand": pl.String, "sha256": pl.String, "regel": pl.Int64, VELDEN: pl.List(pl.String)}


def tokenise(source: Source, deliveries: Sequence[Delivery]) -> Tokens:
    """The deliveries' records, every field kept (one native pass per header the files share)."""
    batch = read_csv_batch([d.data for d in deliveries], source.rows.required, source.rows.personal)
    paths = pl.Series([d.path for d in deliveries], dtype=pl.String)
    shas = pl.Series([d.sha256 for d in deliveries], dtype=pl.String)
    place = [paths.gather(batch.rows[FILE]).alias("bestand"), shas.gather(batch.rows[FILE]).alias("sha256")]
    rows = batch.rows.with_columns(place).drop(FILE)
    ragged = batch.ragged.select(
        paths.gather(batch.ragged[FILE]).alias("bestand"),
        shas.gather(batch.ragged[FILE]).alias("sha256"),
        pl.col(LINE).alias("regel"),
        pl.col(FIELDS).alias(VELDEN),
    )
    files = [
        TokenFile(d.path, d.sha256, len(d.data), None, str(found))
        if isinstance(found, FileRejected)
        else TokenFile(d.path, d.sha256, len(d.data), _described(d, found))
        for d, found in zip(deliveries, batch.files, strict=True)
    ]
    return Tokens(rows, ragged.cast(_RAGGED), files)  # type: ignore[arg-type]


def _described(delivery: Delivery, found: CsvFile) -> ArchivedFile:
    control = len(delivery.data.translate(None, _CONTROL_BYTES)) != len(delivery.data)
    return ArchivedFile(delivery.sha256, found.header, found.columns, found.encoding, len(delivery.data), control)


def from_pack(pack: archive.Pack, items: Sequence[Item]) -> Tokens:
    """The records of the deliveries `items` asks for, from an archive pack (one row per path: the
    same content may count under two names)."""
    wanted = pl.DataFrame(
        {"bestand": [i.path for i in items], LEVERING: [i.sha256 for i in items]},
        schema={"bestand": pl.String, LEVERING: pl.String},
    )
    found = pack.rows.join(wanted, on=LEVERING, how="inner").rename({LEVERING: "sha256", REGEL: "regel"})
    regular = found.filter(pl.col(VELDEN).is_null()).drop(VELDEN)
    ragged = found.filter(pl.col(VELDEN).is_not_null()).select("bestand", "sha256", "regel", VELDEN)
    files = [
        TokenFile(
            i.path,
            str(i.sha256),
            pack.deliveries[str(i.sha256)].size,
            pack.deliveries[str(i.sha256)],
            archived=i.archive,
            from_landing=False,
        )
        for i in items
    ]
    return Tokens(regular, ragged.cast(_RAGGED), files)  # type: ignore[arg-type]


@dataclass(frozen=True)
class BatchRead:
    """What reading some deliveries of one source gave.

    `rows`: valid rows of accepted deliveries, typed by the source's model, personal data hashed,
    free text that looks personal masked, with the local day each record belongs to (`datum`) and the
    delivery's `sha256`. `quarantine`: every invalid row (also of rejected deliveries), one row per
    broken rule. `files`: one ledger row per delivery (status, rows, invalid rows, reason, days).
    `pseudonyms`: the keyed hashes of every well-formed record (bestand, sha256, regel), for the archive.
    """

    source: str
    rows: pl.DataFrame
    quarantine: pl.DataFrame
    files: pl.DataFrame
    pseudonyms: pl.DataFrame = field(default_factory=pl.DataFrame)


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
        source.rows.model.validate(typed, lazy=True)
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


def _broken_values(source: Source, text: pl.DataFrame, suspects: Sequence[str]) -> pl.DataFrame:
    """Rows with a value no agreement allows, before parsing: control characters, absurd lengths.

    Only the deliveries with a control byte anywhere (`suspects`, by SHA-256) are searched for one."""
    found = []
    indexed = text.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    suspect = indexed.filter(pl.col("sha256").is_in(list(suspects))) if suspects else indexed.clear()
    too_long = pl.max_horizontal(pl.col(c).str.len_bytes() for c in source.rows.required) > MAX_FIELD_BYTES
    long = indexed.filter(too_long.fill_null(False))
    for column_name in source.rows.required:
        value = pl.col(column_name)
        found.append(
            suspect.filter(value.str.contains(CONTROL)).select(
                "index",
                pl.lit(column_name).alias("kolom"),
                pl.lit(CONTROL_CHARACTER).alias("reden"),
            )
        )
        found.append(
            long.filter(value.str.len_bytes() > MAX_FIELD_BYTES).select(
                "index",
                pl.lit(column_name).alias("kolom"),
                pl.format(
                    TOO_LONG,
                    value.str.len_bytes(),
                    pl.lit(MAX_FIELD_BYTES),
                ).alias("reden"),
            )
        )
    return pl.concat(found)


def _check_types(source: Source, rows: pl.DataFrame) -> None:
    """What goes on must have the model's columns and types (a failure is a bug, never data); its
    values passed the model's rules above, which put every row that broke one in the quarantine."""
    expected = polars_schema(source.rows.model)
    found = {name: rows.schema.get(name) for name in expected}
    if found != expected:
        raise RuntimeError(f"{source.name}: parsed rows do not fit their model: {found} instead of {expected}")


def _day_range(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.group_by("bestand", "sha256").agg(
        pl.col("datum").min().alias("eerste_dag"), pl.col("datum").max().alias("laatste_dag")
    )


def read_deliveries(source: Source, deliveries: Sequence[Delivery], key: bytes, max_invalid_share: float) -> BatchRead:
    """Read the deliveries of `source` as one batch (pure: bytes in, frames out)."""
    return read_tokens(source, tokenise(source, deliveries), key, max_invalid_share)


def read_tokens(source: Source, tokens: Tokens, key: bytes, max_invalid_share: float) -> BatchRead:
    """Parse, validate, screen and pseudonymise a batch of records (pure)."""
    text = text_columns(source, tokens.rows)
    typed = _archived_pseudonyms(source, source.rows.parse(text.drop("sha256"), key), tokens.rows)
    pseudonyms = typed.select("bestand", "regel", *source.pseudonyms).with_columns(text["sha256"])
    # Free text is published as delivered: a value that looks like personal data never gets that far.
    typed = typed.with_columns(screen(pl.col(c), key).alias(c) for c in source.breakdown.free_text)
    suspects = [f.sha256 for f in tokens.files if f.file is not None and f.file.control]
    problems = pl.concat(
        [_broken_values(source, text, suspects), _failures(source, typed, text), violations(source, typed)]
    )
    quarantine = _quarantine(source, text, problems, tokens, key)
    files = _files(source, tokens, quarantine, max_invalid_share, key)
    accepted = files.filter(pl.col("status") == VERWERKT).select("bestand", "sha256")
    keep = text.select("bestand", "sha256", "regel").with_row_index("index")
    keep = keep.join(accepted, on=["bestand", "sha256"], how="semi").join(
        quarantine.select("bestand", "sha256", "regel").unique(), on=["bestand", "sha256", "regel"], how="anti"
    )
    rows = typed.with_columns(text["sha256"])[keep["index"]]
    _check_types(source, rows)
    rows = rows.with_columns(source.day().alias("datum"))
    files = files.join(_day_range(rows), on=["bestand", "sha256"], how="left").select(*FILE_SCHEMA, "van_landing")
    return BatchRead(source.name, rows, quarantine, files, pseudonyms)


def text_columns(source: Source, rows: pl.DataFrame) -> pl.DataFrame:
    """The columns the source reads, by the names it knows them by (null where a file lacks one)."""
    return rows.select(
        "bestand",
        "sha256",
        "regel",
        *(
            pl.col(column(name)).alias(name) if column(name) in rows.columns else pl.lit(None, pl.String).alias(name)
            for name in (*source.rows.required, *source.rows.personal)
        ),
    )


def _archived_pseudonyms(source: Source, typed: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """A record from the archive brings its keyed hashes (its personal columns were not archived)."""
    archived = [c for c in source.pseudonyms if PSEUDONYM_PREFIX + c in rows.columns]
    return typed.with_columns(pl.coalesce(rows[PSEUDONYM_PREFIX + c], typed[c]).alias(c) for c in archived)


def _quarantine(source: Source, text: pl.DataFrame, problems: pl.DataFrame, tokens: Tokens, key: bytes) -> pl.DataFrame:
    """Every broken rule of every record, one row each, with its value screened; and ragged records."""
    located = problems.join(
        text.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64)), on="index", how="left"
    )
    value_of = pl.coalesce(
        *(
            pl.when(pl.col("kolom") == name).then(pl.col(name))
            for name in text.columns
            if name not in ("bestand", "sha256", "regel", *source.rows.personal)
        )
    )
    invalid = located.select(
        "bestand", "sha256", "regel", "kolom", "reden", _shown_value(screen(value_of, key)).alias("waarde")
    ).unique(keep="first", maintain_order=True)
    widths = pl.DataFrame(
        [(f.path, f.sha256, len(f.file.header)) for f in tokens.files if f.file is not None],
        schema={"bestand": pl.String, "sha256": pl.String, "_breedte": pl.Int64},
        orient="row",
    )
    ragged = tokens.ragged.join(widths, on=["bestand", "sha256"], how="left").select(
        "bestand",
        "sha256",
        "regel",
        pl.lit(None, pl.String).alias("kolom"),
        pl.format(RAGGED, pl.col(VELDEN).list.len(), "_breedte").alias("reden"),
        pl.lit(None, pl.String).alias("waarde"),
    )
    return pl.concat([invalid, ragged.cast(QUARANTINE_SCHEMA)]).sort(  # type: ignore[arg-type]
        "bestand", "sha256", "regel", "kolom", nulls_last=True
    )


def _files(
    source: Source, tokens: Tokens, quarantine: pl.DataFrame, max_invalid_share: float, key: bytes
) -> pl.DataFrame:
    """One ledger row per delivery, with the status reading gives it: accepted, or rejected with why."""
    counted = (
        pl.concat([tokens.rows.select("bestand", "sha256"), tokens.ragged.select("bestand", "sha256")])
        .group_by("bestand", "sha256")
        .len("_rijen")
    )
    extra = {f.sha256: _extra(source, f.file) for f in tokens.files}
    # one screen for the whole batch: it costs about as much for one name as for a thousand
    shown = screen_names([name for names in extra.values() for name in names], key)
    described = pl.DataFrame(
        [
            {
                "bestand": f.path,
                "sha256": f.sha256,
                "grootte_bytes": f.size,
                "status": AFGEWEZEN if f.rejected is not None else VERWERKT,
                # the reason may quote the file's header names, which may hold personal data too
                "reden": screen_message(f.rejected, key) if f.rejected is not None else None,
                "extra_kolommen": ", ".join(shown[name] for name in extra[f.sha256]) or None,
                "codering": f.file.encoding if f.file is not None else None,
                "archief": f.archived[0] if f.archived else None,
                "archief_sha256": f.archived[1] if f.archived else None,
                "van_landing": f.from_landing,
            }
            for f in tokens.files
        ],
        schema={k: FILE_SCHEMA[k] for k in ("bestand", "sha256", "grootte_bytes", "status", "reden")}
        | {"extra_kolommen": pl.String, "codering": pl.String, "archief": pl.String, "archief_sha256": pl.String}
        | {"van_landing": pl.Boolean},
    )
    invalid_per_file = quarantine.group_by("bestand", "sha256").agg(pl.col("regel").n_unique().alias("ongeldig"))
    files = (
        described.join(counted, on=["bestand", "sha256"], how="left")
        .join(invalid_per_file, on=["bestand", "sha256"], how="left")
        .with_columns(
            pl.when(pl.col("status") == VERWERKT)
            .then(pl.col("_rijen").fill_null(0))
            .otherwise(0)
            .cast(pl.Int64)
            .alias("rijen"),
            pl.col("ongeldig").fill_null(0).cast(pl.Int64).alias("ongeldige_rijen"),
        )
        .drop("_rijen", "ongeldig")
    )
    share = pl.col("ongeldige_rijen") / pl.col("rijen")
    too_many = (pl.col("status") == VERWERKT) & (pl.col("rijen") > 0) & (share > max_invalid_share)
    return files.with_columns(
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


def _extra(source: Source, file: ArchivedFile | None) -> list[str]:
    """The file's columns the source does not know, as the ledger lists them (screened by the caller:
    a header name may hold personal data too)."""
    if file is None:
        return []
    known = {*source.rows.required, *source.rows.personal}
    return [name for name in (normalise_header(name) for name in file.header) if name not in known]


# --- a chunk of work ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs, by value: it reaches the files by path (shared storage on a cluster).

    `key`: the personal-data key, for a worker on this machine. None for a worker elsewhere (a task
    travels to a Dask worker over the network): that worker takes the key from its own settings,
    `PIPELINE_PII_KEY`, `PIPELINE_PII_KEY_BLOCK` or the key file beside `warehouse` on shared storage.
    """

    chunk_id: str
    run_id: str
    source: str
    items: tuple[Item, ...]
    raw_dir: Path
    archive_dir: Path
    versions_dir: Path
    warehouse: Path
    key: bytes | None
    max_invalid_share: float
    max_delivery_bytes: int
    read_timeout_s: float


@dataclass(frozen=True)
class ChunkResult:
    """What a worker hands back: small. The valid rows wait in the version files `parts` for the
    writer, who checks `key_fingerprint` (of the key the worker hashed with) against its own key."""

    chunk_id: str
    source: str
    files: pl.DataFrame
    quarantine: pl.DataFrame
    parts: tuple[PartFile, ...]
    rows: int
    key_fingerprint: str
    unreadable: tuple[tuple[str, str], ...] = field(default=())  # (path, reason) of items not read
    repaired: tuple[tuple[str, str], ...] = field(default=())  # (path, reason) of archived deliveries read again


def read_chunk(task: ChunkTask) -> ChunkResult:
    """Read one chunk: fetch, read, archive the accepted deliveries, stage their valid rows."""
    source = SOURCES[task.source]
    key = task.key if task.key is not None else Settings(warehouse=task.warehouse).hmac_key(create=False)
    fetched = _fetch(task, key)
    read_again = tokenise(source, fetched.deliveries)
    read_again = replace(
        read_again,
        files=[replace(f, from_landing=(f.path, f.sha256) not in fetched.archived_bytes) for f in read_again.files],
    )
    tokens = Tokens.combine([read_again, *fetched.archived])
    read = read_tokens(source, tokens, key, task.max_invalid_share)
    files = _archive(task, source, tokens, read, key)
    label = f"v{task.chunk_id}"
    parts = partitions.write_years(task.versions_dir, source, VERSIONS, task.run_id, label, read.rows)
    return ChunkResult(
        task.chunk_id,
        task.source,
        files,
        read.quarantine,
        tuple(parts),
        read.rows.height,
        key_fingerprint(key),
        tuple(fetched.unreadable),
        tuple(fetched.repaired),
    )


@dataclass
class _Fetched:
    deliveries: list[Delivery] = field(default_factory=list)  # bytes to tokenise
    archived: list[Tokens] = field(default_factory=list)  # records from archive packs
    archived_bytes: set[tuple[str, str]] = field(default_factory=set)  # (path, sha256) read as bytes, not delivered now
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    repaired: list[tuple[str, str]] = field(default_factory=list)


def _fetch(task: ChunkTask, key: bytes) -> _Fetched:
    """The chunk's deliveries: from the landing folder as bytes; from the archive as records, a pack
    at a time. A damaged pack is repaired from an identical copy in the landing folder, if there is
    one; if not, the chunk fails naming the pack and the delivery."""
    fetched = _Fetched()
    packs: dict[tuple[str, str], list[Item]] = {}
    for item in task.items:
        if item.sha256 is None:
            assert item.entry is not None
            try:
                found = read_file(task.raw_dir, item.entry, task.max_delivery_bytes, task.read_timeout_s)
            except Unreadable as problem:
                fetched.unreadable.append((item.path, problem.reason))  # the path is shown beside the reason
                continue
            fetched.deliveries.append(Delivery(item.path, found.data, found.sha256))
        elif item.archive is None:  # a blob of an earlier version's archive: read, then put in a pack
            try:
                data = archive.fetch_legacy(task.archive_dir, item.sha256)
            except archive.ArchiveError as problem:
                _repair(task, item, problem, fetched)
                continue
            fetched.deliveries.append(Delivery(item.path, data, item.sha256))
            fetched.archived_bytes.add((item.path, item.sha256))
        else:
            packs.setdefault(item.archive, []).append(item)
    for (path, sha), items in packs.items():
        try:
            pack = archive.read_pack(task.archive_dir, path, sha, [str(i.sha256) for i in items], key)
        except archive.ArchiveError as problem:
            for item in items:
                _repair(task, item, problem, fetched)
            continue
        fetched.archived.append(from_pack(pack, items))
    return fetched


def _repair(task: ChunkTask, item: Item, problem: archive.ArchiveError, fetched: _Fetched) -> None:
    """An archived delivery that cannot be read is read from the landing folder when the file at its
    path holds exactly its bytes (and archived anew); else the chunk fails, naming both."""
    if item.entry is not None:
        try:
            found = read_file(task.raw_dir, item.entry, task.max_delivery_bytes, task.read_timeout_s)
        except Unreadable:
            found = None
        if found is not None and found.sha256 == item.sha256:
            fetched.deliveries.append(Delivery(item.path, found.data, found.sha256))
            fetched.archived_bytes.add((item.path, found.sha256))
            reason = f"{problem}; archived again from the identical file in the landing folder"
            fetched.repaired.append((item.path, reason))
            return
    raise archive.ArchiveError(
        f"{problem}; it holds the delivery {item.path} (SHA-256 {item.sha256}), and the landing folder has no "
        "identical copy of it: put that file back in the landing folder (the next backfill archives it again) "
        "or restore the archive from a backup"
    )


def _archive(task: ChunkTask, source: Source, tokens: Tokens, read: BatchRead, key: bytes) -> pl.DataFrame:
    """Put the accepted deliveries read as bytes in one pack; their ledger rows name it."""
    files = read.files
    counted = set(files.filter(pl.col("status") == VERWERKT)["sha256"].to_list())
    accepted: dict[str, TokenFile] = {}
    for f in tokens.files:
        if f.archived is None and f.file is not None and f.sha256 in counted:
            accepted.setdefault(f.sha256, f)  # the same content under two names is packed once
    if not accepted:
        return files
    first_path = pl.DataFrame(
        {"bestand": [f.path for f in accepted.values()], "sha256": list(accepted)},
        schema={"bestand": pl.String, "sha256": pl.String},
    )
    personal = {column(name) for name in source.rows.personal}
    # The keyed hashes are row for row those of the tokens (read_tokens keeps their order).
    hashes = [read.pseudonyms[c].alias(PSEUDONYM_PREFIX + c) for c in source.pseudonyms]
    rows = tokens.rows.select(
        c for c in tokens.rows.columns if c not in personal and not c.startswith(PSEUDONYM_PREFIX)
    )
    packed_here = pl.col("sha256").is_in(list(accepted)) & pl.col("bestand").is_in(first_path["bestand"].implode())
    rows = rows.with_columns(hashes).filter(packed_here)
    ragged = tokens.ragged.filter(packed_here)
    together = pl.concat([rows, ragged], how="diagonal").drop("bestand")
    together = together.rename({"sha256": LEVERING, "regel": REGEL})
    quarantined = read.quarantine.join(first_path, on=["bestand", "sha256"], how="semi")
    described = [
        replace(f.file, columns=tuple(None if c in personal else c for c in f.file.columns))
        for f in accepted.values()
        if f.file is not None
    ]
    positions = {
        d.sha256: [n for n, name in enumerate(d.header) if normalise_header(name) in source.rows.personal]
        for d in described
    }
    name = f"{task.run_id}-{task.chunk_id}"
    screened = _screened(source, together, quarantined)
    path, sha = archive.write_pack(task.archive_dir, source.name, name, together, described, screened, positions, key)
    packed = pl.col("sha256").is_in(list(accepted))
    return files.with_columns(
        pl.when(packed).then(pl.lit(path)).otherwise(pl.col("archief")).alias("archief"),
        pl.when(packed).then(pl.lit(sha)).otherwise(pl.col("archief_sha256")).alias("archief_sha256"),
    )


def _screened(source: Source, rows: pl.DataFrame, quarantine: pl.DataFrame) -> dict[str, pl.Series]:
    """Per archived text column, the rows whose field the personal-data screen judges: every row of a
    free-text column or of a column the source does not know; elsewhere the invalid values."""
    known = {column(name) for name in source.rows.required}
    free = {column(name) for name in source.breakdown.free_text}
    masks: dict[str, pl.Series] = {}
    for name in rows.columns:
        if name.startswith(PREFIX) and (name in free or name not in known):
            masks[name] = rows[name].is_not_null()
    invalid = quarantine.filter(pl.col("kolom").is_not_null()).select(
        pl.col("sha256").alias(LEVERING), pl.col("regel").alias(REGEL), (PREFIX + pl.col("kolom")).alias("_kolom")
    )
    for (name,), cells in invalid.partition_by("_kolom", as_dict=True).items():
        if name not in rows.columns or name in masks:
            continue
        hit = rows.select(LEVERING, REGEL).with_row_index("_rij").join(cells, on=[LEVERING, REGEL], how="semi")
        masks[str(name)] = pl.Series([False] * rows.height).scatter(hit["_rij"], True)
    return masks


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
