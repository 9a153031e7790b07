"""Synthetic raw deliveries whose key figures equal a targets table exactly.

`generate(targets, out_dir)` reads one or more targets tables (a `jaar` column and any of the
columns the sources' sample profiles reproduce), lets every source that has targets for a year draw
that year's records (`pipeline/sources/<name>/sample.py`), and writes them as daily exports in the
delivery format of `shared/spec/raw-data.md`: varying encodings, line endings, header spellings,
column orders, quoting and extra columns. Figures computed from them by the rules of
`shared/spec/kpis.md` equal the targets exactly, whatever the seed.

Layout: `out_dir/<bron>/<YYYY>/<bron>_<YYYYMMDD>[_correctie].csv` where the date is the export day
(the day after the records' day for a regular file) and `YYYY` is the year of that export day.
Each file's format is drawn from a generator seeded by `seed` and the file's name, so the output is
byte-identical for the same seed and targets.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from pipeline.core.calendar import ClosedDays
from pipeline.kit.contract import Source
from pipeline.kit.sampling import EPOCH, Target, World, YearPlan, eday
from pipeline.sources import SOURCES

__all__ = ["GenerateSummary", "generate", "load_targets"]

YEAR: Final = "jaar"
MIN_YEAR: Final = 1980
MAX_YEAR: Final = 2100
EXTRA_COLUMN: Final = "export_versie"
WRITE_THREADS: Final = 2

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class GenerateSummary:
    """What `generate` wrote. `files_written` counts delivery files (not README.txt); `rows` counts
    the data rows per source in those files, noise (duplicates, corrections, invalid rows) included."""

    years: tuple[int, ...]
    files_written: int
    rows: dict[str, int]


# --- targets ------------------------------------------------------------------------------------


def _known_columns() -> dict[str, Source]:
    return {column: source for source in SOURCES.values() for column in source.sample.target_columns}


def _read_table(path: Path, known: dict[str, Source]) -> dict[int, tuple[Target, int]]:
    """One targets file: per year its values (None where empty) and the line it is on."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{path}: cannot read targets file: {err.strerror or err}") from err
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: targets file is not UTF-8 (byte {err.start})") from err
    reader = csv.reader(io.StringIO(text, newline=""))
    header: tuple[str, ...] | None = None
    found: dict[int, tuple[Target, int]] = {}
    for row in reader:
        line = reader.line_num
        where = f"{path}:{line}"
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            names = tuple(cell.strip().lower() for cell in row)
            unknown = [n for n in names[1:] if n not in known]
            if not names or names[0] != YEAR or unknown or len(set(names)) != len(names) or len(names) < 2:
                raise ValueError(
                    f"{where}: expected header '{YEAR}' followed by columns among {', '.join(known)}, "
                    f"found {','.join(row)!r}"
                )
            header = names
            continue
        if len(row) != len(header):
            raise ValueError(f"{where}: expected {len(header)} fields, found {len(row)}")
        values: Target = {}
        for name, raw in zip(header, row, strict=True):
            cell = raw.strip()
            if cell == "" and name != YEAR:
                values[name] = None
            elif re.fullmatch(r"[0-9]+", cell):
                values[name] = int(cell)
            else:
                raise ValueError(f"{where}: {name} must be a whole number >= 0, found {raw!r}")
        year = values.pop(YEAR)
        assert year is not None
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(f"{where}: jaar {year} outside the supported {MIN_YEAR}-{MAX_YEAR}")
        if year in found:
            raise ValueError(f"{where}: year {year} already given on line {found[year][1]}")
        for source in {known[name].name: known[name] for name in values}.values():
            mine = {c: values.get(c) for c in source.sample.target_columns}
            if any(v is not None for v in mine.values()):
                source.sample.check(mine, where)
        found[year] = (values, line)
    if header is None:
        raise ValueError(f"{path}: empty targets file (expected a header starting with {YEAR})")
    if not found:
        raise ValueError(f"{path}: no target rows after the header")
    return found


def load_targets(*paths: Path) -> dict[int, Target]:
    """Read and validate targets tables, merged by year (a figure given twice for a year is refused).

    Raises ValueError naming the file and line on anything that cannot be generated exactly."""
    known = _known_columns()
    merged: dict[int, Target] = {}
    origin: dict[tuple[int, str], str] = {}
    for path in paths:
        for year, (values, line) in _read_table(Path(path), known).items():
            for name, value in values.items():
                if (year, name) in origin and value is not None:
                    raise ValueError(f"{path}:{line}: {name} of {year} is already given in {origin[year, name]}")
                if value is not None or name not in merged.get(year, {}):
                    merged.setdefault(year, {})[name] = value
                    origin[year, name] = f"{path}:{line}"
    return dict(sorted(merged.items()))


def _targets_of(source: Source, target: Target) -> Target | None:
    """The source's own targets of a year, or None if the year has none for it."""
    mine = {c: target.get(c) for c in source.sample.target_columns}
    return mine if any(v is not None for v in mine.values()) else None


# --- files --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FileFormat:
    encoding: str
    newline: str
    columns: tuple[str, ...]  # canonical names, EXTRA_COLUMN for the unknown one
    header: tuple[str, ...]
    quote_all: bool
    extra_value: str


def _file_name(source: str, key: int) -> str:
    """The name of the file with key `key`: export day * 2, + 1 for the day's correction file.
    Keys sort as the names do (`x_20200316.csv` < `x_20200316_correctie.csv` < `x_20200317.csv`)."""
    day = EPOCH + dt.timedelta(days=key // 2)
    return f"{source}_{day:%Y%m%d}{'_correctie' if key % 2 else ''}.csv"


def _file_format(source: Source, name: str, seed: int) -> _FileFormat:
    """The format of one file, drawn from `seed` and the file name alone."""
    rnd = random.Random(f"{seed}/{name}")
    year = int(name[len(source.name) + 1 : len(source.name) + 5])
    if year <= 2018:
        encoding = "cp1252" if rnd.random() < 0.93 else "utf-8"
    else:
        encoding = "utf-8-sig" if rnd.random() < 0.4 else "utf-8"
    newline = "\r\n" if rnd.random() < (0.85 if encoding == "cp1252" else 0.3) else "\n"
    columns = list(source.sample.columns)
    if rnd.random() < 0.03:
        columns = [c for c in columns if c not in source.sample.optional]
    if rnd.random() < 0.3:
        rnd.shuffle(columns)
    if rnd.random() < 0.12:
        columns.insert(rnd.randrange(len(columns) + 1), EXTRA_COLUMN)
    style = rnd.random()
    header: list[str] = []
    for column in columns:
        if style < 0.6:
            text = column
        elif style < 0.75:
            text = column.upper()
        elif style < 0.9:
            text = column.capitalize()
        else:
            text = rnd.choice([column, column.upper(), column.capitalize()])
            text = rnd.choice(["", " "]) + text + rnd.choice(["", " ", "  "])
        header.append(text)
    return _FileFormat(
        encoding=encoding,
        newline=newline,
        columns=tuple(columns),
        header=tuple(header),
        quote_all=rnd.random() < 0.05,
        extra_value=f"{rnd.randint(3, 5)}.{rnd.randint(0, 9)}",
    )


def _cell(column: str, fmt: _FileFormat) -> pl.Expr:
    value = pl.lit(fmt.extra_value) if column == EXTRA_COLUMN else pl.col(column)
    if not fmt.quote_all:
        return value
    return pl.when(value.str.starts_with('"')).then(value).otherwise(pl.lit('"') + value + pl.lit('"'))


def _file_text(rows: pl.DataFrame | None, fmt: _FileFormat) -> str:
    """The file's text; `rows` already in file order, values already quoted where needed."""
    header = ";".join(f'"{h}"' if fmt.quote_all else h for h in fmt.header)
    if rows is None or rows.height == 0:
        return header + fmt.newline
    line = pl.concat_str([_cell(c, fmt) for c in fmt.columns], separator=";")
    if rows["_cut"].any():  # an invalid row with a field too few
        line = pl.when(pl.col("_cut")).then(line.str.replace(r";[^;]*$", "")).otherwise(line)
    if (rows["_tail"] != "").any():  # an invalid row with a field too many
        line = line + pl.col("_tail")
    body = rows.select(line.str.join(fmt.newline)).item()
    return f"{header}{fmt.newline}{body}{fmt.newline}"


class _Writer:
    def __init__(self, out_dir: Path, seed: int, total: int, progress: Progress | None) -> None:
        self.out_dir = out_dir
        self.seed = seed
        self.total = total
        self.progress = progress
        self.done = 0
        self.files = 0
        self.rows: dict[str, int] = {}

    def step(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    def write(self, source: Source, keys: Sequence[int], rows: pl.DataFrame) -> pl.DataFrame:
        """Write the files `keys` (ascending) from `rows`; return the rows of later files."""
        # one stable sort (file, then time; ties keep the frame's order), then a slice per file
        ordered = rows.sort(pl.col("_fk") * (1 << 33) + pl.col("_ord"), maintain_order=True)
        fks = ordered["_fk"].to_numpy()
        starts = np.searchsorted(fks, np.asarray(keys, dtype=np.int64), side="left")
        ends = np.searchsorted(fks, np.asarray(keys, dtype=np.int64), side="right")
        done = int(ends[-1]) if len(keys) else 0
        if int((ends - starts).sum()) != done:
            raise AssertionError(f"{source.name}: rows for files outside the plan")

        def write_one(key: int, start: int, end: int) -> int:
            name = _file_name(source.name, key)
            fmt = _file_format(source, name, self.seed)
            data = _file_text(ordered.slice(start, end - start), fmt).encode(fmt.encoding)
            folder = self.out_dir / source.name / name[len(source.name) + 1 : len(source.name) + 5]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
            return end - start

        # files are independent and Polars releases the GIL: two threads keep two cores busy
        with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
            for n_rows in pool.map(write_one, keys, starts.tolist(), ends.tolist()):
                self.files += 1
                self.rows[source.name] = self.rows.get(source.name, 0) + n_rows
                self.step()
        return ordered.slice(done)


def _regular_keys(plans: Iterable[YearPlan]) -> set[int]:
    return {2 * day for plan in plans for day in range(plan.first_export, plan.last_export + 1)}


def _correction_keys(frame: pl.DataFrame, year: int, wanted: int) -> set[int]:
    """The year's correction files: those with rows, topped up to the planned number with header-only
    ones (at the end of the year), so that the number of files is known before drawing."""
    found = {int(k) for k in frame.select("_fk").filter(pl.col("_fk") % 2 == 1).unique()["_fk"].to_list()}
    day = eday(dt.date(year, 12, 31))
    while len(found) < wanted:
        found.add(2 * day + 1)
        day -= 1
    return found


README: Final = """\
Synthetic raw deliveries (generated by `pipeline generate`; not a delivery).

{folders}

The date in a name is the export day (a regular file holds the records of the day before); the
folder is the year of that export day. Format and rules: shared/spec/raw-data.md.
Personal data in these files is invented.
Years: {years}; seed: {seed}.
"""


def generate(
    targets: Path | Sequence[Path],
    out_dir: Path,
    seed: int = 2020,
    progress: Progress | None = None,
    closed: ClosedDays | None = None,
) -> GenerateSummary:
    """Write synthetic deliveries for every year and source in the targets tables into `out_dir`.

    The figures of `shared/spec/kpis.md` computed from the files equal the targets exactly; activity
    falls on the days each source's calendar has open (`closed`: the days the municipality is
    closed). `progress(done, total)` is called after each year drawn and each file written. Raises
    ValueError on a bad targets table and FileExistsError if `out_dir` already holds deliveries.
    """
    paths = [Path(targets)] if isinstance(targets, str | Path) else [Path(p) for p in targets]
    wanted = load_targets(*paths)
    out_dir = Path(out_dir)
    _refuse_filled(out_dir)
    seed_key = seed % (1 << 64)
    years = list(wanted)
    world = World.of(years, closed or ClosedDays())
    plans = {source.name: _plans(source, wanted) for source in SOURCES.values()}
    keys = {name: _regular_keys(p.values()) for name, p in plans.items()}
    total = len(years) + sum(map(len, keys.values())) + sum(p.corrections for ps in plans.values() for p in ps.values())
    writer = _Writer(out_dir, seed_key, total, progress)
    if progress is not None:
        progress(0, total)

    pending: dict[str, pl.DataFrame | None] = dict.fromkeys(plans)
    for year in years:
        drawn = {}
        for source in SOURCES.values():
            plan = plans[source.name].get(year)
            target = _targets_of(source, wanted[year])
            if plan is not None and target is not None:
                drawn[source.name] = source.sample.draw(year, target, plan, world.serving(source.calendar), seed_key)
        writer.step()
        for name, frame in drawn.items():
            source, plan = SOURCES[name], plans[name][year]
            keys[name] |= _correction_keys(frame, year, plan.corrections)
            before = pending[name]
            rows = frame if before is None else pl.concat([before, frame])
            # files the source's next year cannot add rows to are complete: write them, keep the rest
            later = [p.first_export for y, p in plans[name].items() if y > year]
            boundary = min(later) if later else None
            ready = sorted(k for k in keys[name] if boundary is None or k < 2 * boundary)
            pending[name] = writer.write(source, ready, rows)
            keys[name].difference_update(ready)
    for name, left in pending.items():
        if left is not None and left.height:
            raise AssertionError(f"{name}: {left.height} rows for files outside the plan")
    folders = "\n".join(f"{n}/<YYYY>/{n}_<YYYYMMDD>[_correctie].csv" for n in SOURCES if plans[n])
    readme = README.format(folders=folders, years=", ".join(map(str, years)), seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "README.txt").write_text(readme, encoding="utf-8")
    return GenerateSummary(years=tuple(years), files_written=writer.files, rows=writer.rows)


def _refuse_filled(out_dir: Path) -> None:
    for source in SOURCES.values():
        folder = out_dir / source.name
        if folder.exists() and any(p.is_file() for p in folder.rglob("*")):
            raise FileExistsError(f"{folder} already holds files; generate into an empty folder")


def _plans(source: Source, wanted: dict[int, Target]) -> dict[int, YearPlan]:
    """The files of each year the targets table gives figures of this source for."""
    mine = {y: t for y in wanted if (t := _targets_of(source, wanted[y])) is not None}
    return {y: source.sample.plan(y, t) for y, t in mine.items()}
