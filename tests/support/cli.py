"""`pipeline ARGS` as cron calls it: in this process by Typer's runner (`cli`), or in a fresh
interpreter (`cli_process`) where the process boundary is what a test proves (exit status as the
shell sees it, a kill, a lock held by another process, a umask, a patched module).

A fresh interpreter costs 1.5-4 s of imports on this machine before the command does anything; the
runner costs nothing. Both see the environment of a run from cron: no PIPELINE_* or PREFECT_*
setting leaks in from the test process, the key and one reading process are set, and a variable
given as None is left unset. Both return the exit status, stdout and stderr, decoded strictly as
UTF-8 (a name that is not is a bug).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from tests.support.deliveries import PII_KEY

ROOT = Path(__file__).resolve().parents[2]
CRON = {
    "PIPELINE_PII_KEY": PII_KEY,
    "PIPELINE_WORKERS": "1",
    "PIPELINE_RARE_BELOW": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "COLUMNS": "200",
}
LEAKS = ("PIPELINE_", "PREFECT_")


@dataclass(frozen=True)
class Done:
    """A finished command: what `subprocess.run` tells of one."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def environment(**extra: str | None) -> dict[str, str]:
    """The environment of a run from cron, for a fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(LEAKS)} | CRON
    env |= {name: value for name, value in extra.items() if value is not None}
    return {name: value for name, value in env.items() if extra.get(name, value) is not None}


@contextlib.contextmanager
def _within(cwd: Path, umask: int | None) -> Iterator[None]:
    here = Path.cwd()
    before = os.umask(umask) if umask is not None else None
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(here)
        if before is not None:
            os.umask(before)


def cli(*args: object, cwd: Path | None = None, umask: int | None = None, **env: str | None) -> Done:
    """`pipeline ARGS` in this process, in `cwd` (default the checkout), under `umask` if given.

    An exception the command does not handle is written to stderr as the interpreter would write it,
    with exit status 1, so that a test that asserts no traceback still sees one."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith(LEAKS)}
    given = unset | CRON | env
    argv = [str(a) for a in args]
    with _within(cwd or ROOT, umask):
        result = CliRunner().invoke(app, argv, env=given, prog_name="pipeline")
    stderr = result.stderr_bytes.decode("utf-8")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return Done(tuple(argv), result.exit_code, result.stdout_bytes.decode("utf-8"), stderr)


def cli_process(
    *args: object, timeout: float = 180, cwd: Path | None = None, umask: int = -1, **env: str | None
) -> Done:
    """`pipeline ARGS` in a fresh interpreter, as cron starts it."""
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *map(str, args)],
        capture_output=True,
        encoding="utf-8",
        timeout=timeout,
        cwd=cwd or ROOT,
        env=environment(**env),
        umask=umask,
    )
    return Done(tuple(map(str, args)), done.returncode, done.stdout, done.stderr)


def problems(stdout: str) -> list[str]:
    """The lines of `pipeline status` that name a problem, without their prefix."""
    return [line.removeprefix("problem: ") for line in stdout.splitlines() if line.startswith("problem: ")]


def one_line(done: Done) -> str:
    """The command failed with exactly one line on stderr, no traceback, nothing on stdout."""
    assert done.returncode != 0, done
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]
