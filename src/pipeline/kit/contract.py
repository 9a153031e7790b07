"""The plug-in contract: everything the generic pipeline knows of a source, and nothing more.

A source (`pipeline/sources/<name>/`) fills in one `Source`; landing, reading, staging, the
version rule, the figure driver, publishing, status, the report and the sample generator use only
what it declares here. Data names (tables, columns, values, definitions) are Dutch.

The contract checks itself: a `Source` that contradicts itself (a percentage declared as a sum, a
ratio of figures it does not have, a model rule without a reason, two figures with one name or one
order) is refused when it is made, and `registry` refuses sources that clash with each other (a
figure name or a sample stream used twice). Nothing is inferred from a name: a figure's unit, bounds,
type, aggregation and value on a day without records follow from what it declares.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from importlib import resources

import pandera.polars as pa
import polars as pl

from pipeline.core.calendar import WEEKDAYS, DeliveryCalendar
from pipeline.core.periods import PERIOD_COLUMNS
from pipeline.kit.reporting import ReportInput, Section
from pipeline.kit.sampling import SampleProfile

PUBLISHED_TABLE = "kerncijfertabel"
PUBLISHED_TEXT = "tekst van het verslag"
# Columns the reader adds to every row (the delivery and the line where the record starts).
READ_COLUMNS = ("bestand", "regel")


class ContractError(Exception):
    """A source's declarations contradict themselves or another source's; the message says where."""


class Kind(Enum):
    """What a published column holds, with the one DuckDB type for it (as `duckdb_columns()` names it)."""

    TEXT = "VARCHAR"
    FLAG = "BOOLEAN"
    WHOLE = "BIGINT"  # a count, a sum of whole seconds, a size, a line, a position
    PERIOD = "INTEGER"  # a year (jaar) or a month (maand)
    DAY = "DATE"
    MOMENT = "TIMESTAMP WITH TIME ZONE"
    FRACTIONAL = "DOUBLE"  # a figure that is not whole: a percentage, a mean, a median
    FIGURE_VALUE = "DECIMAL(18,1)"  # the value of any figure in a long table, exact at its decimals

    @property
    def sql(self) -> str:
        return self.value


# The kinds of a published column, by the names the sources' declarations use.
TEXT, FLAG, WHOLE = Kind.TEXT, Kind.FLAG, Kind.WHOLE

# Decimals a figure may have: an adopted value of any figure is kept exactly as Kind.FIGURE_VALUE.
MAX_DECIMALS = 1


@dataclass(frozen=True)
class Column:
    """A published column: its Dutch definition (the column comment) and what it holds."""

    definition: str
    kind: Kind


class Unit(Enum):
    """What a figure's number is: its name in `definities` and the bounds every value must keep."""

    COUNT = ("aantal", 0, None)
    PERCENT = ("procent", 0, 100)
    PERCENT_CHANGE = ("procentverandering", -100, None)  # a count cannot fall by more than all of it
    SECONDS = ("seconden", 0, None)
    COUNT_PER_DAY = ("aantal per dag", 0, None)

    def __init__(self, dutch: str, minimum: float | None, maximum: float | None) -> None:
        self.dutch = dutch
        self.minimum = minimum
        self.maximum = maximum


@dataclass(frozen=True)
class Sum:
    """The figure of a month or a year is the sum of its days' figures; a day without records is 0."""


@dataclass(frozen=True)
class Ratio:
    """`scale` x numerator / denominator of the same period, rounded half up to the figure's decimals;
    empty when the denominator is 0 or empty. Both are summed figures of the same source, so a ratio
    over any set of periods is: sum the numerators, sum the denominators, divide."""

    numerator: str
    denominator: str
    scale: int = 100


@dataclass(frozen=True)
class Recomputed:
    """Computed again from the records of every period: a median, a percentile, a count of distinct
    things. It cannot be added up or averaged from shorter periods; `what` says in Dutch what it is."""

    what: str


Aggregation = Sum | Ratio | Recomputed


@dataclass(frozen=True)
class Figure:
    """One figure a source computes for every local day, month and year.

    - `unit` gives its bounds and its name in `definities`; `decimals` its rounding (half up).
    - `aggregation` says how periods combine: `Sum()` (days add up to months and years), `Ratio(n, d)`
      (computed from two summed figures of the source, so it needs no `expr`) or `Recomputed(what)`.
      `expr` aggregates the source's prepared records of one period (not for a ratio).
    - The type follows: a sum or a count is a whole number (BIGINT), anything else a DOUBLE. On a
      day without records in a month with records, a sum or a count is 0 (nothing happened) and a
      ratio, mean or median is empty (nothing to divide).
    - `order` places the figure among its source's figures; where sources come is the registry's
      order. `kerncijfers` shows first what the municipality publishes in its table, then in its text,
      then each source's `headline` figures, then the rest. `footnote` goes under a printed table.
    """

    name: str
    label: str
    definition: str
    unit: Unit
    aggregation: Aggregation
    order: int
    expr: pl.Expr | None = None
    decimals: int = 0
    published_in: str | None = None
    headline: bool = False
    footnote: str | None = None

    def __post_init__(self) -> None:
        where = f"figure {self.name}"
        if isinstance(self.aggregation, Ratio):
            if self.expr is not None:
                raise ContractError(f"{where}: a ratio is computed from its numerator and denominator; give no expr")
            if self.unit is Unit.COUNT:
                raise ContractError(f"{where}: a ratio is not a count; declare its unit (percent, seconds, ...)")
        elif self.expr is None:
            raise ContractError(f"{where}: give the expr that computes it from a period's records")
        if isinstance(self.aggregation, Sum) and self.unit in (Unit.PERCENT, Unit.PERCENT_CHANGE, Unit.COUNT_PER_DAY):
            raise ContractError(
                f"{where}: a {self.unit.dutch} cannot be added up over days; declare it as a Ratio of two summed "
                "figures (or Recomputed)"
            )
        if self.whole and self.decimals:
            raise ContractError(f"{where}: a sum or a count is a whole number; it cannot have {self.decimals} decimals")
        _check_figure_text(where, self.label, self.definition, self.decimals)

    @property
    def whole(self) -> bool:
        """A whole number (BIGINT): what is summed or counted."""
        return isinstance(self.aggregation, Sum) or self.unit is Unit.COUNT

    @property
    def dtype(self) -> type[pl.DataType]:
        return pl.Int64 if self.whole else pl.Float64

    @property
    def kind(self) -> Kind:
        return Kind.WHOLE if self.whole else Kind.FRACTIONAL

    @property
    def on_empty_day(self) -> int | None:
        """Its value on a day without records in a month with records."""
        return 0 if self.whole else None


@dataclass(frozen=True)
class YearFigure:
    """A figure derived across years from the yearly figures (a change against the year before).

    `expr` is evaluated over the yearly figures, one row per year in order of `jaar`; there is no such
    figure per month or day, and it cannot be combined across years. Always a DOUBLE.
    """

    name: str
    expr: pl.Expr
    label: str
    definition: str
    unit: Unit
    order: int
    decimals: int = 0
    published_in: str | None = None
    headline: bool = False
    footnote: str | None = None

    def __post_init__(self) -> None:
        _check_figure_text(f"figure {self.name}", self.label, self.definition, self.decimals)
        if self.unit is Unit.COUNT:
            raise ContractError(f"figure {self.name}: a figure derived across years is not a count")

    @property
    def whole(self) -> bool:
        return False

    @property
    def dtype(self) -> type[pl.DataType]:
        return pl.Float64

    @property
    def kind(self) -> Kind:
        return Kind.FRACTIONAL


AnyFigure = Figure | YearFigure


def _check_figure_text(where: str, label: str, definition: str, decimals: int) -> None:
    if not label.strip() or not definition.strip():
        raise ContractError(f"{where}: a published figure needs its label and its definition")
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ContractError(
            f"{where}: {decimals} decimals; a figure has 0 to {MAX_DECIMALS}, which adopted figures keep exactly "
            f"({Kind.FIGURE_VALUE.sql}): widen both together"
        )


def placement(figure: AnyFigure) -> int:
    """Where a figure's group comes in `kerncijfers`: published in the table, in the text, a source's
    headline figure, the rest."""
    if figure.published_in == PUBLISHED_TABLE:
        return 0
    if figure.published_in is not None:
        return 1
    return 2 if figure.headline else 3


@dataclass(frozen=True)
class Breakdown:
    """A day-level table of counts per combination of values, behind the source's breakdown view.

    Grain: (datum, *keys), enforced by `model`. `free_text` columns hold values as delivered: values
    that look like personal data are masked when read, and values seen rarely in a year are grouped
    when published. `sums` are further additive columns (e.g. seconds waited). `flags` are columns
    derived from the keys that are not free text, added when published (e.g. whether a call counts for
    the municipality: the same expression its figures count with). Its table in the state database
    is `<bron>_uitsplitsing_dag`, its published view `<bron>_uitsplitsing` (see `Source`).
    """

    keys: tuple[str, ...]
    free_text: tuple[str, ...]
    model: type[pa.DataFrameModel]
    sums: tuple[pl.Expr, ...] = ()
    flags: tuple[pl.Expr, ...] = ()


class Rule(StrEnum):
    """A field rule of a raw-row model, by what it guards; the value is Pandera's name for it, which
    only the contract uses. A model's own checks are named by the model (`@pa.check(name=...)`)."""

    REQUIRED = "not_nullable"  # a value must be there (parsing leaves null what it cannot read)
    ALLOWED = "isin"
    NOT_ALLOWED = "notin"
    LENGTH = "str_length"
    PATTERN = "str_matches"
    MINIMUM = "greater_than_or_equal_to"
    ABOVE = "greater_than"
    MAXIMUM = "less_than_or_equal_to"
    BELOW = "less_than"
    RANGE = "in_range"


@dataclass(frozen=True)
class Reason:
    """Why the quarantine holds a row: when one of `rules` fails on the model's `column`, the row is
    invalid in the delivery's column `delivered`, for `text` (Dutch, for the people who fix the
    delivery). `rules` are `Rule`s or the names of the model's own checks on that column."""

    delivered: str
    column: str
    rules: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class VersionRule:
    """Which version of a record counts, among those with one id.

    The one with the latest `latest` (columns of the model, compared in order); a tie goes to the
    delivery whose file name (without folders) sorts last in byte order, then to the later path below
    the landing folder, then to the later line of the same file. Without `latest`, the file decides.
    """

    latest: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of a staged version the rule reads."""
        return tuple(dict.fromkeys([*self.latest, *READ_COLUMNS]))


@dataclass(frozen=True)
class Rows:
    """What one row of a source's deliveries is, declared beside its parser (`sources/<name>/parse.py`).

    The file has the `required` columns; `personal` columns are read only to be hashed or dropped,
    never stored in clear. `parse` turns trimmed text columns into the typed columns of `model`, the
    Pandera model of one raw row whose failures are the quarantine: every rule of the model on a
    delivered value has its `Reason`. A record is one `id_column` (another source may use the same
    name)."""

    id_column: str
    required: tuple[str, ...]
    personal: tuple[str, ...]
    parse: Callable[[pl.DataFrame, bytes], pl.DataFrame]
    model: type[pa.DataFrameModel]
    reasons: tuple[Reason, ...]


# Compared and hashed by identity: a source is one registered object, and what is derived from it once
# per process (its empty figure tables, its schemas) is kept under it (`functools.cache`).
@dataclass(frozen=True, eq=False)
class Source:
    """One source system's deliveries and what the pipeline makes of them.

    - Files: `<raw>/<name>/.../<name>_<YYYYMMDD>[_<suffix>].csv`; `description` names the system in
      Dutch; `system` (in `definities`) follows from it.
    - Rows: `rows` (`Rows`) says what a delivered row is and how it is parsed and checked.
      `pseudonyms` are the model's columns that hold keyed hashes.
    - Versions: one record per `rows.id_column`; `versions` says which version counts.
    - Days: `day` gives a record's local day; a day's figures look back `lookback_days` days.
    - Figures: `prepare` adds per-record flags (it also sees the look-back days), then `figures`
      aggregate per day, month and year, `year_figures` derive across years, and `breakdown` is
      the day table behind the breakdown view. `checks` must hold on every row of its figures.
    - Publishing: `views.sql` in the source's package (`pipeline.sources.<name>`) says what its
      published tables hold, as views over schema `data`, each named `<name>_...`; `view_comments`
      defines each, and `view_columns` every column of them (definition and kind) except those in
      `generic_columns`, which take the shared definition (`datum`, `jaar`, `maand`). A column without
      a definition refuses the run before it writes anything. `report` writes its report sections.
    - Operations: `calendar` says on which days records are expected (weekdays but the days the
      municipality is closed, unless given); `sample` draws deliveries.
    """

    name: str
    description: str
    rows: Rows
    versions: VersionRule
    day: Callable[[], pl.Expr]
    figures: tuple[Figure, ...]
    breakdown: Breakdown
    view_comments: dict[str, str]
    view_columns: dict[str, Column]
    sample: SampleProfile
    report: Callable[[ReportInput], list[Section]]
    generic_columns: tuple[str, ...] = ("datum", "jaar", "maand")
    calendar: DeliveryCalendar = WEEKDAYS
    prepare: Callable[[pl.DataFrame], pl.DataFrame] = lambda records: records
    year_figures: tuple[YearFigure, ...] = ()
    checks: tuple[tuple[str, pl.Expr], ...] = ()
    lookback_days: int = 0
    pseudonyms: tuple[str, ...] = ()
    # Dates in time (spec/raw-data.md, applied to every row by `kit.dates`): the model's columns that
    # record when something happened (`moments`: never after the end of the file's export day) and
    # its days that may lie ahead of it (`days_ahead`: by at most two years), each with the delivered
    # column the quarantine names. Every date and moment of the model is one or the other.
    moments: dict[str, str] = field(default_factory=dict)
    days_ahead: dict[str, str] = field(default_factory=dict)
    file_pattern: re.Pattern[str] = field(init=False)
    reason_of: dict[tuple[str, str], tuple[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9]*", self.name):
            raise ContractError(f"source {self.name!r}: a name is lower-case letters and digits (a folder, a prefix)")
        pattern = re.compile(rf"^{re.escape(self.name)}_(\d{{8}})(_[^/]*)?\.csv$")
        object.__setattr__(self, "file_pattern", pattern)
        object.__setattr__(self, "reason_of", _reasons(self))
        _check_figures(self)
        _check_columns(self)

    @property
    def package(self) -> str:
        return f"pipeline.sources.{self.name}"

    @property
    def system(self) -> str:
        """The source system as `definities` names it."""
        return f"{self.name}: {self.description} ({self.name}_*.csv)"

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
    def breakdown_table(self) -> str:
        return f"{self.name}_uitsplitsing_dag"

    @property
    def breakdown_view(self) -> str:
        return f"{self.name}_uitsplitsing"

    @property
    def additive(self) -> tuple[str, ...]:
        """The figures that days add up to months and months to years."""
        return tuple(f.name for f in self.figures if isinstance(f.aggregation, Sum))

    @property
    def all_figures(self) -> tuple[AnyFigure, ...]:
        return (*self.figures, *self.year_figures)

    def views(self) -> str:
        """The source's CREATE VIEW statements, shipped beside its module as package data."""
        return resources.files(self.package).joinpath("views.sql").read_text(encoding="utf-8")

    def column(self, view: str, column: str) -> Column | None:
        """The source's own definition of a column of one of its views; None for a generic column."""
        if column in self.view_columns:
            return self.view_columns[column]
        if column in self.generic_columns:
            return None
        raise ContractError(
            f"source {self.name}: column {column} of view {view} has no definition; add it to view_columns "
            "(or to generic_columns, to take the shared one)"
        )


def _duplicates(names: Iterable[object]) -> list[object]:
    return [name for name, n in Counter(names).items() if n > 1]


def _reasons(source: Source) -> dict[tuple[str, str], tuple[str, str]]:
    """Every rule of the raw-row model with its reason, keyed as Pandera reports a failure: refused
    unless each rule on a delivered value has exactly one reason and each reason a rule."""
    where = f"source {source.name}"
    schema = source.rows.model.to_schema()
    if schema.checks:
        names = ", ".join(c.name for c in schema.checks)
        raise ContractError(
            f"{where}: {source.rows.model.__name__} has checks on the whole row ({names}); declare them on the column "
            "whose value is wrong, so that the quarantine can name it"
        )
    rules = {
        (name, rule)
        for name, column in schema.columns.items()
        if name not in READ_COLUMNS
        for rule in ([] if column.nullable else [Rule.REQUIRED.value]) + [check.name for check in column.checks]
    }
    declared: dict[tuple[str, str], tuple[str, str]] = {}
    for reason in source.rows.reasons:
        if reason.delivered not in source.rows.required:
            raise ContractError(f"{where}: reason {reason.text!r} is about {reason.delivered}, not a delivered column")
        if not reason.text.strip() or not reason.rules:
            raise ContractError(f"{where}: the reason for {reason.delivered} needs a text and the rules it explains")
        for rule in reason.rules:
            key = (reason.column, str(rule))
            if key not in rules:
                raise ContractError(
                    f"{where}: reason {reason.text!r}: {source.rows.model.__name__}.{key[0]} has no rule {key[1]}"
                )
            if key in declared:
                raise ContractError(f"{where}: two reasons for rule {key[1]} of {key[0]}")
            declared[key] = (reason.delivered, reason.text)
    missing = sorted(rules - set(declared))
    if missing:
        shown = ", ".join(f"{column} {rule}" for column, rule in missing)
        raise ContractError(
            f"{where}: rules of {source.rows.model.__name__} without a reason for the quarantine: {shown}"
        )
    return declared


def _check_figures(source: Source) -> None:
    where = f"source {source.name}"
    names = [f.name for f in source.all_figures]
    if twice := _duplicates(names):
        raise ContractError(f"{where}: figure name used twice: {', '.join(map(str, twice))}")
    if twice := _duplicates(f.order for f in source.all_figures):
        raise ContractError(f"{where}: figure order used twice: {', '.join(map(str, twice))}")
    periods = {column for columns in PERIOD_COLUMNS.values() for column in columns}
    if clash := sorted(periods & set(names)):
        raise ContractError(f"{where}: a figure cannot be named like a period column: {', '.join(clash)}")
    summed = {f.name: f for f in source.figures if isinstance(f.aggregation, Sum)}
    for figure in source.figures:
        if isinstance(figure.aggregation, Ratio):
            for part in (figure.aggregation.numerator, figure.aggregation.denominator):
                if part not in summed:
                    raise ContractError(
                        f"{where}: ratio {figure.name} needs {part} as a summed figure of the same source "
                        "(Sum), so that it re-aggregates over any periods"
                    )
    for name, _ in source.checks:
        if not name:
            raise ContractError(f"{where}: a figure check needs a name")


def _check_columns(source: Source) -> None:
    where = f"source {source.name}"
    model = set(source.rows.model.to_schema().columns)
    for column in (source.rows.id_column, *source.versions.latest, *source.pseudonyms, *READ_COLUMNS):
        if column not in model:
            raise ContractError(f"{where}: {column} is not a column of {source.rows.model.__name__}")
    if twice := _duplicates(source.rows.required):
        raise ContractError(f"{where}: delivered column named twice: {', '.join(map(str, twice))}")
    own = [v for v in source.view_comments if not v.startswith(f"{source.name}_")]
    if own:
        raise ContractError(f"{where}: views are named after their source ({source.name}_...): {', '.join(own)}")
    if source.breakdown_view not in source.view_comments:
        raise ContractError(f"{where}: define the breakdown view {source.breakdown_view} in view_comments")
    if both := sorted(set(source.view_columns) & set(source.generic_columns)):
        raise ContractError(f"{where}: {', '.join(both)} both defined and taken from the shared definitions")


def registry(*sources: Source) -> dict[str, Source]:
    """The sources by name, in the order their figures and report sections come; refused when two
    clash: a name, a figure name, a published view or a sample's random stream used twice."""
    checks: list[tuple[str, list[object]]] = [
        ("source", [s.name for s in sources]),
        ("figure name", [f.name for s in sources for f in s.all_figures]),
        ("view", [v for s in sources for v in s.view_comments]),
        ("sample random stream", [s.sample.stream for s in sources]),
    ]
    for what, values in checks:
        if twice := _duplicates(values):
            raise ContractError(f"{what} used by two sources: {', '.join(map(str, twice))}")
    return {source.name: source for source in sources}


def polars_schema(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    """The Polars dtypes of a model's columns (for empty frames and table definitions)."""
    return {name: column.dtype.type for name, column in model.to_schema().columns.items()}
