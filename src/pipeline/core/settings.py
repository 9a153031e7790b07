"""The one settings object: every knob is a `PIPELINE_*` environment variable, validated at start."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from functools import cache
from pathlib import Path
from typing import Annotated, cast

import duckdb
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pipeline.core.calendar import DEFAULT_CLOSED_HOLIDAYS, ClosedDays
from pipeline.core.private import OWNER_FILE, check_owner_only, make_warehouse_dir

# Prefect must never phone home from this product, whichever entry point imports it first.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

DEFAULT_RAW_DIR = Path("data/raw")
DEFAULT_WAREHOUSE = Path("warehouse/publieksdienstverlening.duckdb")


class Settings(BaseSettings):
    """Where the pipeline reads and writes, and the thresholds of the delivery agreement."""

    model_config = SettingsConfigDict(env_prefix="PIPELINE_", extra="ignore")

    raw_dir: Path = Field(DEFAULT_RAW_DIR, description="Landing folder with one sub-folder per source")
    warehouse: Path = Field(DEFAULT_WAREHOUSE, description="The DuckDB file BI tools open")
    max_invalid_share: float = Field(
        0.05, ge=0.0, le=1.0, description="A file with a larger share of invalid rows is rejected whole"
    )
    pii_key: SecretStr | None = Field(
        None, description="HMAC key for personal data; when unset, a Prefect Secret block or a key file is used"
    )
    pii_key_block: str | None = Field(
        None, description="Name of a Prefect Secret block holding the HMAC key (needs PREFECT_API_URL)"
    )
    retention_days: int | None = Field(
        None,
        ge=1,
        description="Keyed hashes of personal data in staged records older than this many days are erased "
        "(by the nightly run); unset: kept",
    )
    lock_timeout_s: float = Field(
        30.0, ge=0.0, description="How long a second writer waits for the first before it gives up"
    )
    closed_holidays: Annotated[tuple[str, ...], NoDecode] = Field(
        DEFAULT_CLOSED_HOLIDAYS,
        description="Public holidays on which the municipality is closed, comma-separated Dutch names",
    )
    closed_dates: Annotated[tuple[dt.date, ...], NoDecode] = Field(
        (), description="Further days the municipality is closed, comma-separated YYYY-MM-DD"
    )
    workers: int = Field(
        max(1, os.cpu_count() or 1), ge=1, description="Processes that read deliveries side by side in a backfill"
    )
    # 12: a reading worker peaks ~0.19 GiB above its imports (0.27 GiB with 24), for the same CPU per row
    # (a delivery's fixed costs are per file, not per chunk).
    chunk_mb: int = Field(
        12, ge=1, description="Deliveries are read in chunks of about this many MB: what one worker holds at a time"
    )
    max_delivery_mb: int = Field(1024, ge=1, description="A delivery larger than this is not read (it is reported)")
    read_timeout_s: float = Field(300.0, gt=0, description="A delivery that takes longer to read is skipped")
    stale_after_open_days: int = Field(
        3, ge=0, description="A source without records for more open days than this is stale (pipeline status)"
    )
    rare_below: int = Field(
        5,
        ge=1,
        description="Free-text breakdown values seen fewer times in a year are published as one group (1: never)",
    )
    # v1.0.0 (storage format 64) is the oldest format DuckDB 2.0 writes; every DuckDB client from 0.10 on
    # reads it, where a file in 2.0's own format is refused by every 1.x client (docs/bi.md).
    storage_version: str = Field(
        "v1.0.0",
        description="DuckDB storage version of the published file: the oldest DuckDB client that must read it "
        "(v1.0.0, ..., latest)",
    )
    # 512: a backfill of 50 M rows peaks at 3.54 GiB for its process tree (3.83 GiB with 1024), no slower.
    duckdb_memory_mb: int = Field(
        512, ge=256, description="Memory DuckDB may use for the state database before it spills to disk"
    )

    @field_validator("raw_dir", "warehouse")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("storage_version")
    @classmethod
    def _known_storage_version(cls, value: str) -> str:
        # Only DuckDB knows its versions: asked now, a typo stops the start, not the night's publish.
        problem = _storage_version_problem(value)
        if problem:
            raise ValueError(problem + " (e.g. v1.0.0, v1.4.0 or latest)")
        return value

    @field_validator("closed_holidays", "closed_dates", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("closed_holidays")
    @classmethod
    def _known_holidays(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        ClosedDays(value)  # names a holiday that does not exist: refuse at start, not in the night
        return value

    @classmethod
    def with_paths(cls, raw_dir: Path | None = None, warehouse: Path | None = None) -> Settings:
        """The settings of the environment, with the landing folder and the warehouse given instead
        where they are given (a command's options, a flow's parameters)."""
        given = {k: v for k, v in {"raw_dir": raw_dir, "warehouse": warehouse}.items() if v is not None}
        return cls(**given)  # type: ignore[arg-type]

    def closed_days(self) -> ClosedDays:
        return ClosedDays(self.closed_holidays, self.closed_dates)

    # Everything the pipeline keeps besides the BI-facing file lives beside it, named after it.
    def _beside(self, suffix: str) -> Path:
        return self.warehouse.with_name(self.warehouse.stem + suffix)

    @property
    def state_db(self) -> Path:
        return self._beside(".state.duckdb")

    @property
    def archive_dir(self) -> Path:
        """The accepted deliveries, as read (content-addressed, compressed)."""
        return self._beside(".archief")

    @property
    def versions_dir(self) -> Path:
        """The staged record versions, as Parquet partitions per source and year (`run/partitions.py`)."""
        return self._beside(".versies")

    @property
    def staging_dir(self) -> Path:
        """Where a run's readers leave their results for the writer (shared storage for a cluster)."""
        return self._beside(".staging")

    @property
    def lock_file(self) -> Path:
        return self._beside(".lock")

    @property
    def key_file(self) -> Path:
        return self._beside(".key")

    def hmac_key(self, create: bool = True) -> bytes:
        """The secret for keyed hashes of personal data, never in the repository.

        Taken from `PIPELINE_PII_KEY`; else from the Prefect Secret block named by
        `PIPELINE_PII_KEY_BLOCK`; else from a key file beside the warehouse that is created once with
        a random key (readable by its owner only), so that hashes stay stable from run to run. A key
        file that others can read is refused (`PrivateFileExposed`, saying how to put it right).
        `create=False` (a worker on a cluster): a missing key file is an error, never a new key.
        """
        if self.pii_key is not None:
            return _long_enough(self.pii_key.get_secret_value(), "PIPELINE_PII_KEY")
        if self.pii_key_block is not None:
            return _long_enough(_secret_block(self.pii_key_block), f"the Secret block {self.pii_key_block!r}")
        path = self.key_file
        if not path.exists() and not create:
            raise MissingKey(
                f"no personal-data key on this machine: set PIPELINE_PII_KEY or PIPELINE_PII_KEY_BLOCK, "
                f"or make the key file {path} reachable here"
            )
        if not path.exists():
            make_warehouse_dir(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_FILE)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        check_owner_only(path, "the personal-data key file")
        return path.read_text().strip().encode()


class MissingKey(ValueError):
    """A worker found no personal-data key (it never makes one up: the writer's would differ)."""


def _long_enough(key: str, where: str) -> bytes:
    if len(key) < 16:
        raise ValueError(f"{where} must hold a key of at least 16 characters")
    return key.encode()


def _secret_block(name: str) -> str:
    """The value of a Prefect Secret block, from the Prefect API the environment points at."""
    # Prefect takes seconds to import and only this way of keeping the key needs it.
    from prefect.blocks.system import Secret

    try:
        # called outside any event loop, `load` returns the block itself (it is sync-compatible)
        block = cast("Secret[str]", Secret.load(name))
        value = block.get()
    except ValueError as problem:
        raise ValueError(f"the Prefect Secret block {name!r} cannot be loaded: {problem}") from None
    return str(value)


@cache
def _storage_version_problem(value: str) -> str:
    """What DuckDB says of a storage version it does not know ('' when it knows it); asked once per
    process and version (a probe database costs 26 ms, and settings are made for every command)."""
    try:
        with duckdb.connect() as con:
            con.execute("ATTACH ':memory:' AS probe (STORAGE_VERSION ?)", [value])
    except duckdb.Error as problem:
        return str(problem).split(", valid options")[0]
    return ""
