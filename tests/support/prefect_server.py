"""One real `prefect server start` on 127.0.0.1 for a whole pytest session, shared by its xdist workers.

A server costs 15-20 s to start (its imports and its database's migrations): the files that need one
(test_prefect, test_scheduling) ask for it by the session fixture `prefect_server` (tests/conftest.py).
The first worker that collected such a test launches it, under a lock in the folder the workers share
(the session's base temporary folder), and writes down where it listens; it starts while the first
files run, and the fixture waits for it to answer. The process that runs the session (xdist's
controller, or pytest itself without workers) stops it when the session ends. test_scale_out keeps its
own temporary server: that the pipeline starts one itself is what it proves.
"""

from __future__ import annotations

import contextlib
import fcntl
import inspect
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil

from tests.support.processes import free_port

BIN = Path(sys.executable).parent
STARTUP_S = 180  # a shared 2-core machine starts it slowly
FOLDER = "prefect-server"  # in the session's shared folder: the lock, where it listens, its home and log


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def _launch(folder: Path) -> dict[str, str]:
    """Start the server, without waiting for it: write down its process and the settings that reach it."""
    home = folder / "home"
    home.mkdir(exist_ok=True)
    port = free_port()
    env = {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    with (folder / "server.log").open("ab") as log:
        server = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the worker that started it; stopped as a group
        )
    (folder / "server.json").write_text(json.dumps({"pid": server.pid, "env": env}))
    return env


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _launched(folder: Path) -> tuple[int, dict[str, str]]:
    """The session's server, launched now if nobody has: its process and the settings that reach it."""
    with _locked(folder):
        known = folder / "server.json"
        if not known.is_file():
            _launch(folder)
        found = json.loads(known.read_text())
    return int(found["pid"]), dict(found["env"])


def drain_to_server() -> None:
    """Send the logs and events this process still holds to the server, as Prefect's test harness does
    when it ends: sent after the server stopped, they cost minutes of retries when the process exits."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        with contextlib.suppress(RuntimeError):  # no log worker was started
            sent = APILogWorker.instance().drain()
            if inspect.isawaitable(sent):
                await sent
        sent = EventsWorker.drain_all()
        if inspect.isawaitable(sent):
            await sent

    run_coro_as_sync(drain())


def launch_early(shared: Path) -> None:
    """Launch the session's server while the first files run, so that nobody waits for it to start."""
    _launched(shared / FOLDER)


def shared_server(shared: Path) -> dict[str, str]:
    """The session's server, up: the settings that reach it."""
    pid, env = _launched(shared / FOLDER)
    deadline = time.monotonic() + STARTUP_S
    while True:
        try:
            with urllib.request.urlopen(env["PREFECT_API_URL"] + "/health", timeout=2) as answer:
                if answer.status == 200:
                    return env
        except OSError:
            pass
        if time.monotonic() > deadline or not _running(pid):
            raise RuntimeError((shared / FOLDER / "server.log").read_text()[-3000:])
        time.sleep(0.25)


def stop_shared_server(shared: Path) -> None:
    """Stop the session's server, if one was started."""
    folder = shared / FOLDER
    if not (folder / "server.json").is_file():
        return
    with _locked(folder):
        pid = json.loads((folder / "server.json").read_text())["pid"]
        (folder / "server.json").unlink()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        # Not this process's child when a worker started it: wait for it to end (or to be a zombie
        # its parent has not reaped yet), then kill what is left of the group.
        deadline = time.monotonic() + 30
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
