"""A source's figure partitions, computed by the figure driver and checked against their models."""

from __future__ import annotations

from functools import cache

import pandera.polars as pa
import polars as pl

from pipeline.core.periods import GRAIN_KEYS, Partitions
from pipeline.kit.contract import Source
from pipeline.kit.figures import Partitioned, split
from pipeline.kit.models import figure_schema
from pipeline.run import partitions


def check(source: Source, part: Partitioned) -> None:
    """Rows of a figure table fit its model and its grain is unique; a failure is a bug, never data."""
    if part.table == source.breakdown_table:
        source.breakdown.model.validate(part.frame)
    else:
        _schema(source, part.grain).validate(part.frame)


@cache
def _schema(source: Source, grain: str) -> pa.DataFrameSchema:
    # made once per process: building it took 5 ms, about half of checking a small table with it
    return figure_schema(grain, source.figures, source.checks, GRAIN_KEYS[grain])


def compute(source: Source, records: pl.DataFrame, parts: Partitions) -> list[Partitioned]:
    """The partitions `parts` of every figure table of `source`, from its current records."""
    computed = split(source, records, parts)
    for part in computed:
        check(source, part)
    return computed


@cache
def empty(source: Source) -> tuple[Partitioned, ...]:
    """Every figure table of `source` without rows, computed and checked once per process: each new
    state database is made with them (0.2 s a database, most of it checking twelve empty tables)."""
    return tuple(compute(source, pl.DataFrame(schema=partitions.staged_schema(source)), Partitions.of([])))
