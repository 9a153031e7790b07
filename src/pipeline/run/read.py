"""Read a batch of deliveries of one source: tokenise, parse, validate, quarantine, pseudonymise.

The unit is a batch (all new files of a source) rather than a file, so parsing and validation run
once, vectorised, over millions of rows instead of thousands of times over small frames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandera.errors
import polars as pl

from pipeline.core.contract import Source
from pipeline.core.csvfile import FileRejected, read_csv_table

VERWERKT, AFGEWEZEN, GENEGEERD, VERVANGEN = "verwerkt", "afgewezen", "genegeerd", "vervangen"

QUARANTINE_SCHEMA = {
    "bestand": pl.String,
    "regel": pl.Int64,
    "kolom": pl.String,
    "reden": pl.String,
    "waarde": pl.String,
}
FILE_SCHEMA = {
    "bestand": pl.String,
    "status": pl.String,
    "rijen": pl.Int64,
    "ongeldige_rijen": pl.Int64,
    "reden": pl.String,
    "extra_kolommen": pl.String,
    "codering": pl.String,
}
MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class BatchRead:
    """What a batch of files of one source gave.

    `rows`: valid rows of accepted files, typed by the source's model, personal data hashed, with
    the local day each record belongs to (`datum`).
    `quarantine`: every invalid row (also those of rejected files), one row per broken rule.
    `files`: one row per file: status, rows, invalid rows, reason.
    """

    source: str
    rows: pl.DataFrame
    quarantine: pl.DataFrame
    files: pl.DataFrame

    @classmethod
    def concat(cls, source: str, parts: list[BatchRead]) -> BatchRead:
        return cls(
            source,
            pl.concat([p.rows for p in parts]),
            pl.concat([p.quarantine for p in parts]),
            pl.concat([p.files for p in parts]),
        )


def _check_kind(check: str) -> str:
    return re.sub(r"\(.*\)$", "", check)


def _failures(source: Source, typed: pl.DataFrame, text: pl.DataFrame) -> pl.DataFrame:
    """Run the source's Pandera model over all rows; turn its failure cases into quarantine rows."""
    try:
        source.model.validate(typed, lazy=True)
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    if cases["index"].null_count():
        # A failure without a row is a broken frame, not a broken row: a bug, never quarantined.
        raise RuntimeError(f"{source.name}: parsed rows do not fit their schema:\n{cases}")
    reasons = pl.DataFrame(
        {
            "column": [k[0] for k in source.reasons],
            "kind": [k[1] for k in source.reasons],
            "kolom": [v[0] for v in source.reasons.values()],
            "reden": [v[1] for v in source.reasons.values()],
        }
    )
    found = cases.select(
        pl.col("index").cast(pl.Int64),
        "column",
        pl.col("check").map_elements(_check_kind, return_dtype=pl.String).alias("kind"),
    ).join(reasons, on=["column", "kind"], how="left")
    found = found.with_columns(pl.col("kolom").fill_null(pl.col("column")), pl.col("reden").fill_null(pl.col("kind")))
    located = found.join(
        text.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64)), on="index", how="left"
    )
    value_of = pl.coalesce(
        *(
            pl.when(pl.col("kolom") == name).then(pl.col(name))
            for name in text.columns
            if name not in ("bestand", "regel", *source.personal)
        )
    )
    return located.select(
        "bestand", "regel", "kolom", "reden", value_of.str.slice(0, MAX_VALUE_CHARS).alias("waarde")
    ).unique(keep="first", maintain_order=True)


def read_batch(source: Source, raw_dir: Path, paths: list[str], key: bytes, max_invalid_share: float) -> BatchRead:
    """Read the files `paths` (below `raw_dir`) of `source` as one batch."""
    frames: list[pl.DataFrame] = []
    ragged_rows: list[dict[str, object]] = []
    file_rows: list[dict[str, object]] = []
    for pad in paths:
        try:
            table = read_csv_table((raw_dir / pad).read_bytes(), source.required, source.personal)
        except FileRejected as err:
            file_rows.append({"bestand": pad, "status": AFGEWEZEN, "rijen": 0, "ongeldige_rijen": 0, "reden": str(err)})
            continue
        frames.append(table.rows.with_columns(pl.lit(pad).alias("bestand")))
        for line, fields in table.ragged:
            ragged_rows.append(
                {
                    "bestand": pad,
                    "regel": line,
                    "kolom": None,
                    "reden": f"wrong number of fields: {fields} instead of {table.header_width}",
                    "waarde": None,
                }
            )
        file_rows.append(
            {
                "bestand": pad,
                "status": VERWERKT,
                "rijen": table.rows.height + len(table.ragged),
                "extra_kolommen": ", ".join(table.extra_columns) or None,
                "codering": table.encoding,
            }
        )

    # No accepted file (none new, or all rejected) still gives a frame with the row's place columns.
    text = (
        pl.concat(frames, how="diagonal") if frames else pl.DataFrame(schema={"bestand": pl.String, "regel": pl.Int64})
    )
    for column in (*source.required, *source.personal):
        if column not in text.columns:
            text = text.with_columns(pl.lit(None, pl.String).alias(column))
    text = text.with_columns(pl.col("bestand").cast(pl.String), pl.col("regel").cast(pl.Int64))
    typed = source.parse(text, key)
    quarantine = pl.concat([_failures(source, typed, text), pl.DataFrame(ragged_rows, schema=QUARANTINE_SCHEMA)]).sort(
        "bestand", "regel", "kolom", nulls_last=True
    )

    invalid_per_file = quarantine.group_by("bestand").agg(pl.col("regel").n_unique().alias("ongeldig"))
    files = (
        pl.DataFrame(file_rows, schema=FILE_SCHEMA)
        .join(invalid_per_file, on="bestand", how="left")
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
    accepted = files.filter(pl.col("status") == VERWERKT).select("bestand")
    rows = typed.join(accepted, on="bestand", how="semi").join(
        quarantine.select("bestand", "regel").unique(), on=["bestand", "regel"], how="anti"
    )
    source.model.validate(rows)  # what goes on must fit the model; a failure here is a bug
    return BatchRead(source.name, rows.with_columns(source.day().alias("datum")), quarantine, files)
