"""`make bench` (`python -m bench`): the pipeline beside the plain Polars floor, in one invocation.

Cases (each pipeline run, floor and peer in a process of its own, measured from outside: wall time and
the peak resident memory of the whole process tree, see `bench/measure.py`):

- backfills of generated deliveries: the sample (the published table 2017-2020) and eight years at
  twice the volume; with `--large` (`make bench-large`) also some 50 M rows. Beside each, on the same
  files: the plain Polars floor (`bench/floor.py`) and, where it fits in memory, the pandas peer
  (`bench/peer.py`); both must reproduce the published figures exactly;
- nightly runs that each bring one new day, on 1 and on 4 years of history (the sample's deliveries);
- BI queries on each backfill's published file, read-only, a connection per query (`bench/bi.py`).

Prints a table per case and PASS/MISS per target of the issue, writes `BENCHMARKS.md` with the
machine it ran on, and exits 0 whatever the figures: a benchmark is not a test (it exits 1 only when
the harness itself could not run). Generated deliveries are kept in a cache outside the repository
(`--cache`, `$PIPELINE_BENCH_CACHE`, default `~/.cache/pipeline-bench`) keyed by targets, seed and
generator code; `--fresh` generates them again.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from bench import report
from bench.cases import (
    EIGHT_YEARS,
    LARGE,
    NIGHTLY_HISTORY,
    NIGHTLY_MAX_RATIO,
    ROOT,
    SAMPLE,
    SEED,
    SERVED_MAX_RATIO,
    SMOKE,
    SMOKE_HISTORY,
    Case,
    naive_floor,
)
from bench.data import Deliveries, bring, default_cache, deliveries, held_back_days, landing, warm
from bench.measure import GIB, INTERVAL_S, Measurement, run_task
from bench.report import Check, Table, gib, seconds

PII_KEY: Final = "bench-key-" + "b" * 22
NIGHTLY: Final = "nightly"
HOW: Final = """
- **Wall time** runs from starting a case's process to reaping it: interpreter start and imports
  included, as a user waits for `pipeline backfill`. The ratios and targets use it, except the
  nightly ratio. **work s** is the time of the measured call inside the process (`run(...)`,
  `floor.figures(...)`), reported by the process itself; the nightly ratio uses it, as the earlier
  `make bench` did, so that the interpreter's start does not dilute what history costs.
- **Peak tree RSS**: a thread of the benchmark's own process samples every 50 ms the resident set
  size of the case's process and of all its descendants (the pipeline reads with a forkserver and
  worker processes) with psutil, and keeps the largest sum. Pages shared between processes are
  counted once per process (the modules the forkserver imported, in every worker it forks; Polars'
  and DuckDB's libraries), so the sum errs high. **largest process** is the kernel's high-water
  mark (`ru_maxrss` from `wait4`) of the largest single process: the true tree peak cannot be below
  it, so the peak shown is the larger of the two, marked `*` where the kernel's figure is more than
  5 % above the sampled sum (a spike between samples). **CPU s** is the tree's user + system time.
- **Peak tree PSS**, the figure the memory targets are judged on: in the same samples, the
  proportional set size of every process of the tree (psutil, from `/proc/<pid>/smaps_rollup`):
  each resident page divided by the number of processes that map it, so that summed over the tree a
  page the processes share counts once, as it takes memory once. It is what the tree takes of the
  machine, where the RSS sum takes the shared pages once per process (`smem` reports the same
  figure); a process's PSS equals its RSS but for the pages it shares. The kernel walks the page
  tables to give it (~2 ms of CPU per GiB), so it is read at most every 200 ms, and only in samples
  whose RSS sum is above the PSS peak so far (no other sample can raise it: a process's PSS is never
  above its RSS). Where the kernel gives no PSS (no smaps), "-" is shown and the RSS sum is judged.
  The peaks of each process (its role, RSS and PSS) and the RSS of each over time are kept in the
  run's measurements (`<cache>/results/`, and `<label>.timeline.json` with `--keep-work`).
- **Naive floor**, the issue's and the one the targets' ratios use: `../shared/bench/naive_polars.py`
  run as it is (`python naive_polars.py RAW`): every delivery read with `pl.read_csv`, the four
  figures counted, nothing else. Where it cannot be found the plain floor takes its place.
- **Plain floor**: `pl.read_csv` on every delivery once, the four figures, nothing more (ragged rows
  are counted like any other, so a few figures may be off; the table's notes say by how much).
- **Exact floor** (`bench/floor.py`): `pl.read_csv` on every delivery (`;`, text, lossy UTF-8), on a thread
  pool as wide as the machine; validity, version rules and the four figures, asserted equal to the
  targets. It also counts each line's fields in a second plain-text read (`read_csv` cannot tell a
  short row from an empty last field). **pandas peer** (`bench/peer.py`): the same, the way a
  notebook does it: one core, `pd.read_csv` per file, one big frame, `drop_duplicates`, asserted.
- **DuckDB-SQL peer** (`bench/duckdb_peer.py`): what an analyst writes in DuckDB SQL: one `read_csv`
  per source with `union_by_name`, a `QUALIFY` for the version that counts, a `GROUP BY` per year.
  Its figures are compared with the published ones and shown, right or not.
- **The writer on its own**: the pipeline's run records when the last chunk was read; the writer's
  serial time is from then to the end of the run (staging the sources not staged yet, the commit,
  the manifest, publishing), and its share is that time over the backfill's wall time. Also for a
  backfill over a local 2-worker Dask cluster (`--dask-workers 2`: Prefect's temporary server, the
  reading and the years of a source as tasks on the cluster).
- **Prefect's own cost** (`bench/served.py`): `prefect server start` on 127.0.0.1, `pipeline serve`,
  and the `backfill` deployment run once (`run_deployment`, `judge=False` as the CLI does not judge):
  from the API call to completion, and the flow run's time as Prefect records it, against the CLI's
  backfill of the same files. Served with Prefect's default `PREFECT_RUNNER_POLL_FREQUENCY` (10 s)
  and with 1 s, the setting that shortens the wait before a run starts.
- Before a case the files are read once (so the first timed reader does not alone pay for the
  disk); floor and pipeline then alternate when `--repeat` is above 1 (median wall, largest peak).
- **Nightly**: the last days of the history are held back; a 1-year and a 4-year landing folder are
  backfilled, then each held-back export day is added to both and a nightly run timed on each, in
  turn. Ratio of the medians of work s.
- **BI queries**: a read-only DuckDB connection per query on the published file (what BI tools do with
  `NullPool`), each query several times; first (cold) and median.
- Deliveries are generated once per targets table, seed and generator code into the cache; the rows
  the generator wrote are in each case's notes. Targets tables: `bench/targets/README.md`.
"""


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", action="store_true", help="add the 50 M-row backfill (make bench-large)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="validate the harness on tiny targets (one year; four for the nightly case)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="CASE",
        choices=[SAMPLE.name, EIGHT_YEARS.name, LARGE.name, SMOKE.name, NIGHTLY],
        help="run only these cases",
    )
    reuse = parser.add_mutually_exclusive_group()
    reuse.add_argument(
        "--keep", dest="fresh", action="store_false", help="reuse generated deliveries from the cache (default)"
    )
    reuse.add_argument("--fresh", dest="fresh", action="store_true", help="generate the deliveries again")
    parser.set_defaults(fresh=False)
    parser.add_argument("--cache", type=Path, default=None, help=f"cache folder (default {default_cache()})")
    parser.add_argument("--out", type=Path, default=None, help="where to write BENCHMARKS.md")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each backfill and floor (median wall time)")
    parser.add_argument("--nightly-samples", type=int, default=3, help="nightly runs per history (default 3)")
    parser.add_argument("--bi-repeats", type=int, default=5, help="runs of each BI query (default 5)")
    parser.add_argument("--no-pandas", action="store_true", help="leave the pandas peer out")
    parser.add_argument("--no-duckdb", action="store_true", help="leave the DuckDB-SQL peer out")
    parser.add_argument("--no-dask", action="store_true", help="leave the backfill over a Dask cluster out")
    parser.add_argument("--no-served", action="store_true", help="leave the served Prefect backfill out")
    parser.add_argument("--keep-work", action="store_true", help="keep the warehouses and logs of the run")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the pipeline's runs under cProfile (<cache>/profiles/); their timings are then the profiler's",
    )
    parser.add_argument("--interval", type=float, default=INTERVAL_S, help="memory sampling interval in seconds")
    return parser.parse_args(argv)


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def _measure(args: argparse.Namespace, task: dict[str, Any], folder: Path, label: str) -> Measurement:
    return run_task(task, folder, label, interval=args.interval)


def _combined(runs: Sequence[Measurement]) -> Measurement:
    """Several runs of one thing: the run of median wall time, with the largest peaks of all."""
    ordered = sorted(runs, key=lambda m: m.wall_s)
    middle = ordered[(len(ordered) - 1) // 2]
    return dataclasses.replace(
        middle,
        peak_rss=max(m.peak_rss for m in runs),
        peak_pss=max(m.peak_pss for m in runs),
        max_process_rss=max(m.max_process_rss for m in runs),
        returncode=max((m.returncode for m in runs), key=abs),
        result=next((m.result for m in runs if not m.ok), middle.result),
    )


def _peak(m: Measurement) -> tuple[int, str]:
    """The tree's peak, never below the largest single process's; marked `*` where sampling missed a
    spike (the kernel's figure for one process is more than 5 % above the sampled sum)."""
    peak = max(m.peak_rss, m.max_process_rss)
    return peak, gib(peak) + ("*" if m.max_process_rss > 1.05 * m.peak_rss else "")


def _pss(m: Measurement) -> str:
    """The tree's peak PSS, the figure the memory targets are judged on ("-" where the kernel gives none)."""
    return gib(m.peak_pss) if m.peak_pss else "-"


def _row(name: str, m: Measurement, floor: Measurement | None) -> list[str]:
    ratio = f"{m.wall_s / floor.wall_s:.2f}" if floor is not None and floor.ok and m.ok else "-"
    status = "" if m.ok else " FAILED"
    return [
        name + status,
        seconds(m.wall_s),
        seconds(m.work_s),
        seconds(m.cpu_s),
        ratio,
        _peak(m)[1],
        _pss(m),
        str(m.peak_processes),
        gib(m.max_process_rss),
    ]


HEADER: Final = (
    "run",
    "wall s",
    "work s",
    "CPU s",
    "x floor",
    "peak tree RSS",
    "peak tree PSS",
    "procs",
    "largest process",
)


def _rows_note(data: Deliveries) -> str:
    parts = ", ".join(f"{source} {rows:,}" for source, rows in sorted(data.rows.items()))
    made = (
        f"generated in {data.generation.wall_s:.0f} s (peak {gib(data.generation.peak_rss)})"
        if data.generation
        else f"from the cache (generated {data.manifest.get('generated_at', '?')})"
    )
    return f"Deliveries: {data.files:,} files, {data.total_rows:,} rows ({parts}); {made}."


@dataclasses.dataclass
class BackfillRuns:
    """What one backfill case measured: the pipeline, its floors and peers (None: not run)."""

    data: Deliveries
    warehouse: Path
    pipeline: Measurement
    naive: Measurement | None
    plain: Measurement
    exact: Measurement
    pandas: Measurement | None = None
    duckdb: Measurement | None = None
    dask: Measurement | None = None
    served: Measurement | None = None

    def named(self) -> list[tuple[str, Measurement | None]]:
        """Every run of the case by the name its table row shows."""
        return [
            ("pipeline backfill", self.pipeline),
            ("pipeline backfill, 2-worker Dask cluster", self.dask),
            ("naive Polars floor (shared/bench/naive_polars.py)", self.naive),
            ("Polars floor (plain)", self.plain),
            ("Polars floor (exact)", self.exact),
            ("DuckDB-SQL peer", self.duckdb),
            ("pandas peer", self.pandas),
            ("served Prefect backfill (bench/served.py)", self.served),
        ]

    @property
    def floor(self) -> Measurement:
        """The floor the targets' ratios use: the issue's naive one where it ran, else the plain one."""
        return self.naive if self.naive is not None and self.naive.ok else self.plain


def backfill_case(case: Case, args: argparse.Namespace, cache: Path, work: Path) -> tuple[list[Table], list[Check]]:
    data = deliveries(case.targets, SEED, cache, args.fresh, work, _say)
    _say(f"{case.name}: {data.files:,} files, {data.total_rows:,} rows; reading them once to warm the page cache")
    warm(data.raw)
    folder = work / case.name
    runs = _backfills(case, args, cache, data, folder)
    _peers(case, args, runs, folder)
    tables = [_backfill_table(case, args, runs)]
    checks = _backfill_checks(case, runs)
    if case.bi and runs.pipeline.ok:
        _say(f"{case.name}: BI queries on the published file")
        task: dict[str, Any] = {"kind": "bi", "warehouse": str(runs.warehouse), "targets": _targets(case)}
        task["repeats"] = args.bi_repeats
        tables.append(_bi_table(case, _measure(args, task, folder, "bi"), args.bi_repeats))
    return tables, checks


def _targets(case: Case) -> list[str]:
    return [str(p) for p in case.targets]


def _backfills(case: Case, args: argparse.Namespace, cache: Path, data: Deliveries, folder: Path) -> BackfillRuns:
    """The floors and the pipeline, alternating when repeated (median wall time, largest peak)."""
    targets = _targets(case)
    naive_path = naive_floor()
    naives: list[Measurement] = []
    exacts: list[Measurement] = []
    plains: list[Measurement] = []
    pipelines: list[Measurement] = []
    warehouse = folder / "wh-0" / "w.duckdb"
    for n in range(max(args.repeat, 1)):
        if naive_path is not None:
            _say(f"{case.name}: the issue's naive Polars floor, {naive_path.name} (run {n + 1})")
            command = [sys.executable, str(naive_path), str(data.raw)]
            naives.append(run_task({"kind": "naive"}, folder, f"naive-{n}", interval=args.interval, command=command))
        _say(f"{case.name}: Polars floor (run {n + 1})")
        exacts.append(_measure(args, {"kind": "floor", "raw": str(data.raw), "targets": targets}, folder, f"floor-{n}"))
        _say(f"{case.name}: plain Polars floor (run {n + 1})")
        plain = {"kind": "floor", "plain": True, "raw": str(data.raw), "targets": targets}
        plains.append(_measure(args, plain, folder, f"plain-{n}"))
        if n:
            shutil.rmtree(warehouse.parent, ignore_errors=True)  # the last backfill's file is kept for BI
        warehouse = folder / f"wh-{n}" / "w.duckdb"
        _say(f"{case.name}: pipeline backfill (run {n + 1})")
        task = _backfill_task(data, warehouse, args, cache, f"{case.name}-backfill-{n}")
        pipelines.append(_measure(args, task, folder, f"backfill-{n}"))
        if not pipelines[-1].ok:
            break
    return BackfillRuns(
        data,
        warehouse,
        _combined(pipelines),
        _combined(naives) if naives else None,
        _combined(plains),
        _combined(exacts),
    )


def _backfill_task(
    data: Deliveries, warehouse: Path, args: argparse.Namespace, cache: Path, label: str
) -> dict[str, Any]:
    task: dict[str, Any] = {"kind": "pipeline", "run": "backfill", "raw": str(data.raw), "pii_key": PII_KEY}
    return task | {"warehouse": str(warehouse)} | _profiling(args, cache, label)


def _peers(case: Case, args: argparse.Namespace, runs: BackfillRuns, folder: Path) -> None:
    """The pandas and DuckDB-SQL peers, a backfill over a 2-worker Dask cluster, the served Prefect run."""
    targets, raw = _targets(case), str(runs.data.raw)
    if case.pandas and not args.no_pandas:
        _say(f"{case.name}: pandas peer")
        runs.pandas = _measure(args, {"kind": "pandas", "raw": raw, "targets": targets}, folder, "pandas")
    if case.duckdb and not args.no_duckdb:
        _say(f"{case.name}: DuckDB-SQL peer")
        runs.duckdb = _measure(args, {"kind": "duckdb", "raw": raw, "targets": targets}, folder, "duckdb")
    if case.dask and not args.no_dask:
        _say(f"{case.name}: pipeline backfill over a local 2-worker Dask cluster")
        task = _backfill_task(runs.data, folder / "wh-dask" / "w.duckdb", args, folder, "dask") | {"dask_workers": 2}
        runs.dask = _measure(args, task, folder, "backfill-dask")
    if case.served and not args.no_served:
        _say(f"{case.name}: the backfill deployment of pipeline serve, on a Prefect server on 127.0.0.1")
        task = {"kind": "served", "raw": raw, "pii_key": PII_KEY, "warehouse": str(folder / "wh-served" / "w.duckdb")}
        (folder / "wh-served").mkdir(parents=True, exist_ok=True)
        runs.served = _measure(args, task | {"polls": [10, 1]}, folder, "served")


def _backfill_table(case: Case, args: argparse.Namespace, runs: BackfillRuns) -> Table:
    table = Table(f"{case.name}: {case.title}", HEADER)
    floor = runs.floor
    table.rows += [_row(name, m, floor) for name, m in runs.named()[:-1] if m is not None]
    table.notes.append(_rows_note(runs.data))
    table.notes += _pipeline_notes(runs)
    table.notes += _floor_notes(runs)
    if args.repeat > 1:
        table.notes.append(f"{args.repeat} runs each: median wall time, largest peak.")
    return table


def _pipeline_notes(runs: BackfillRuns) -> list[str]:
    notes = []
    if runs.pipeline.ok:
        r = runs.pipeline.result
        notes.append(
            f"Pipeline: {r['processed']:,} deliveries processed, {r['rejected']} rejected; {r['rows_read']:,} rows "
            f"read, {r['rows_valid']:,} valid, {r['rows_quarantined']:,} quarantined; {r['partitions']:,} partitions."
        )
    for name, m in (("pipeline", runs.pipeline), ("Dask backfill", runs.dask)):
        if m is not None and m.ok and m.result.get("writer_s") is not None:
            share = m.result["writer_s"] / m.wall_s
            notes.append(
                f"{name}: the writer's serial time after the last chunk was read {m.result['writer_s']:.1f} s, "
                f"{share:.0%} of the backfill's {m.wall_s:.1f} s."
            )
    if runs.served is not None and runs.served.ok:
        for r in runs.served.result.values():
            if isinstance(r, dict):
                notes.append(
                    f"Served (PREFECT_RUNNER_POLL_FREQUENCY={r['poll_s']}): API call to completion "
                    f"{r['api_to_done_s']:.1f} s, flow run {r['flow_run_s']:.1f} s as Prefect records it "
                    f"(CLI backfill {runs.pipeline.wall_s:.1f} s)."
                )
    return notes


def _floor_notes(runs: BackfillRuns) -> list[str]:
    notes = []
    for name, m in runs.named():
        if m is not None and not m.ok:
            notes.append(f"{name} FAILED: {m.error}")
    if runs.exact.ok and (runs.pandas is None or runs.pandas.ok):
        notes.append("Exact floor" + (" and pandas peer" if runs.pandas else "") + ": figures equal the targets.")
    for name, m in (("Plain floor", runs.plain), ("DuckDB-SQL peer", runs.duckdb)):
        if m is not None and m.ok:
            wrong = m.result.get("differences", [])
            notes.append(
                f"{name}: "
                + (f"{len(wrong)} figures off, e.g. {wrong[0]}" if wrong else "figures equal the targets")
                + "."
            )
    if runs.naive is not None and runs.naive.ok:
        notes.append(
            "Naive floor (the issue's, the one the targets' ratios use): figures not checked (it prints them)."
        )
    return notes


def _backfill_checks(case: Case, runs: BackfillRuns) -> list[Check]:
    checks: list[Check] = []
    pipeline, floor = runs.pipeline, runs.floor
    both = pipeline.ok and floor.ok
    name = "naive" if floor is runs.naive else "plain"
    if case.max_ratio is not None:
        ratio = pipeline.wall_s / floor.wall_s if both else None
        checks.append(
            Check(
                f"{case.name}: backfill at most {case.max_ratio:.1f}x the {name} Polars floor (wall)",
                f"{ratio:.2f}x ({pipeline.wall_s:.1f} s vs {floor.wall_s:.1f} s)"
                if ratio
                else _failed(pipeline, floor),
                None if ratio is None else ratio <= case.max_ratio,
            )
        )
    if case is LARGE:
        checks.append(
            Check(
                f"{case.name}: the backfill of {runs.data.total_rows / 1e6:.1f} M rows completes",
                f"completed in {pipeline.wall_s:.0f} s" if pipeline.ok else f"failed: {pipeline.error}",
                pipeline.ok,
            )
        )
    if case.max_peak_gib is not None:
        checks.append(_memory_check(case, pipeline))
    if case.max_writer_share is not None:
        for label, m in (("", pipeline), (" over a 2-worker Dask cluster", runs.dask)):
            if m is None:
                continue
            writer = m.result.get("writer_s") if m.ok else None
            checks.append(
                Check(
                    f"{case.name}: the writer's serial share of the backfill{label} "
                    f"at most {case.max_writer_share:.0%}",
                    f"{writer / m.wall_s:.0%} ({writer:.1f} s of {m.wall_s:.1f} s)"
                    if writer is not None
                    else _failed(m),
                    None if writer is None else writer / m.wall_s <= case.max_writer_share,
                )
            )
    if case.faster_than_duckdb and runs.duckdb is not None:
        duck = runs.duckdb
        right = "right" if duck.ok and not duck.result.get("differences") else "wrong"
        checks.append(
            Check(
                f"{case.name}: backfill faster than the DuckDB-SQL peer (whose figures are {right})",
                f"{pipeline.wall_s:.1f} s vs {duck.wall_s:.1f} s"
                if pipeline.ok and duck.ok
                else _failed(pipeline, duck),
                None if not (pipeline.ok and duck.ok) else pipeline.wall_s < duck.wall_s,
            )
        )
    if runs.served is not None:
        checks.append(_served_check(case, runs))
    return checks


def _memory_check(case: Case, pipeline: Measurement) -> Check:
    """The peak memory target, judged on the tree's PSS (shared pages once); its RSS sum beside it.
    Where the kernel gave no PSS, the RSS sum (which errs high) is judged instead."""
    limit = case.max_peak_gib * GIB if case.max_peak_gib is not None else 0.0
    rss, shown_rss = _peak(pipeline)
    peak, what = (pipeline.peak_pss, "PSS") if pipeline.peak_pss else (rss, "RSS")
    shown = f"{gib(peak)} {what}" + (f" (RSS summed per process {shown_rss})" if what == "PSS" else "")
    return Check(
        f"{case.name}: peak memory of the backfill (process tree, PSS) under {case.max_peak_gib:.1f} GiB",
        shown if pipeline.ok else f"{shown} before the run failed",
        # a failed run says nothing of its peak, unless it was over the line before failing
        peak < limit if pipeline.ok else (False if peak >= limit else None),
    )


def _served_check(case: Case, runs: BackfillRuns) -> Check:
    served = runs.served
    fast = served.result.get("poll_1") if served is not None and served.ok else None
    if fast is None or not runs.pipeline.ok or fast.get("flow_run_s") is None:
        return Check(
            f"{case.name}: served Prefect backfill run at most {SERVED_MAX_RATIO}x the CLI",
            _failed(*(m for m in (served, runs.pipeline) if m is not None)),
            None,
        )
    ratio = fast["flow_run_s"] / runs.pipeline.wall_s
    return Check(
        f"{case.name}: served Prefect backfill run at most {SERVED_MAX_RATIO}x the CLI",
        f"{ratio:.2f}x (flow run {fast['flow_run_s']:.1f} s vs {runs.pipeline.wall_s:.1f} s; "
        f"API call to completion {fast['api_to_done_s']:.1f} s)",
        ratio <= SERVED_MAX_RATIO,
    )


def _failed(*runs: Measurement) -> str:
    return "; ".join(f"{m.label} failed: {m.error}" for m in runs if not m.ok) or "-"


def _bi_table(case: Case, m: Measurement, repeats: int) -> Table:
    table = Table(
        f"{case.name}: BI queries on the published file (read-only, a connection per query, {repeats} runs each)",
        ("query", "first ms", "median ms", "max ms", "rows"),
    )
    if not m.ok:
        table.notes.append(f"FAILED: {m.error}")
        return table
    for q in m.result["queries"]:
        table.rows.append(
            (
                q["name"],
                f"{q['first_s'] * 1000:.1f}",
                f"{q['median_s'] * 1000:.1f}",
                f"{q['max_s'] * 1000:.1f}",
                str(q["rows"]),
            )
        )
    table.notes.append(
        f"Year and month queried: {m.result['year']} and March of it. The published yearly table equals the targets. "
        f"Process: {m.wall_s:.1f} s wall, peak {_peak(m)[1]} RSS, {_pss(m)} PSS."
    )
    return table


def nightly_case(
    history: Sequence[Path], args: argparse.Namespace, cache: Path, work: Path
) -> tuple[list[Table], list[Check]]:
    data = deliveries(history, SEED, cache, args.fresh, work, _say)
    years = sorted(int(y) for y in data.manifest["years"])
    first, last = years[0], years[-1]
    if first == last:
        raise RuntimeError(f"the nightly case needs more than one year of history, {history} has {last} only")
    days = held_back_days(last, max(args.nightly_samples, 1))
    histories = {"1 year": last, f"{last - first + 1} years": first}
    folder = work / NIGHTLY
    setups: dict[str, Measurement] = {}
    held: dict[str, list[Path]] = {}
    runs: dict[str, list[Measurement]] = {label: [] for label in histories}
    warm(data.raw)
    for label, first_year in histories.items():
        held[label] = landing(data.raw, _history(folder, label) / "raw", first_year, days)
        _say(f"nightly: backfill of {label} of history ({first_year}-{last}), held back: {len(held[label])} files")
        setups[label] = _measure(args, _nightly_task(folder, label, "backfill"), folder, f"setup-{label}")
        if not setups[label].ok:
            raise RuntimeError(f"nightly: the backfill of {label} failed: {setups[label].error}")
    for day in days:
        for label in histories:
            bring(data.raw, _history(folder, label) / "raw", held[label], day)
            _say(f"nightly: {label} of history, export day {day} brought in")
            task = _nightly_task(folder, label, "nightly") | {"expect_processed": 1}
            task |= _profiling(args, cache, f"nightly-{_history(folder, label).name}-{day}")
            runs[label].append(_measure(args, task, folder, f"nightly-{label}-{day}"))
    longest = list(histories)[-1]
    _say(f"nightly: nothing new, {longest} of history")
    idle = _measure(args, _nightly_task(folder, longest, "nightly"), folder, f"nothing-new-{longest}")

    short, long = histories
    table = Table(
        f"{NIGHTLY}: nightly runs that each bring one new day",
        (
            "run",
            f"{short} work s",
            f"{long} work s",
            f"{short} wall s",
            f"{long} wall s",
            f"{short} CPU s",
            f"{long} CPU s",
            f"{long} peak tree RSS",
            f"{long} peak tree PSS",
        ),
    )

    def row(name: str, a: Measurement, b: Measurement) -> tuple[str, ...]:
        cells = (seconds(a.work_s), seconds(b.work_s), seconds(a.wall_s), seconds(b.wall_s))
        cpu = (seconds(a.cpu_s), seconds(b.cpu_s))
        return (name + ("" if a.ok and b.ok else " FAILED"), *cells, *cpu, _peak(b)[1], _pss(b))

    table.rows.append(row("backfill first (no target)", setups[short], setups[long]))
    for n, day in enumerate(days):
        table.rows.append(row(f"export day {day}", runs[short][n], runs[long][n]))
    ok = all(m.ok for ms in runs.values() for m in ms)
    medians = {label: statistics.median(m.work_s or 0.0 for m in ms) for label, ms in runs.items()} if ok else {}
    walls = {label: statistics.median(m.wall_s for m in ms) for label, ms in runs.items()}
    if ok:
        cells = (seconds(medians[short]), seconds(medians[long]), seconds(walls[short]), seconds(walls[long]))
        table.rows.append(("median", *cells, "", "", "", ""))
    idle_cells = (seconds(idle.work_s), "", seconds(idle.wall_s), "", seconds(idle.cpu_s), _peak(idle)[1], _pss(idle))
    table.rows.append(("nothing new" + ("" if idle.ok else " FAILED"), "", *idle_cells))
    table.notes.append(_rows_note(data))
    for m in [*setups.values(), *(m for ms in runs.values() for m in ms), idle]:
        if not m.ok:
            table.notes.append(f"{m.label} FAILED: {m.error}")
    checks = []
    if ok:
        ratio = medians[long] / medians[short]
        table.notes.append(
            f"Ratio of the medians, {long} vs {short}: {ratio:.2f} in the run (work s); "
            f"{walls[long] / walls[short]:.2f} in wall time, the interpreter's start included."
        )
        measured = f"{ratio:.2f} ({medians[long]:.2f} s vs {medians[short]:.2f} s, medians of {len(days)})"
    else:
        ratio, measured = None, "a nightly run failed"
    checks.append(
        Check(
            f"{NIGHTLY}: one new day on {long} of history at most {NIGHTLY_MAX_RATIO}x on {short} (work s)",
            measured,
            None if ratio is None else ratio <= NIGHTLY_MAX_RATIO,
        )
    )
    return [table], checks


def _history(folder: Path, label: str) -> Path:
    """The folder of one history of the nightly case: its landing folder and warehouse."""
    return folder / label.replace(" ", "_")


def _nightly_task(folder: Path, label: str, run: str) -> dict[str, Any]:
    base = _history(folder, label)
    return {
        "kind": "pipeline",
        "run": run,
        "raw": str(base / "raw"),
        "warehouse": str(base / "wh" / "w.duckdb"),
        "pii_key": PII_KEY,
    }


def _profiling(args: argparse.Namespace, cache: Path, label: str) -> dict[str, Any]:
    if not args.profile:
        return {}
    return {"profile": str(cache / "profiles" / f"{time.strftime('%Y%m%d-%H%M%S')}-{label}.prof")}


# What the cases' processes import: compiled once before the first is timed.
IMPORTS: Final = "import bench.bi, bench.floor, bench.peer, pipeline.run, pipeline.sample, pipeline.cli"


def _compile_once(cache: Path) -> str:
    """Have the cases' processes find their imports compiled, as in a deployment, and compile them now.

    Where PYTHONDONTWRITEBYTECODE is set, every process would compile Prefect, pandas and the pipeline
    from source again (seconds each, a large share of a nightly run): the children write their bytecode
    to `<cache>/pycache` instead (PYTHONPYCACHEPREFIX), never into the repository or the environment."""
    note = "compiled once before the runs"
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        os.environ["PYTHONPYCACHEPREFIX"] = str(cache / "pycache")
        note += f" into {cache / 'pycache'} (PYTHONDONTWRITEBYTECODE was set: unset for the runs)"
    subprocess.run([sys.executable, "-c", IMPORTS], cwd=ROOT, check=True)
    return note


def _keep_results(work: Path, cache: Path, facts: Sequence[tuple[str, str]]) -> None:
    """Every measurement of the run, as JSON, in `<cache>/results/` (one file per run): the figures
    behind BENCHMARKS.md, to compare runs before and after a change."""
    measured = [json.loads(p.read_text()) for p in sorted(work.rglob("*.measured.json"))]
    if not measured:
        return
    folder = cache / "results"
    folder.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stamp}.json"
    path.write_text(json.dumps({"machine": dict(facts), "measurements": measured}, indent=1, default=str))
    print(f"measurements: {path}")


def _plan(args: argparse.Namespace) -> tuple[list[Case], Sequence[Path] | None]:
    """The backfill cases to run and the history of the nightly case (None: no nightly case)."""
    cases: list[Case]
    history: Sequence[Path] | None
    if args.smoke:
        cases, history = [SMOKE], SMOKE_HISTORY
    else:
        cases, history = [SAMPLE, EIGHT_YEARS, *([LARGE] if args.large else [])], NIGHTLY_HISTORY
    if args.only:
        every = {c.name: c for c in (SAMPLE, EIGHT_YEARS, LARGE, SMOKE)}
        cases = [every[name] for name in args.only if name in every]
        history = history if NIGHTLY in args.only else None
    return cases, history


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    cache = (args.cache or default_cache()).expanduser().resolve()
    cache.mkdir(parents=True, exist_ok=True)
    out = args.out or (cache / "BENCHMARKS-smoke.md" if args.smoke else ROOT / "BENCHMARKS.md")
    command = "python -m bench" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    cases, history = _plan(args)
    facts = report.machine()
    warnings = report.warnings_at_start()
    facts.append(("Python bytecode", _compile_once(cache)))
    if args.profile:
        warnings.append(f"The pipeline ran under cProfile (profiles in {cache / 'profiles'}): its times are inflated.")
    for what, value in facts:
        print(f"{what}: {value}")
    for warning in warnings:
        print(f"WARNING: {warning}")
    work = Path(tempfile.mkdtemp(prefix="run-", dir=cache))
    tables: list[Table] = []
    checks: list[Check] = []
    steps: list[functools.partial[tuple[list[Table], list[Check]]]] = [
        functools.partial(backfill_case, case, args, cache, work) for case in cases
    ]
    if history is not None:
        steps.append(functools.partial(nightly_case, history, args, cache, work))
    code = 0
    try:
        for step in steps:
            try:
                new_tables, new_checks = step()
            except Exception as problem:  # the harness broke on this case: say so, go on with the next
                case = getattr(step, "args", ["?"])[0]
                name = case.name if isinstance(case, Case) else NIGHTLY
                print(f"\n{name}: the benchmark could not run it: {type(problem).__name__}: {problem}", file=sys.stderr)
                warnings.append(f"{name} could not be run: {type(problem).__name__}: {problem}")
                code = 1
                continue
            tables += new_tables
            checks += new_checks
            for table in new_tables:
                print("\n" + table.text() + "\n", flush=True)
    finally:
        _keep_results(work, cache, facts)
        if args.keep_work:
            print(f"warehouses and logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(report.checks_table(checks).text())
    for warning in warnings:
        print(f"WARNING: {warning}")
    report.write_markdown(out, command, facts, warnings, tables, checks, HOW, report.load_average())
    print(f"\nwritten: {out}")
    return code


if __name__ == "__main__":
    sys.exit(main())
