"""The errors of a run that an operator reads: one line, saying what to do."""

from __future__ import annotations


class PipelineError(Exception):
    """A run could not be done; the message is the one line the operator sees."""
