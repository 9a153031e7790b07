"""Runs of the pipeline: a nightly run or a backfill (`run`), adopting a year (`freeze`)."""

from pipeline.run.job import run
from pipeline.run.ledger import RunSummary
from pipeline.run.state import PipelineError

__all__ = ["PipelineError", "RunSummary", "run"]
