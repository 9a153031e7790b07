"""The benchmark's own parts: the memory of a whole process tree is measured, the floor and the
pandas peer reach the published figures (and so do the real work), and a row with a field too few
is not counted by either."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import floor, peer
from bench.cases import ROOT, differences, read_targets
from bench.measure import GIB, run_task
from pipeline.sample import generate
from tests.sources.telefonie.lines import CALL_HEADER, call
from tests.support.deliveries import delivery_bytes

pytestmark = pytest.mark.slow

# Enough volume for the generator's invalid rows (one in each of a year's files of >= 100 rows).
TARGETS = (
    "jaar,baliebezoeken_met_afspraak,telefoontjes_gemeente,telefoontjes_14030,bereikbaarheid_pct\n"
    "2018,24000,30000,19000,91\n"
)


def test_peak_memory_is_that_of_the_whole_process_tree(tmp_path: Path) -> None:
    # the child holds 100 MiB and starts a grandchild that holds 300 MiB while the child waits (3 s:
    # long enough to be sampled on a busy machine)
    code = (
        "import subprocess, sys, time\n"
        "g = subprocess.Popen([sys.executable, '-c', 'b = bytearray(300 << 20); import time; time.sleep(3)'])\n"
        "a = bytearray(100 << 20)\n"
        "g.wait()\n"
    )
    script = tmp_path / "tree.py"
    script.write_text(code)
    # Measured from a process of its own, as `make bench` does. Linux starts a process with its
    # parent's high-water mark, down the whole line of ancestors (here pytest's workers): the kernel's
    # figure for the tree is only the tree's when it is above the measuring process's own.
    measure = (
        "import json, resource, sys; from pathlib import Path; from bench.measure import run_task\n"
        "m = run_task({'kind': 'script'}, Path(sys.argv[1]), 'tree', command=[sys.executable, sys.argv[2]])\n"
        "own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "print(json.dumps(m.as_dict() | {'own': own}, default=str))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", measure, str(tmp_path), str(script)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    measured = SimpleNamespace(**json.loads(done.stdout.splitlines()[-1]))
    assert measured.returncode == 0
    assert measured.peak_processes >= 2
    assert measured.peak_rss >= 400 << 20
    assert measured.peak_rss < GIB
    # PSS divides shared pages (the interpreter's libraries) among the processes: not above the RSS sum,
    # and the 400 MiB the two hold on their own count whole
    assert 400 << 20 <= measured.peak_pss <= measured.peak_rss
    # each process's own peak: the grandchild's 300 MiB, the child's (the main process) 100 MiB
    largest, *others = measured.processes
    assert largest["peak_rss"] >= 300 << 20 and largest["role"] != "main"
    assert [p["role"] for p in others if p["peak_rss"] >= 100 << 20] == ["main"]
    if measured.own < 300 << 20:
        # the kernel's high-water mark is of one process: the grandchild's 300 MiB, not the sum
        assert 300 << 20 <= measured.max_process_rss < measured.peak_rss
    else:  # it cannot be told from an ancestor's, and is not reported
        assert measured.max_process_rss == 0
    assert measured.samples >= 10


def test_a_failed_task_is_reported_not_raised(tmp_path: Path) -> None:
    measured = run_task({"kind": "floor", "raw": str(tmp_path / "nothing"), "targets": []}, tmp_path, "empty")
    assert measured.ok  # no deliveries, no targets: nothing to differ
    measured = run_task({"kind": "no such task"}, tmp_path, "unknown")
    assert not measured.ok
    assert "no such task" in (measured.error or "")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("bench")
    targets = tmp / "targets.csv"
    targets.write_text(TARGETS)
    generate(targets, tmp / "raw", seed=11)
    return tmp / "raw", targets


def test_floor_reaches_the_published_figures(generated: tuple[Path, Path]) -> None:
    raw, targets = generated
    assert differences(floor.figures(raw, threads=2), read_targets([targets])) == []


def test_pandas_peer_reaches_the_published_figures(generated: tuple[Path, Path]) -> None:
    raw, targets = generated
    assert differences(peer.figures(raw), read_targets([targets])) == []


def _ragged_calls(tmp_path: Path) -> None:
    lines = [
        call("c1", "2020-03-02T09:00:00+01:00"),
        call("c2", "2020-03-02T09:05:00+01:00", beller="0612345678")[: -len(";0612345678")],  # a field too few
        call("c3", "2020-03-02T09:10:00+01:00") + ";x",  # a field too many
        call("c4", "2020-03-02T09:15:00+01:00", wachtrij='"Werk; Inkomen"'),  # a quoted separator: one field
        call("c5", "2020-03-02T09:20:00+01:00", nummer="030-2860000", keuze="", afhandeling="verbroken"),
    ]
    folder = tmp_path / "telefonie" / "2020"
    folder.mkdir(parents=True)
    (folder / "telefonie_20200303.csv").write_bytes(delivery_bytes(CALL_HEADER, lines, "cp1252", "\r\n"))


@pytest.mark.parametrize("figures", [floor.figures, peer.figures], ids=["floor", "pandas"])
def test_rows_with_another_number_of_fields_do_not_count(tmp_path: Path, figures: object) -> None:
    _ragged_calls(tmp_path)
    assert callable(figures)
    found = figures(tmp_path)
    # c2 and c3 have the wrong number of fields; c1, c4 (14 030) and c5 (030, not answered) count
    assert found == {2020: {"telefoontjes_gemeente": 3, "telefoontjes_14030": 2, "bereikbaarheid_pct": 67}}


def test_the_plain_floor_reads_each_file_once_and_counts_ragged_rows(tmp_path: Path) -> None:
    """The issue's floor: one `pl.read_csv` per delivery, so a row with a field too few or too many
    counts like any other (c2 is valid but for its length; c3 has a surplus field)."""
    _ragged_calls(tmp_path)
    found = floor.figures(tmp_path, exact=False)
    assert found == {2020: {"telefoontjes_gemeente": 5, "telefoontjes_14030": 4, "bereikbaarheid_pct": 80}}
