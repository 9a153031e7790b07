"""The errors of a run that an operator reads: one line, saying what to do."""

from __future__ import annotations

import errno


class PipelineError(Exception):
    """A run could not be done; the message is the one line the operator sees."""


class DiskFull(PipelineError):
    """A write found no space left on its disk; the message says so, and what was being written."""


_FULL = ("No space left on device", "Disk quota exceeded", "File too large")


def is_disk_full(problem: BaseException) -> bool:
    """Whether `problem` (an OSError, or DuckDB's IO error wrapping one) is a full disk."""
    if isinstance(problem, OSError) and problem.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return True
    return any(words in str(problem) for words in _FULL)


def one_line(problem: BaseException) -> str:
    """`problem` in one line for the operator. A full disk is called one, with the file system's
    words: DuckDB's first line would say only that a checkpoint failed."""
    text = f"{type(problem).__name__}: {problem}"
    if not is_disk_full(problem):
        return text.splitlines()[0]
    cause = next((line for line in text.splitlines() if any(words in line for words in _FULL)), text)
    cause = cause.rsplit("Original error:", 1)[-1].strip()
    return f"the disk is full: {cause}"
