"""One measured task in a process of its own: `python -m bench.child TASK.json RESULT.json`.

The parent (`bench.measure`) times the process and samples its tree's memory; this reports the time
of the measured call alone (`work_s`) and what it found. Each task imports only what it needs, so
the floor's and the peer's processes hold no pipeline code.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

Task = dict[str, Any]
Result = dict[str, Any]


def _settings(task: Task) -> Any:
    from pipeline.core.settings import Settings

    return Settings(raw_dir=Path(task["raw"]), warehouse=Path(task["warehouse"]), pii_key=task["pii_key"])


def run_pipeline(task: Task) -> Result:
    """A backfill or nightly run, as `pipeline backfill|nightly` does it (without the terminal output);
    with `dask_workers`, as `pipeline backfill --dask-workers N` does it (the flow, Prefect's temporary
    server and a local Dask cluster)."""
    settings = _settings(task)
    started = time.perf_counter()
    if task.get("dask_workers"):
        summary = _on_dask(settings, int(task["dask_workers"]))
    elif task.get("profile"):
        from pipeline.run import run

        summary = _profiled(Path(task["profile"]), run, settings, task["run"])
    else:
        from pipeline.run import run

        summary = run(settings, task["run"])
    work = time.perf_counter() - started
    ended = dt.datetime.now(dt.UTC)
    if task.get("expect_processed") is not None and summary.processed < task["expect_processed"]:
        raise AssertionError(f"processed {summary.processed} deliveries, expected at least {task['expect_processed']}")
    writer = (ended - summary.reading_ended).total_seconds() if summary.reading_ended else None
    return {
        "work_s": work,
        "writer_s": writer,
        "processed": summary.processed,
        "rejected": summary.rejected,
        "rows_read": summary.rows_read,
        "rows_valid": summary.rows_valid,
        "rows_quarantined": summary.rows_quarantined,
        "partitions": summary.partitions,
    }


def _on_dask(settings: Any, workers: int) -> Any:
    from flows import backfill as flow
    from flows import cluster
    from pipeline.run import RunSummary

    with cluster.prefect_api():
        found = flow.backfill(raw_dir=settings.raw_dir, warehouse=settings.warehouse, dask_workers=workers, judge=False)
    return RunSummary.from_dict(found)


def _profiled(path: Path, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` under cProfile: the statistics to `path`, the 40 costliest calls (cumulative) beside
    it as text. Only this process: with worker processes the reading shows as waiting (set
    PIPELINE_WORKERS=1 to profile it in this process)."""
    import cProfile
    import io
    import pstats

    profile = cProfile.Profile()
    try:
        return profile.runcall(fn, *args)
    finally:
        path.parent.mkdir(parents=True, exist_ok=True)
        profile.dump_stats(path)
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(40)
        path.with_suffix(".txt").write_text(text.getvalue())


def _checked(figures: dict[int, dict[str, int | None]], task: Task, started: float) -> Result:
    from bench.cases import differences, read_targets

    work = time.perf_counter() - started
    wrong = differences(figures, read_targets([Path(p) for p in task["targets"]]))
    if wrong:
        raise AssertionError("figures differ from the targets: " + "; ".join(wrong[:8]))
    return {"work_s": work, "figures": {str(y): f for y, f in sorted(figures.items())}}


def run_floor(task: Task) -> Result:
    from bench import floor

    started = time.perf_counter()
    if task.get("plain"):  # the floor: its figures are shown, not asserted (ragged rows count)
        from bench.cases import differences, read_targets

        found = floor.figures(Path(task["raw"]), exact=False)
        work = time.perf_counter() - started
        wrong = differences(found, read_targets([Path(p) for p in task["targets"]]))
        return {"work_s": work, "differences": wrong}
    return _checked(floor.figures(Path(task["raw"])), task, started)


def run_duckdb(task: Task) -> Result:
    """The DuckDB-SQL peer: its figures are shown, right or not."""
    from bench import duckdb_peer
    from bench.cases import differences, read_targets

    started = time.perf_counter()
    found = duckdb_peer.figures(Path(task["raw"]))
    work = time.perf_counter() - started
    return {"work_s": work, "differences": differences(found, read_targets([Path(p) for p in task["targets"]]))}


def _served(task: Task) -> Result:
    from bench import served

    return served.run(task)


def run_pandas(task: Task) -> Result:
    from bench import peer

    started = time.perf_counter()
    return _checked(peer.figures(Path(task["raw"])), task, started)


def run_bi(task: Task) -> Result:
    from bench import bi

    return bi.run(Path(task["warehouse"]), [Path(p) for p in task["targets"]], int(task["repeats"]))


def run_generate(task: Task) -> Result:
    from pipeline.sample import generate

    started = time.perf_counter()
    summary = generate([Path(p) for p in task["targets"]], Path(task["out"]), seed=int(task["seed"]))
    return {
        "work_s": time.perf_counter() - started,
        "years": list(summary.years),
        "files": summary.files_written,
        "rows": summary.rows,
    }


TASKS: dict[str, Callable[[Task], Result]] = {
    "pipeline": run_pipeline,
    "floor": run_floor,
    "pandas": run_pandas,
    "duckdb": run_duckdb,
    "served": _served,
    "bi": run_bi,
    "generate": run_generate,
}


def main(argv: list[str]) -> int:
    task: Task = json.loads(Path(argv[1]).read_text())
    started = time.perf_counter()
    try:
        result = TASKS[task["kind"]](task)
        code = 0
    except Exception as problem:
        traceback.print_exc()
        result, code = {"error": f"{type(problem).__name__}: {problem}"[:2000]}, 1
    result["task_s"] = time.perf_counter() - started  # imports of the task included
    Path(argv[2]).write_text(json.dumps(result))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
