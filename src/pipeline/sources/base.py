"""What the rest of the pipeline needs to know of a raw source; each source module fills one in."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl


@dataclass(frozen=True)
class Source:
    name: str
    file_pattern: re.Pattern[str]
    required: tuple[str, ...]
    personal: tuple[str, ...]
    id_column: str
    parse: Callable[[pl.DataFrame, bytes], pl.DataFrame]
    model: type[pa.DataFrameModel]
    reasons: dict[tuple[str, str], tuple[str, str]]
    winner_order: tuple[str, ...]
    day_column: str
