"""The plug-in contract: everything the generic pipeline knows of a source, and nothing more.

A source (`pipeline/sources/<name>/`) fills in one `Source`; landing, reading, staging, the
version rule, the figure driver, publishing, status, the report and the sample generator use only
what it declares here. Data names (tables, columns, values, definitions) are Dutch.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

import pandera.polars as pa
import polars as pl

from pipeline.core.calendar import DeliveryCalendar
from pipeline.core.reporting import ReportInput, Section
from pipeline.core.sampling import SampleProfile

PUBLISHED_TABLE = "kerncijfertabel"
PUBLISHED_TEXT = "tekst van het verslag"


@dataclass(frozen=True)
class Figure:
    """One figure a source computes for every local day, month and year.

    `expr` aggregates the source's prepared records of one period. Counts are `additive`: days add
    up to months and months to years, and a day without records in a month with records counts 0.
    `order` places the figure in `kerncijfers` (the published table first, then what the report
    text states, then the rest); `footnote` is printed under a table that shows the figure.
    `decimals` is 0 for whole numbers (counts, rounded percentages), else the figure is a float.
    """

    name: str
    expr: pl.Expr
    label: str
    definition: str
    order: int
    additive: bool = False
    decimals: int = 0
    published_in: str | None = None
    footnote: str | None = None


@dataclass(frozen=True)
class YearFigure:
    """A figure derived across years from the yearly figures (a change against the year before).

    `expr` is evaluated over the yearly figures, one row per year in order of `jaar`.
    """

    name: str
    expr: pl.Expr
    label: str
    definition: str
    order: int
    published_in: str | None = None
    decimals: int = 0
    footnote: str | None = None


AnyFigure = Figure | YearFigure


@dataclass(frozen=True)
class Breakdown:
    """A day-level table of counts per combination of values, behind the source's breakdown view.

    Grain: (datum, *keys), enforced by `model`. `free_text` columns hold values as delivered: values
    that look like personal data are masked when read, and values seen rarely in a year are grouped
    when published. `sums` are further additive columns (e.g. seconds waited).
    """

    table: str
    keys: tuple[str, ...]
    free_text: tuple[str, ...]
    model: type[pa.DataFrameModel]
    sums: tuple[pl.Expr, ...] = ()


@dataclass(frozen=True)
class Source:
    """One source system's deliveries and what the pipeline makes of them.

    - Files: `<raw>/<name>/.../<name>_<YYYYMMDD>[_<suffix>].csv` with the `required` columns;
      `personal` columns are read only to be hashed or dropped, never stored in clear.
    - Rows: `parse` turns trimmed text columns into the typed columns of `model`, the Pandera model
      of one raw row whose failures are the quarantine (`reasons` names the delivered column and the
      reason per failed check). `pseudonyms` are the model's columns that hold keyed hashes.
    - Versions: one record per `id_column`; the version last in `version_order` counts.
    - Days: `day` gives a record's local day; a day's figures look back `lookback_days` days.
    - Figures: `prepare` adds per-record flags (it also sees the look-back days), then `figures`
      aggregate per day, month and year, `year_figures` derive across years, and `breakdown` is
      the day table behind the breakdown view. `checks` must hold on every row of its figures.
    - Publishing: `views.sql` beside the source's module creates its views over schema `data`;
      `view_comments` and `column_comments` are their Dutch definitions; `report` writes its
      sections of the report.
    - Operations: `calendar` says on which days records are expected; `sample` draws deliveries.
    """

    name: str
    package: str
    system: str
    id_column: str
    required: tuple[str, ...]
    personal: tuple[str, ...]
    parse: Callable[[pl.DataFrame, bytes], pl.DataFrame]
    model: type[pa.DataFrameModel]
    reasons: dict[tuple[str, str], tuple[str, str]]
    version_order: tuple[str, ...]
    day: Callable[[], pl.Expr]
    figures: tuple[Figure, ...]
    breakdown: Breakdown
    calendar: DeliveryCalendar
    view_comments: dict[str, str]
    column_comments: dict[str, str]
    sample: SampleProfile
    report: Callable[[ReportInput], list[Section]]
    prepare: Callable[[pl.DataFrame], pl.DataFrame] = lambda records: records
    year_figures: tuple[YearFigure, ...] = ()
    checks: tuple[tuple[str, pl.Expr], ...] = ()
    lookback_days: int = 0
    pseudonyms: tuple[str, ...] = ()
    # Dates in time (spec/raw-data.md, applied to every row by `core.dates`): the model's columns that
    # record when something happened (`moments`: never after the end of the file's export day) and
    # its days that may lie ahead of it (`days_ahead`: by at most two years), each with the delivered
    # column the quarantine names. Every date and moment of the model is one or the other.
    moments: dict[str, str] = field(default_factory=dict)
    days_ahead: dict[str, str] = field(default_factory=dict)
    file_pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        pattern = re.compile(rf"^{re.escape(self.name)}_(\d{{8}})(_[^/]*)?\.csv$")
        object.__setattr__(self, "file_pattern", pattern)

    # Tables of the private state database and of the published file, named after the source.
    @property
    def versions_table(self) -> str:
        return f"{self.name}_versies"

    @property
    def current_table(self) -> str:
        return f"{self.name}_actueel"

    def figure_table(self, grain: str) -> str:
        return f"{self.name}_{grain}"

    @property
    def additive(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.figures if f.additive)

    @property
    def all_figures(self) -> tuple[AnyFigure, ...]:
        return (*self.figures, *self.year_figures)

    def views(self) -> str:
        """The source's CREATE VIEW statements, shipped beside its module as package data."""
        return resources.files(self.package).joinpath("views.sql").read_text(encoding="utf-8")


def polars_schema(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    """The Polars dtypes of a model's columns (for empty frames and table definitions)."""
    return {name: column.dtype.type for name, column in model.to_schema().columns.items()}
