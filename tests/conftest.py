"""Helpers for end-to-end tests: write deliveries as the source systems do, run the pipeline, read views.

Everything is real: files on disk in a landing folder, the pipeline's own DuckDB files, no mocks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from pipeline.core.periods import Partitions
from pipeline.core.settings import Settings
from pipeline.kit.contract import Source, polars_schema
from pipeline.run import RunSummary, run
from pipeline.run.figures import compute
from pipeline.sources import SOURCES

PII_KEY = "test-key-" + "k" * 32
# Golden cases hold a handful of rows: every breakdown value is "rare" by the default threshold,
# so they publish values as they are (the grouping of rare values has tests of its own), and read in
# this process (the process pool has tests of its own).
TINY: dict[str, Any] = {"rare_below": 1, "workers": 1}
CALL_COLUMNS = ("gesprek_id", "starttijd", "nummer", "keuze", "wachtrij", "afhandeling", "wachttijd", "gespreksduur")
APPT_COLUMNS = ("afspraak_id", "locatie", "kanaal", "product", "datum", "tijd", "status", "gewijzigd")
CASE_COLUMNS = ("zaak_id", "zaaktype", "kanaal", "status", "afgerond_op", "gewijzigd")
CALL_HEADER = ";".join((*CALL_COLUMNS, "beller"))
APPT_HEADER = ";".join((*APPT_COLUMNS, "bsn", "naam", "telefoon", "email"))
CASE_HEADER = ";".join((*CASE_COLUMNS, "bsn", "naam", "adres"))
# Headers of deliveries without the optional personal-data columns.
CALL_HEADER_NO_PII = ";".join(CALL_COLUMNS)
APPT_HEADER_NO_PII = ";".join(APPT_COLUMNS)
CASE_HEADER_NO_PII = ";".join(CASE_COLUMNS)
# Columns of the published views that record when something happened, not what the data says.
TIME_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")


def call(
    gesprek_id: str,
    starttijd: str,
    nummer: str = "14030",
    keuze: str = "Utrecht",
    afhandeling: str = "beantwoord",
    wachttijd: str = "30",
    gespreksduur: str | None = None,
    wachtrij: str = "Algemeen",
    beller: str = "",
) -> str:
    """One call-detail line in the platform's column order (CALL_HEADER).

    `gespreksduur` defaults to 120 s for an answered call and 0 otherwise, as the agreement requires.
    """
    if gespreksduur is None:
        gespreksduur = "120" if afhandeling.strip().lower() == "beantwoord" else "0"
    return ";".join((gesprek_id, starttijd, nummer, keuze, wachtrij, afhandeling, wachttijd, gespreksduur, beller))


def appointment(
    afspraak_id: str,
    datum: str,
    status: str = "verschenen",
    gewijzigd: str = "2020-01-01T08:00:00+01:00",
    locatie: str = "Stadskantoor",
    kanaal: str = "balie",
    product: str = "Paspoort",
    tijd: str = "10:00",
    bsn: str = "",
    naam: str = "",
    telefoon: str = "",
    email: str = "",
) -> str:
    """One appointment-version line in the appointment system's column order (APPT_HEADER)."""
    return ";".join((afspraak_id, locatie, kanaal, product, datum, tijd, status, gewijzigd, bsn, naam, telefoon, email))


def case(
    zaak_id: str,
    afgerond_op: str,
    zaaktype: str = "reisdocument",
    kanaal: str = "thuisbezorgd",
    status: str | None = None,
    gewijzigd: str | None = None,
    bsn: str = "",
    naam: str = "",
    adres: str = "",
) -> str:
    """One case-version line in the case system's column order (CASE_HEADER).

    `status` defaults to afgerond when `afgerond_op` is filled and aangevraagd when it is empty, and
    `gewijzigd` to the completion moment (else 1 Jan 2020 08:00 local), as the agreement requires.
    """
    if status is None:
        status = "afgerond" if afgerond_op.strip() else "aangevraagd"
    if gewijzigd is None:
        gewijzigd = afgerond_op if afgerond_op.strip() else "2020-01-01T08:00:00+01:00"
    return ";".join((zaak_id, zaaktype, kanaal, status, afgerond_op, gewijzigd, bsn, naam, adres))


def utrecht_calls(
    year: int, total: int, answered: int = 0, via_14030: int | None = None, prefix: str = ""
) -> list[str]:
    """`total` Utrecht calls on 1 July of `year`, the first `answered` answered, the first `via_14030` on 14030."""
    via_14030 = total if via_14030 is None else via_14030
    return [
        call(
            f"{prefix}{year}-{i}",
            f"{year}-07-01T{8 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}+02:00",
            nummer="14030" if i < via_14030 else "0302860000",
            keuze="Utrecht" if i < via_14030 else "",
            afhandeling="beantwoord" if i < answered else "verbroken",
        )
        for i in range(total)
    ]


# Invalid-row cases: each case n is a file of its own with one good row and the invalid one, both on
# day n counted from 1 Feb 2020, so that all cases of a source share one run and still say which row
# counted. In a case's line `{id}`, `{day}` (yyyy-mm-dd) and `{dmy}` (dd-mm-yyyy) are filled in.
def invalid_day(n: int) -> dt.date:
    return dt.date(2020, 2, 1) + dt.timedelta(days=n)


def fill_invalid(line: str, n: int) -> str:
    day = invalid_day(n)
    return line.replace("{id}", f"bad-{n}").replace("{day}", day.isoformat()).replace("{dmy}", f"{day:%d-%m-%Y}")


def delivery_bytes(header: str, lines: Iterable[str], encoding: str = "utf-8", newline: str = "\n") -> bytes:
    """A delivery as a source system writes it: header, lines, each ended by `newline`, in `encoding`."""
    return "".join(f"{line}{newline}" for line in (header, *lines)).encode(encoding)


@dataclass
class Published:
    """The BI file a run published, read the way a BI tool reads it (read-only)."""

    path: Path
    summary: RunSummary

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return con.sql(sql, params=list(params) if params else None).pl()
        finally:
            con.close()

    def frame(self, view: str) -> pl.DataFrame:
        return self.query(f"SELECT * FROM {view}")

    def rows(self, view: str) -> list[dict[str, Any]]:
        return self.frame(view).to_dicts()

    def year(self, jaar: int) -> dict[str, Any]:
        found = self.frame("kerncijfers").filter(pl.col("jaar") == jaar).to_dicts()
        assert len(found) == 1, f"no single kerncijfers row for {jaar}: {found}"
        return found[0]

    def years(self, column: str) -> dict[int, Any]:
        return {r["jaar"]: r[column] for r in self.rows("kerncijfers")}

    def day(self, datum: dt.date) -> dict[str, Any]:
        found = self.frame("kerncijfers_dag").filter(pl.col("datum") == datum).to_dicts()
        assert len(found) == 1, f"no single kerncijfers_dag row for {datum}"
        return found[0]

    def delivery(self, bestand: str) -> dict[str, Any]:
        found = [r for r in self.rows("leveringen") if r["bestand"] == bestand]
        assert len(found) == 1, f"{bestand} not once in leveringen: {self.rows('leveringen')}"
        return found[0]

    def quarantine(self, bestand: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.rows("quarantaine") if bestand is None or r["bestand"] == bestand]


@dataclass
class Landing:
    """A landing folder and warehouse in a temporary directory."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def warehouse(self) -> Path:
        return self.root / "wh" / "kerncijfers.duckdb"

    def write(self, rel: str, data: bytes) -> Path:
        path = self.raw / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def calls(
        self, rel: str, *lines: str, header: str = CALL_HEADER, encoding: str = "utf-8", newline: str = "\n"
    ) -> Path:
        return self.write(rel, delivery_bytes(header, lines, encoding, newline))

    def appointments(
        self, rel: str, *lines: str, header: str = APPT_HEADER, encoding: str = "utf-8", newline: str = "\n"
    ) -> Path:
        return self.write(rel, delivery_bytes(header, lines, encoding, newline))

    def cases(
        self, rel: str, *lines: str, header: str = CASE_HEADER, encoding: str = "utf-8", newline: str = "\n"
    ) -> Path:
        return self.write(rel, delivery_bytes(header, lines, encoding, newline))

    def settings(self, max_invalid_share: float = 0.05, **extra: Any) -> Settings:
        return Settings(
            raw_dir=self.raw,
            warehouse=self.warehouse,
            pii_key=PII_KEY,
            max_invalid_share=max_invalid_share,
            **(TINY | extra),
        )

    def run(
        self, kind: str = "backfill", years: Iterable[int] | None = None, max_invalid_share: float = 0.05
    ) -> Published:
        self.raw.mkdir(parents=True, exist_ok=True)
        summary = run(self.settings(max_invalid_share), kind, years)
        return Published(self.warehouse, summary)


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    return Landing(tmp_path)


def relation_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table and view of every schema of the open database, qualified."""
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()
    views = con.execute(
        "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal"
    ).fetchall()
    return [f'"{schema}"."{name}"' for schema, name in (*tables, *views)]


def all_text(path: Path) -> str:
    """Every value, column name and comment of every table and view in a DuckDB file, as one text."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        parts = []
        for relation in relation_names(con):
            frame = con.sql(f"SELECT * FROM {relation}").pl()
            parts.append(relation + " " + " ".join(frame.columns))
            parts.extend(str(v) for column in frame.columns for v in frame[column].to_list())
        parts.extend(str(c) for (c,) in con.execute("SELECT comment FROM duckdb_columns()").fetchall())
        return "\n".join(parts)
    finally:
        con.close()


def view_contents(path: Path, skip: Iterable[str] = ("runs", "meldingen")) -> dict[str, list[tuple[Any, ...]]]:
    """Every published table's rows as a sorted list, leaving out columns that record when a run happened."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        views = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT internal"
            ).fetchall()
            if name not in set(skip)
        ]
        contents = {}
        for view in sorted(views):
            columns = [
                name
                for name, dtype in con.execute(
                    "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main'",
                    [view],
                ).fetchall()
                if dtype not in TIME_TYPES
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(f"SELECT {select} FROM {view}").fetchall()
            contents[view] = sorted(rows, key=repr)
        return contents
    finally:
        con.close()


def settings_for(tmp: Path, **extra: Any) -> Settings:
    """Settings for a landing folder `tmp/raw` and a warehouse `tmp/wh/w.duckdb`."""
    return Settings(raw_dir=tmp / "raw", warehouse=tmp / "wh" / "w.duckdb", pii_key=PII_KEY, **(TINY | extra))


def write(path: Path, header: str, lines: Iterable[str], encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(delivery_bytes(header, lines, encoding, newline))
    return path


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(warehouse: Path, query: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """A query's result over a published warehouse, read-only, as dicts."""
    return Published(warehouse, RunSummary("-", "-", dt.datetime.now(dt.UTC))).query(query, params).to_dicts()


# What a BI user reads as figures: not the run ledger or the delivery timestamps.
FIGURE_VIEWS = (
    "kerncijfers",
    "kerncijfers_maand",
    "kerncijfers_dag",
    "telefonie_uitsplitsing",
    "afspraken_uitsplitsing",
    "quarantaine",
)


def figures(warehouse: Path) -> dict[str, list[dict[str, Any]]]:
    return {view: rows(warehouse, f"SELECT * FROM {view}") for view in FIGURE_VIEWS}


# --- figures without DuckDB: a source's current records built by hand, its figure driver run on them ---


def current_records(source: str, rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """A source's current records as its state table holds them: the model's columns, typed (times as
    ISO 8601 text with offset, days as yyyy-mm-dd), columns not given null, and the local day in `datum`."""
    src = SOURCES[source]
    schema = polars_schema(src.model)
    typed = []
    for line, row in enumerate(rows, start=2):
        values: dict[str, Any] = {"bestand": f"{source}/{source}_20200101.csv", "regel": line}
        for name, value in row.items():
            kind = schema[name]
            if isinstance(value, str) and isinstance(kind, pl.Datetime):
                value = dt.datetime.fromisoformat(value)
            elif isinstance(value, str) and kind == pl.Date:
                value = dt.date.fromisoformat(value)
            elif isinstance(value, str) and kind == pl.Time:
                value = dt.time.fromisoformat(value)
            values[name] = value
        typed.append(values)
    frame = pl.DataFrame(typed, schema=schema)
    return frame.with_columns(src.day().alias("datum"))


@dataclass
class FigureRows:
    """The figure driver's rows of one source for some partitions, by grain, plus its breakdown."""

    source: Source
    dag: pl.DataFrame
    maand: pl.DataFrame
    jaar: pl.DataFrame
    uitsplitsing: pl.DataFrame

    def day(self, datum: dt.date) -> dict[str, Any]:
        found = self.dag.filter(pl.col("datum") == datum).to_dicts()
        assert len(found) == 1, f"no single day row for {datum}: {self.dag}"
        return found[0]

    def month(self, jaar: int, maand: int) -> dict[str, Any]:
        found = self.maand.filter((pl.col("jaar") == jaar) & (pl.col("maand") == maand)).to_dicts()
        assert len(found) == 1, f"no single month row for {jaar}-{maand}: {self.maand}"
        return found[0]

    def year(self, jaar: int) -> dict[str, Any]:
        found = self.jaar.filter(pl.col("jaar") == jaar).to_dicts()
        assert len(found) == 1, f"no single year row for {jaar}: {self.jaar}"
        return found[0]

    def years(self, column: str) -> dict[int, Any]:
        """A figure per year, with the figures derived across years added as publishing adds them."""
        derived = self.jaar.sort("jaar").with_columns(f.expr.alias(f.name) for f in self.source.year_figures)
        return {r["jaar"]: r[column] for r in derived.to_dicts()}


def figure_rows(source: str, records: pl.DataFrame, days: Iterable[dt.date]) -> FigureRows:
    """`pipeline.run.figures.compute` (the figure driver, with the figure models' checks) on hand-made
    current records, for the partitions of `days`."""
    src = SOURCES[source]
    parts = {p.table: p.frame for p in compute(src, records, Partitions.of(days))}
    return FigureRows(
        src,
        dag=parts[src.figure_table("dag")],
        maand=parts[src.figure_table("maand")],
        jaar=parts[src.figure_table("jaar")],
        uitsplitsing=parts[src.breakdown_table],
    )


def days_of(*years: int) -> list[dt.date]:
    """Every day of the given years."""
    first = dt.date(min(years), 1, 1)
    return [d for i in range(366 * (max(years) - min(years) + 1)) if (d := first + dt.timedelta(days=i)).year in years]
