"""The `pipeline` command: a thin table of contents over the library."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from pipeline import export as exporting
from pipeline import status as health
from pipeline.core import ledger_values as values
from pipeline.core.db import WarehouseUnavailable
from pipeline.core.locking import WriterBusy
from pipeline.core.periods import years_between
from pipeline.core.private import PrivateFileExposed
from pipeline.core.settings import Settings
from pipeline.report import html as html_report
from pipeline.report import table as key_table
from pipeline.run import PipelineError, RunSummary, run
from pipeline.run import freeze as adopt
from pipeline.run import withdraw as withdrawing
from pipeline.sample import generate as write_sample

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Kerncijfers publieksdienstverlening.")
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

RawOption = Annotated[
    Path | None, typer.Option("--raw", help="Landing folder (default: $PIPELINE_RAW_DIR or data/raw)")
]
WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        "--warehouse", help="Warehouse file (default: $PIPELINE_WAREHOUSE or warehouse/publieksdienstverlening.duckdb)"
    ),
]


class ReportFormat(StrEnum):
    table = "table"
    csv = "csv"
    markdown = "markdown"
    html = "html"


class ExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"
    xlsx = "xlsx"


# A scheduler's address as Dask takes it: a protocol it speaks over the network, a host, a port.
DASK_ADDRESS = re.compile(
    r"(?:(?:tcp|tls|ucx)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?):(?P<port>[0-9]{1,5})"
)


def _is_dask_address(address: str) -> bool:
    found = DASK_ADDRESS.fullmatch(address)
    return found is not None and 0 < int(found.group("port")) < 65536


def _fail(message: str) -> None:
    err.print(f"[red]pipeline: {message}[/red]", highlight=False)
    raise typer.Exit(1)


def _settings(raw: Path | None = None, warehouse: Path | None = None) -> Settings:
    try:
        return Settings.with_paths(raw, warehouse)
    except ValidationError as problem:
        first = problem.errors()[0]
        _fail(f"setting PIPELINE_{str(first['loc'][0]).upper()}: {first['msg']}")
        raise  # unreachable: _fail exits


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _run(
    kind: str,
    raw: Path | None,
    warehouse: Path | None,
    years: list[int] | None,
    dask_address: str | None = None,
    dask_workers: int | None = None,
    rebuild_from_archive: bool = False,
) -> None:
    settings = _settings(raw, warehouse)
    try:
        if dask_address or dask_workers:
            summary = _backfill_on_dask(settings, years, dask_address, dask_workers, rebuild_from_archive)
        else:
            summary = _run_here(settings, kind, years, rebuild_from_archive)
    except (PipelineError, WriterBusy, PrivateFileExposed) as problem:
        _fail(str(problem))
        return
    except Exception as problem:
        if os.environ.get("PIPELINE_DEBUG"):
            raise
        reason = f"{type(problem).__name__}: {problem}".splitlines()[0]
        _fail(f"{kind} failed, nothing was changed: {reason} (PIPELINE_DEBUG=1 shows where)")
        return
    err.print(
        f"{kind}: {summary.processed} deliveries processed, {summary.rejected} rejected, "
        f"{summary.ignored} ignored, {summary.skipped} skipped; {summary.rows_valid} valid rows, "
        f"{summary.rows_quarantined} quarantined; {summary.partitions} partitions recomputed -> {settings.warehouse}",
        highlight=False,
    )
    for kind_of, path, reason in summary.notices:
        err.print(
            f"  {values.label(values.NoticeKind, kind_of)} {path}: {values.label(values.IgnoredBecause, reason)}",
            highlight=False,
        )
    try:
        for line in health.published_differences(settings.warehouse):
            err.print(f"  [yellow]{line}[/yellow]", highlight=False)
    except WarehouseUnavailable as problem:  # published, but a client holds or changed it: say so
        err.print(f"  [yellow]{problem}[/yellow]", highlight=False)


def _run_here(settings: Settings, kind: str, years: list[int] | None, rebuild_from_archive: bool) -> RunSummary:
    """The run in this process, reading in local processes, with a progress bar."""
    with _progress() as bar:
        task = bar.add_task(kind, total=None)

        def progress(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        return run(settings, kind, years, progress, rebuild_from_archive=rebuild_from_archive)


def _backfill_on_dask(
    settings: Settings,
    years: list[int] | None,
    dask_address: str | None,
    dask_workers: int | None,
    rebuild_from_archive: bool,
) -> RunSummary:
    """The `backfill` flow with its reading on a Dask cluster; Prefect's log is the progress shown."""
    # Prefect takes seconds to import: only runs on a cluster need it.
    from flows import backfill as flow
    from flows import cluster

    with cluster.prefect_api():
        found = flow.backfill(
            from_year=years[0] if years else None,
            to_year=years[-1] if years else None,
            dask_address=dask_address,
            dask_workers=dask_workers,
            raw_dir=settings.raw_dir,
            warehouse=settings.warehouse,
            judge=False,  # as without a cluster: `pipeline status` judges
            rebuild_from_archive=rebuild_from_archive,
        )
    return RunSummary.from_dict(found)


@app.command()
def backfill(
    raw: RawOption = None,
    warehouse: WarehouseOption = None,
    from_year: Annotated[int | None, typer.Option("--from", help="First year to rebuild")] = None,
    to_year: Annotated[int | None, typer.Option("--to", help="Last year to rebuild")] = None,
    dask_address: Annotated[
        str | None,
        typer.Option(
            "--dask-address",
            help="Read on the existing Dask cluster whose scheduler listens here (tcp://HOST:PORT); "
            "its workers reach the landing folder and the warehouse's folder by the same paths",
        ),
    ] = None,
    dask_workers: Annotated[
        int | None, typer.Option("--dask-workers", min=1, help="Read on a local Dask cluster of N worker processes")
    ] = None,
    rebuild_from_archive: Annotated[
        bool,
        typer.Option(
            "--rebuild-from-archive",
            help="The state database was lost: make it anew from the archive's manifest, then rebuild every figure",
        ),
    ] = False,
) -> None:
    """Rebuild the chosen years (default: all) from every delivery in the landing folder."""
    try:
        years = years_between(from_year, to_year)
    except ValueError:
        _fail(f"--from {from_year} is after --to {to_year}")
        raise  # unreachable: _fail exits
    if dask_address and dask_workers is not None:
        _fail("give --dask-address (an existing cluster) or --dask-workers (a local one), not both")
    if dask_address is not None and not _is_dask_address(dask_address):
        _fail(
            f"--dask-address {dask_address!r} is not the address of a Dask scheduler: give tcp://HOST:PORT, "
            "as 'dask scheduler' prints it (for example tcp://10.0.0.5:8786; tls:// for a cluster with TLS)"
        )
    _run("backfill", raw, warehouse, years, dask_address, dask_workers, rebuild_from_archive)


@app.command()
def nightly(raw: RawOption = None, warehouse: WarehouseOption = None) -> None:
    """Process only deliveries that are new or changed since the last run."""
    _run("nightly", raw, warehouse, None)


@app.command()
def report(
    warehouse: WarehouseOption = None,
    format: Annotated[ReportFormat, typer.Option("--format", help="table, csv, markdown or html")] = ReportFormat.table,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write to this file (required for html; default: stdout)")
    ] = None,
    year: Annotated[
        int | None, typer.Option("--year", help="Year of the report text (markdown, html; default: last full year)")
    ] = None,
) -> None:
    """Print the key-figures table in Dutch number format; markdown and html add the report's text and charts."""
    settings = _settings(warehouse=warehouse)
    if format is ReportFormat.html and out_file is None:
        _fail("--format html writes a file: pass --out FILE")
    try:
        if format in (ReportFormat.markdown, ReportFormat.html):
            data = html_report.read(settings.warehouse, year)
        else:
            figures = key_table.read_kerncijfers(settings.warehouse)
    except (WarehouseUnavailable, ValueError) as problem:
        _fail(str(problem))
        return
    if format in (ReportFormat.markdown, ReportFormat.html):
        text = html_report.html(data) if format is ReportFormat.html else html_report.markdown(data)
        if out_file is None:
            sys.stdout.write(text)
        else:
            html_report.write(out_file, text)
            err.print(f"report {data.jaar} -> {out_file}", highlight=False)
        return
    t = key_table.table(figures)
    if format is ReportFormat.csv:
        sys.stdout.write(key_table.as_csv(t))
        return
    grid = RichTable(title="Kerncijfers publieksdienstverlening", caption=key_table.footnote())
    grid.add_column("")
    for shown_year in t.years:
        grid.add_column(str(shown_year), justify="right")
    for _, label, cells in t.rows:
        grid.add_row(label, *cells)
    out.print(grid)


@app.command()
def generate(
    targets: Annotated[
        list[Path], typer.Option("--targets", help="CSV of yearly target figures (repeat to combine tables)")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Landing folder to write deliveries into")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes")] = 2020,
) -> None:
    """Write sample daily deliveries whose figures equal the targets exactly."""
    settings = _settings()
    with _progress() as bar:
        task = bar.add_task("generate", total=None)
        try:
            summary = write_sample(
                targets,
                out_dir,
                seed,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                closed=settings.closed_days(),
            )
        except (ValueError, FileExistsError) as problem:
            _fail(str(problem))
            return
    err.print(f"generated {summary.files_written} files for {list(summary.years)} in {out_dir}", highlight=False)


@app.command()
def status(
    warehouse: WarehouseOption = None,
    today: Annotated[
        dt.datetime | None, typer.Option("--today", formats=["%Y-%m-%d"], help="Judge as of this day (default: today)")
    ] = None,
) -> None:
    """The last run, freshness per source, missing deliveries, rejected and skipped files: exit 3 on any problem."""
    settings = _settings(warehouse=warehouse)
    found = health.check(settings, today.date() if today else None)
    for line in found.lines:
        out.print(line, highlight=False)
    for line in found.problems:
        out.print(f"problem: {line}", highlight=False)
    if not found.healthy:
        raise typer.Exit(3)


@app.command()
def withdraw(
    file: Annotated[str, typer.Option("--file", help="The delivery's path below the landing folder")],
    reason: Annotated[str, typer.Option("--reason", help="Why it no longer counts (recorded in the ledger)")],
    warehouse: WarehouseOption = None,
) -> None:
    """Withdraw a delivery: it stops counting, its partitions are recomputed, the ledger records why."""
    settings = _settings(warehouse=warehouse)
    try:
        summary = withdrawing.withdraw(settings, file, reason)
    except (PipelineError, WriterBusy) as problem:
        _fail(str(problem))
        return
    err.print(f"withdraw: {file} withdrawn; {summary.partitions} partitions recomputed -> {settings.warehouse}")


@app.command()
def serve() -> None:
    """Serve the `nightly` (02:00 Europe/Amsterdam) and `backfill` deployments to a Prefect API."""
    # Prefect takes seconds to import; only this command needs it (the layers allow it at the top too).
    from flows import serve as serving

    try:
        serving.main()
    except serving.NoPrefectServer as problem:
        _fail(str(problem))


@app.command()
def freeze(
    year: Annotated[int, typer.Option("--year", help="Year whose figures are adopted as published")],
    warehouse: WarehouseOption = None,
    replace: Annotated[bool, typer.Option("--replace", help="Adopt again a year adopted before")] = False,
) -> None:
    """Record a year's figures as adopted, with the deliveries (sha256) and code version behind them."""
    settings = _settings(warehouse=warehouse)
    try:
        adopted = adopt.freeze(settings, year, replace)
    except (adopt.FreezeError, WriterBusy) as problem:
        _fail(str(problem))
        return
    commit = (adopted.git_commit or "unknown commit")[:12] + (" (with local changes)" if adopted.git_gewijzigd else "")
    err.print(
        f"freeze: {year} adopted: {adopted.aantal_cijfers} figures from {adopted.aantal_leveringen} deliveries "
        f"(manifest {adopted.manifest_sha256[:12]}), pipeline {adopted.pakketversie} {commit} -> {settings.warehouse}",
        highlight=False,
    )


@app.command()
def export(
    warehouse: WarehouseOption = None,
    format: Annotated[ExportFormat, typer.Option("--format", help="csv, parquet or xlsx")] = ExportFormat.csv,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the files into")] = Path("export"),
) -> None:
    """Write the published views (and their definitions) as files, for tools that cannot open DuckDB."""
    settings = _settings(warehouse=warehouse)
    try:
        written = exporting.export(settings.warehouse, format.value, out_dir)
    except exporting.ExportError as problem:
        _fail(str(problem))
        return
    err.print(f"export: {len(written)} files -> {out_dir}", highlight=False)


if __name__ == "__main__":
    app()
