"""A source's figure partitions, computed by the figure driver and checked against their models."""

from __future__ import annotations

import polars as pl

from pipeline.core.periods import GRAIN_KEYS, Partitions
from pipeline.kit.contract import Source
from pipeline.kit.figures import Partitioned, split
from pipeline.kit.models import figure_schema


def check(source: Source, part: Partitioned) -> None:
    """Rows of a figure table fit its model and its grain is unique; a failure is a bug, never data."""
    if part.table == source.breakdown_table:
        source.breakdown.model.validate(part.frame)
    else:
        figure_schema(part.grain, source.figures, source.checks, GRAIN_KEYS[part.grain]).validate(part.frame)


def compute(source: Source, records: pl.DataFrame, parts: Partitions) -> list[Partitioned]:
    """The partitions `parts` of every figure table of `source`, from its current records."""
    computed = split(source, records, parts)
    for part in computed:
        check(source, part)
    return computed
