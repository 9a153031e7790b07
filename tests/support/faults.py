"""Faults made on purpose, in this process: a full disk is one named function failing with ENOSPC
(there is no tiny file system to fill everywhere; tests/test_storage.py fills a real tmpfs where it can)."""

from __future__ import annotations

import contextlib
import errno
import importlib
from collections.abc import Iterator

from tests.support.cli import Done, cli

NO_SPACE = "No space left on device"


@contextlib.contextmanager
def full_disk(failing: str) -> Iterator[None]:
    """While inside, `failing` (`module.function`) raises ENOSPC instead of running."""
    module, name = failing.rsplit(".", 1)
    target = importlib.import_module(module)
    real = getattr(target, name)  # a name that is gone would fake a full disk nowhere

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, NO_SPACE)

    setattr(target, name, no_space)
    try:
        yield
    finally:
        setattr(target, name, real)


def cli_with_full_disk(failing: str, *args: object, **env: str | None) -> Done:
    """`pipeline ARGS` while `failing` finds the disk full."""
    with full_disk(failing):
        return cli(*args, **env)
