"""Personal data never leaves the reader in clear: it becomes a keyed hash or is dropped."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl


def keyed_hash(values: pl.Series, key: bytes) -> pl.Series:
    """HMAC-SHA-256 (hex) of each non-empty value; empty and null stay null.

    Hashed once per distinct value, since callers call more than once.
    """
    distinct = values.drop_nulls().unique().to_list()
    digests = {v: hmac.digest(key, v.encode(), hashlib.sha256).hex() for v in distinct if v}
    return values.replace_strict(digests, default=None, return_dtype=pl.String)
