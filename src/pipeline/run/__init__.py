"""Runs of the pipeline: a nightly run or a backfill (`run`), adopting a year (`freeze`), withdrawing a
delivery (`withdraw`)."""

from pipeline.run.errors import PipelineError
from pipeline.run.job import PublishFailed, run
from pipeline.run.ledger import RunSummary

__all__ = ["PipelineError", "PublishFailed", "RunSummary", "run"]
