"""The archive of accepted deliveries: what rebuilding needs, and no personal data in clear.

A pack, `<archief>/<bron>/<run_id>-<chunk>.parquet`, holds the deliveries one reader accepted in one
chunk, tokenised: per record its delivery (the SHA-256 of the bytes delivered, the delivery's
identity in the ledger), its physical line and every field as the tokeniser found it (trimmed), extra
columns and the fields of ragged records included, with the file's header and encoding in the pack's
metadata. A corrected parser reads it again; a rebuild needs no decoding or tokenising.

What it does not hold in clear:

- personal columns (the source's `personal`) are left out; what the reader computes from them, the
  keyed hashes of the source's `pseudonyms`, is kept in their place (the same hashes, so a rebuild
  gives the same figures);
- a field the personal-data screen flags (in free text, an extra column, an invalid value, a ragged
  record, a header name), and every field of a ragged record where a personal column stands, is
  sealed: encrypted with a key derived from the personal-data key (AES-SIV), so that only that key
  opens it;
- past `PIPELINE_RETENTION_DAYS` a pack is written again without the keyed hashes and the sealed
  fields of the records of those days (only the kind of data a sealed field held stays).

A pack is written once, under a new name, and never changed; the ledger names the pack of each
delivery with the pack's own SHA-256, which every read checks, so damage is found and named. A pack
that no ledger row names is removed at the start of the next run. The archive is readable by its
owner only.

Archives of earlier versions kept the delivered bytes themselves (`<sha256[:2]>/<sha256>.zst`); a
backfill reads them (`fetch_legacy`), puts their deliveries in packs and removes them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import zstandard
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from pipeline.core.atomic import atomic_output
from pipeline.core.privacy import personal_kinds
from pipeline.core.private import make_private_dir, owner_only_files

FORMAT = 1
META = b"pipeline.archief"
SUFFIX = ".parquet"
LEVERING, REGEL, VELDEN = "levering", "regel", "velden"
PSEUDONYM_PREFIX = "pseudoniem:"
# Per column with a sealed field, `verzegeld:<column>` holds the sealed value and `soort:<column>` the
# kind of data it is (the field itself is null); `<column>` is `veld:<name>`, or `#<n>` for field n of
# a ragged record.
SEALED_PREFIX, KIND_PREFIX = "verzegeld:", "soort:"
PERSONAL = "persoonlijk"  # the kind of a sealed field that stood where a personal column stands


class ArchiveError(Exception):
    """A pack (or an older blob) is missing, damaged or does not hold what the ledger says."""


# --- sealing ------------------------------------------------------------------------------------


def _sealer(key: bytes) -> AESSIV:
    derived = b"".join(hmac.digest(key, f"pipeline archief verzegeling {n}".encode(), "sha256") for n in (1, 2))
    return AESSIV(derived)


def seal(key: bytes, value: str) -> bytes:
    """`value` encrypted (deterministically: the same value seals alike, so a pack is reproducible)."""
    return _sealer(key).encrypt(value.encode("utf-8"), None)


def unseal(key: bytes, sealed: bytes) -> str:
    try:
        return _sealer(key).decrypt(sealed, None).decode("utf-8")
    except Exception as problem:  # a wrong key or damaged bytes: the same to the reader
        raise ArchiveError(
            f"a sealed value does not open with this personal-data key ({type(problem).__name__})"
        ) from None


def erased_value(kind: str) -> str:
    """What a sealed field reads as once retention erased it: its kind only."""
    return f"[{kind}]"


# --- what a pack holds --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchivedFile:
    """One delivery of a pack, as its metadata describes it."""

    sha256: str
    header: tuple[str, ...]  # the header's names as delivered (a flagged one reads as its kind)
    columns: tuple[str | None, ...]  # per header position, the pack column holding it (None: personal)
    encoding: str
    size: int
    control: bool  # a control character anywhere in its bytes


@dataclass(frozen=True)
class Pack:
    """Records of some deliveries: `rows` (LEVERING, REGEL, `veld:*` text columns with sealed fields
    restored, `pseudoniem:*` columns, VELDEN for ragged records), `deliveries` per SHA-256."""

    rows: pl.DataFrame
    deliveries: dict[str, ArchivedFile]


def pack_path(archive: Path, source: str, name: str) -> Path:
    return archive / source / f"{name}{SUFFIX}"


def write_pack(
    archive: Path,
    source: str,
    name: str,
    rows: pl.DataFrame,
    deliveries: Sequence[ArchivedFile],
    screened: Mapping[str, pl.Series],
    personal_positions: Mapping[str, Sequence[int]],
    key: bytes,
) -> tuple[str, str]:
    """Write one pack of `deliveries`; return its path below `archive` and its SHA-256.

    `rows`: LEVERING, REGEL, `veld:*` (the fields; personal columns already left out), `pseudoniem:*`,
    VELDEN (ragged records' fields, all of them). `screened`: per `veld:*` column, a Boolean mask of
    the rows whose field the screen is to judge (every row of a free-text column, say); fields it
    flags are sealed. `personal_positions`: per delivery, the header positions of personal columns,
    whose fields in a ragged record are sealed whatever they hold."""
    rows = _seal_fields(rows, screened, key)
    rows = _seal_ragged(rows, personal_positions, key)
    meta = {"formaat": FORMAT, "leveringen": _described(deliveries, key)}
    buffer = io.BytesIO()
    # LZ4: a first backfill packs every delivery, so it must be cheap (measured on the sample's
    # chunks: 0.10 s per 14.5 MB delivered, 2.5 MB written, where zstd level 1 took 0.26 s for 1.4 MB).
    rows.write_parquet(buffer, compression="lz4", statistics=True, metadata={META.decode(): json.dumps(meta)})
    data = buffer.getvalue()
    target = pack_path(archive, source, name)
    for private in (archive, target.parent):  # packs hold sealed values and keyed hashes
        make_private_dir(private)
    # Not synced one by one: the writer syncs once before its commit names the packs (`sync`).
    with owner_only_files(), atomic_output(target, durable=False) as temporary:
        temporary.write_bytes(data)
        os.chmod(temporary, 0o400)
    return target.relative_to(archive).as_posix(), hashlib.sha256(data).hexdigest()


def _nulls(length: int, dtype: pl.DataType) -> pl.Series:
    return pl.repeat(None, length, dtype=dtype, eager=True)


def _kinds(values: pl.Series) -> pl.Series:
    """The personal-data kind of each value (null where the screen finds nothing), judged once per
    distinct value."""
    distinct = values.drop_nulls().unique()
    found = pl.DataFrame({"v": distinct, "k": personal_kinds(distinct)}, schema={"v": pl.String, "k": pl.String})
    found = found.filter(pl.col("k").is_not_null())
    if found.is_empty():
        return _nulls(len(values), pl.String())
    return values.rename("v").to_frame().join(found, on="v", how="left", maintain_order="left")["k"]


def _sealed_column(values: pl.Series, kinds: pl.Series, key: bytes) -> pl.Series:
    """The sealed value where `kinds` is set, else null (only flagged values reach Python)."""
    secrets = _nulls(len(values), pl.Binary())
    where = kinds.is_not_null().arg_true()
    if where.len():
        secrets = secrets.scatter(where, pl.Series([seal(key, v) for v in values.gather(where)], dtype=pl.Binary))
    return secrets


def _seal_fields(rows: pl.DataFrame, screened: Mapping[str, pl.Series], key: bytes) -> pl.DataFrame:
    """Fields the screen flags: null in their column, sealed beside it (with their kind)."""
    for name, mask in screened.items():
        if name not in rows.columns or not mask.any():
            continue
        values = rows[name]
        judged = values if mask.all() else values.zip_with(mask, _nulls(len(values), pl.String()))
        kinds = _kinds(judged)
        if kinds.is_null().all():
            continue
        rows = rows.with_columns(
            values.zip_with(kinds.is_null(), _nulls(len(values), pl.String())),
            _sealed_column(values, kinds, key).alias(SEALED_PREFIX + name),
            kinds.alias(KIND_PREFIX + name),
        )
    return rows


def _seal_ragged(rows: pl.DataFrame, personal_positions: Mapping[str, Sequence[int]], key: bytes) -> pl.DataFrame:
    """The fields of ragged records where a personal column stands, and those the screen flags:
    null in VELDEN, sealed in the columns of their position (`#<n>`)."""
    if VELDEN not in rows.columns:
        return rows
    where = rows[VELDEN].is_not_null().arg_true()
    if not where.len():
        return rows
    ragged = rows.select(LEVERING, VELDEN).with_row_index("_rij").gather(where).explode(VELDEN)
    ragged = ragged.with_columns(pl.int_range(pl.len()).over("_rij").alias("_plaats"))
    personal = pl.DataFrame(
        [(sha, position) for sha, positions in personal_positions.items() for position in positions],
        schema={LEVERING: pl.String, "_plaats": pl.Int64},
        orient="row",
    ).with_columns(pl.lit(PERSONAL).alias("_persoonlijk"))
    ragged = ragged.join(personal, on=[LEVERING, "_plaats"], how="left", maintain_order="left")
    ragged = ragged.with_columns(_kinds(ragged[VELDEN]).alias("_soort"))
    ragged = ragged.with_columns(
        pl.when(pl.col(VELDEN).is_not_null()).then(pl.coalesce("_soort", "_persoonlijk")).alias("_soort")
    )
    ragged = ragged.with_columns(_sealed_column(ragged[VELDEN].fill_null(""), ragged["_soort"], key).alias("_inhoud"))
    for (position,), part in (
        ragged.filter(pl.col("_soort").is_not_null()).partition_by("_plaats", as_dict=True).items()
    ):
        name = f"#{position}"
        placed = _nulls(rows.height, pl.Binary()).scatter(part["_rij"], part["_inhoud"])
        kinds = _nulls(rows.height, pl.String()).scatter(part["_rij"], part["_soort"])
        rows = rows.with_columns(placed.alias(SEALED_PREFIX + name), kinds.alias(KIND_PREFIX + name))
    kept = ragged.with_columns(pl.when(pl.col("_soort").is_null()).then(pl.col(VELDEN)).alias(VELDEN))
    regrouped = kept.group_by("_rij", maintain_order=True).agg(pl.col(VELDEN))
    # Lists cannot be scattered: the regrouped fields go back to their rows by a join on the row.
    placed_fields = rows.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_rij")).join(
        regrouped.with_columns(pl.col("_rij").cast(pl.UInt32)), on="_rij", how="left", maintain_order="left"
    )
    return rows.with_columns(placed_fields[VELDEN].alias(VELDEN))


def _described(deliveries: Sequence[ArchivedFile], key: bytes) -> list[dict[str, object]]:
    """The deliveries' entries in the pack's metadata; a header name the screen flags is sealed."""
    names = [name for d in deliveries for name in d.header]
    kinds = iter(personal_kinds(pl.Series(names, dtype=pl.String)).to_list())
    entries = []
    for delivery in deliveries:
        header = []
        for name in delivery.header:
            kind = next(kinds)
            header.append(
                name if kind is None else {"soort": kind, "verzegeld": base64.b64encode(seal(key, name)).decode()}
            )
        entries.append(
            {
                "sha256": delivery.sha256,
                "kolomkoppen": header,
                "kolommen": list(delivery.columns),
                "codering": delivery.encoding,
                "grootte_bytes": delivery.size,
                "stuurtekens": delivery.control,
            }
        )
    return entries


def _delivery(entry: Mapping[str, object], key: bytes) -> ArchivedFile:
    header = []
    for name in entry["kolomkoppen"]:  # type: ignore[attr-defined]
        if isinstance(name, str):
            header.append(name)
        elif name.get("verzegeld"):
            header.append(unseal(key, base64.b64decode(name["verzegeld"])))
        else:
            header.append(erased_value(name["soort"]))
    return ArchivedFile(
        str(entry["sha256"]),
        tuple(header),
        tuple(entry["kolommen"]),  # type: ignore[arg-type]
        str(entry["codering"]),
        int(entry["grootte_bytes"]),  # type: ignore[call-overload]
        bool(entry["stuurtekens"]),
    )


# --- reading -----------------------------------------------------------------------------------------


def _pack_bytes(archive: Path, path: str, sha256: str) -> bytes:
    try:
        data = (archive / path).read_bytes()
    except FileNotFoundError:
        raise ArchiveError(f"archive pack {archive / path} is missing") from None
    except OSError as problem:
        raise ArchiveError(f"archive pack {archive / path} cannot be read: {problem.strerror}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ArchiveError(
            f"archive pack {archive / path} is damaged: its bytes are not those the ledger recorded "
            f"(SHA-256 {sha256[:12]}…)"
        )
    return data


def read_pack(archive: Path, path: str, sha256: str, deliveries: Iterable[str], key: bytes) -> Pack:
    """The records of `deliveries` (SHA-256s) in the pack at `path`, checked against the pack's
    SHA-256, with their sealed fields opened (or, erased, read as their kind)."""
    data = _pack_bytes(archive, path, sha256)
    wanted = sorted(set(deliveries))
    try:
        meta = json.loads(pl.read_parquet_metadata(io.BytesIO(data))[META.decode()])
        rows = pl.scan_parquet(io.BytesIO(data)).filter(pl.col(LEVERING).is_in(wanted)).collect()
    except Exception as problem:
        raise ArchiveError(f"archive pack {archive / path} cannot be read ({type(problem).__name__})") from None
    found = {e["sha256"]: _delivery(e, key) for e in meta["leveringen"] if e["sha256"] in wanted}
    missing = [sha for sha in wanted if sha not in found]
    if missing:
        raise ArchiveError(f"archive pack {archive / path} does not hold delivery {missing[0][:12]}…")
    return Pack(_opened(rows, key), found)


def _opened(rows: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """The sealed fields back in their places (an erased one reads as its kind)."""
    for kind_column in [c for c in rows.columns if c.startswith(KIND_PREFIX)]:
        name = kind_column.removeprefix(KIND_PREFIX)
        where = rows[kind_column].is_not_null().arg_true()
        secrets = rows[SEALED_PREFIX + name].gather(where)
        kinds = rows[kind_column].gather(where)
        values = pl.Series(
            [unseal(key, s) if s is not None else erased_value(k) for s, k in zip(secrets, kinds, strict=True)],
            dtype=pl.String,
        )
        if not name.startswith("#"):
            rows = rows.with_columns(rows[name].scatter(where, values))
            continue
        position = int(name[1:])
        fields = rows[VELDEN].to_list()
        for row, value in zip(where.to_list(), values.to_list(), strict=True):
            fields[row][position] = value
        rows = rows.with_columns(pl.Series(VELDEN, fields, dtype=pl.List(pl.String)))
    return rows.drop(c for c in rows.columns if c.startswith((KIND_PREFIX, SEALED_PREFIX)))


# --- retention ----------------------------------------------------------------------------------------


def erase(archive: Path, path: str, sha256: str, name: str, rows_before: pl.Series, key: bytes) -> tuple[str, str, int]:
    """Write the pack at `path` again as `name`, without the keyed hashes and sealed fields of the
    rows `rows_before` marks (a Boolean per row, in the pack's order); return the new pack's path,
    its SHA-256 and the number of rows erased. The old pack is left for the next run to remove once
    the commit no longer names it."""
    data = _pack_bytes(archive, path, sha256)
    metadata = pl.read_parquet_metadata(io.BytesIO(data))
    rows = pl.read_parquet(io.BytesIO(data))
    erased = int(rows_before.sum())
    erasable = [c for c in rows.columns if c.startswith((PSEUDONYM_PREFIX, SEALED_PREFIX))]
    old = pl.lit(rows_before)
    rows = rows.with_columns(pl.when(~old).then(pl.col(c)).alias(c) for c in erasable)
    source = path.split("/", 1)[0]
    buffer = io.BytesIO()
    rows.write_parquet(
        buffer,
        compression="zstd",
        compression_level=1,
        statistics=True,
        metadata={META.decode(): metadata[META.decode()]},
    )
    new = buffer.getvalue()
    target = pack_path(archive, source, name)
    with owner_only_files(), atomic_output(target, durable=False) as temporary:
        temporary.write_bytes(new)
        os.chmod(temporary, 0o400)
    del key  # the sealed fields are dropped, not opened
    return target.relative_to(archive).as_posix(), hashlib.sha256(new).hexdigest(), erased


def pack_order(archive: Path, path: str, sha256: str) -> pl.DataFrame:
    """LEVERING and REGEL of every row of a pack, in the pack's order."""
    return pl.read_parquet(io.BytesIO(_pack_bytes(archive, path, sha256)), columns=[LEVERING, REGEL])


# --- housekeeping -----------------------------------------------------------------------------------


def sweep(archive: Path, named: Iterable[str], converted: Iterable[str]) -> int:
    """Remove every pack no ledger row `named`, every blob of an earlier version whose delivery is
    now in a pack (`converted`: SHA-256s), and temporary files a killed writer left."""
    if not archive.is_dir():
        return 0
    keep = set(named)
    done = set(converted)
    removed = 0
    for path in archive.rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(archive).as_posix()
        stale = (
            (path.suffix == SUFFIX and relative not in keep)
            or (path.suffix == ".zst" and path.stem in done)
            or ".tmp" in path.name
        )
        if stale:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def sync() -> None:
    """Make every file written so far durable, before a commit refers to them: one sync for all."""
    os.sync()


# --- archives of earlier versions -------------------------------------------------------------------------


def legacy_blob(archive: Path, sha256: str) -> Path:
    return archive / sha256[:2] / f"{sha256}.zst"


def fetch_legacy(archive: Path, sha256: str) -> bytes:
    """The delivered bytes an earlier version archived, checked against their SHA-256."""
    path = legacy_blob(archive, sha256)
    try:
        data = zstandard.ZstdDecompressor().decompress(path.read_bytes())
    except FileNotFoundError:
        raise ArchiveError(f"delivery {sha256[:12]}… is not in the archive {archive}") from None
    except zstandard.ZstdError as problem:
        raise ArchiveError(f"archived blob {path} cannot be decompressed: {problem}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ArchiveError(f"archived blob {path} does not hold the bytes its name promises")
    return data
