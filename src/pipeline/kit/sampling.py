"""Tools for drawing sample deliveries: the contract a source's sample profile fills in, and its helpers.

A source's profile (`pipeline/sources/<name>/sample.py`) draws one year of records whose figures
equal that year's targets exactly, as the text rows of its deliveries with the noise real exports
have. The generator (`pipeline.sample`) plans the files, calls the profiles and writes the files.

Conventions of a drawn frame (what `draw` returns): one row per delivered line, the text columns of
the source's file (values already quoted where needed), and `_fk` (file key: export day x 2, + 1 for
the day's correction file), `_ord` (order within a file), `_tail` (extra text after the last field,
for a row with a field too many) and `_cut` (a row with a field too few): `DRAWN`.

Before `finish` and `invalid_rows`, a profile's frame also has `_eday` (export day), `_corr` (a
correction file's row), `_regular` (a row of its day's regular export: the invalid rows go among
those) and `_kind` (1 for a row whose values make a good template for an invalid row, such as a
counted call): `TO_FINISH`. Both are checked, with a message that names what is missing.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl

from pipeline.core.calendar import WEEKDAYS, ClosedDays, DeliveryCalendar
from pipeline.core.periods import LOCAL_TZ
from pipeline.core.settings import Settings

TZ: Final = ZoneInfo(LOCAL_TZ)
EPOCH: Final = dt.date(1970, 1, 1)
DAY: Final = 86_400

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

Target = dict[str, int | None]

DRAWN: Final = ("_fk", "_ord", "_tail", "_cut")
# The kinds of invalid row that `invalid_rows` makes from any row itself: a field too many, too few.
TOO_MANY_FIELDS: Final = "te veel velden"
TOO_FEW_FIELDS: Final = "te weinig velden"
RAGGED: Final = (TOO_MANY_FIELDS, TOO_FEW_FIELDS)
TO_FINISH: Final = ("_eday", "_corr", "_ord", "_regular", "_kind")
# A file takes an invalid row only if that one row keeps it below the share of invalid rows at which
# a delivery is rejected whole (by default 5 %: 20 valid rows and one invalid, 4.8 %).
_DEFAULT_SHARE: float = Settings.model_fields["max_invalid_share"].default
MIN_ROWS_FOR_INVALID: Final = int(1 / _DEFAULT_SHARE)

# Monthly shape of a year (index 1-12), shared by every service; the last days of December are quiet.
SEASON: Final = np.array([0.0, 1.0, 1.05, 1.05, 1.0, 1.0, 1.0, 0.8, 0.72, 1.05, 1.05, 1.0, 0.9])


@dataclass(frozen=True)
class YearPlan:
    """The files a source needs for one year, known before drawing: regular export days (epoch days,
    inclusive) and the number of correction files."""

    first_export: int
    last_export: int
    corrections: int


def year_plan(year: int, lead_days: int, corrections: int) -> YearPlan:
    """The regular exports of a source whose records are exported the day after they are made: from
    the day after the earliest (up to `lead_days` days before the year: bookings, requests) to
    2 January after the year (the last records of 31 December)."""
    return YearPlan(
        first_export=eday(dt.date(year, 1, 1)) - lead_days + 1,
        last_export=eday(dt.date(year + 1, 1, 1)) + 1,
        corrections=corrections,
    )


class SampleProfile(Protocol):
    """How the generator draws one source's deliveries.

    `stream` numbers the source's random stream (`rng_for`): no two sources share one, so that one
    source's draw never changes with another's (the registry refuses a clash). `example` is a small
    year's targets (a few thousand records) that the standard tests of every source generate, read
    and check."""

    stream: int
    example: Target
    # columns of the targets table this source reproduces; a year without them has no deliveries
    target_columns: tuple[str, ...]
    # the file's columns in the system's order, those some exports leave out, and free text
    columns: tuple[str, ...]
    optional: tuple[str, ...]

    def check(self, target: Target, where: str) -> None:
        """Raise ValueError (starting with `where`) if the target cannot be generated exactly."""

    def plan(self, year: int, target: Target) -> YearPlan: ...

    def draw(self, year: int, target: Target, plan: YearPlan, world: World, seed: int) -> pl.DataFrame:
        """The year's rows (see the module's conventions, `DRAWN`), with invalid rows and noise; `world`
        has the source's calendar."""


def eday(day: dt.date) -> int:
    return (day - EPOCH).days


def _utcoffset(t: int) -> int:
    offset = dt.datetime.fromtimestamp(t, TZ).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


class Tz:
    """Europe/Amsterdam offsets as a table of transitions, for vectorised conversions."""

    def __init__(self, first_year: int, last_year: int) -> None:
        start = (eday(dt.date(first_year, 1, 1)) - 2) * DAY
        end = (eday(dt.date(last_year + 1, 1, 1)) + 2) * DAY
        moments = [start]
        offsets = [_utcoffset(start)]
        for t in range(start, end, DAY):
            new = _utcoffset(t + DAY)
            if new != offsets[-1]:
                lo, hi = t, t + DAY  # offset(lo) is the old one, offset(hi) the new one
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if _utcoffset(mid) == offsets[-1]:
                        lo = mid
                    else:
                        hi = mid
                moments.append(hi)
                offsets.append(new)
        self.moments = np.array(moments, dtype=np.int64)
        self.offsets = np.array(offsets, dtype=np.int64)

    def offset(self, utc: I64) -> I64:
        idx = np.searchsorted(self.moments, utc, side="right") - 1
        result: I64 = self.offsets[np.clip(idx, 0, None)]
        return result

    def to_utc(self, local: I64) -> I64:
        """Local wall-clock seconds (as if UTC) to UTC seconds; exact outside DST switch hours."""
        result: I64 = local - self.offset(local - self.offset(local))
        return result

    def local_day(self, utc: I64) -> I64:
        result: I64 = (utc + self.offset(utc)) // DAY
        return result


@dataclass(frozen=True)
class Days:
    """The days of one year with what drives the volumes."""

    year: int
    day: I64  # epoch days
    weekday: I64  # Monday = 0
    month: I64
    dom: I64
    open: Mask  # the source's calendar has the service open

    def season(self) -> F64:
        factor: F64 = SEASON[self.month].astype(np.float64)
        factor[(self.month == 12) & (self.dom >= 20)] *= 0.6
        return factor

    def between(self, start: tuple[int, int], end: tuple[int, int]) -> Mask:
        lo = eday(dt.date(self.year, *start))
        hi = eday(dt.date(self.year, *end))
        result: Mask = (self.day >= lo) & (self.day < hi)
        return result


@dataclass(frozen=True)
class World:
    """What a profile draws against: the time zone, the days the municipality is closed and the
    source's calendar (`serving` gives the world of one source)."""

    tz: Tz
    closed: ClosedDays
    calendar: DeliveryCalendar = WEEKDAYS

    @staticmethod
    def of(years: Sequence[int], closed: ClosedDays) -> World:
        return World(Tz(min(years) - 1, max(years) + 1), closed)

    def serving(self, calendar: DeliveryCalendar) -> World:
        return replace(self, calendar=calendar)

    def days(self, year: int) -> Days:
        calendar = self.calendar
        first, last = eday(dt.date(year, 1, 1)), eday(dt.date(year + 1, 1, 1))
        day = np.arange(first, last, dtype=np.int64)
        as_date = day.astype("datetime64[D]")
        month_start = as_date.astype("datetime64[M]")
        weekday = (day + 3) % 7
        closed = np.array(sorted(eday(d) for d in self.closed.in_years([year])), dtype=np.int64)
        is_open = np.isin(weekday, np.array(calendar.open_weekdays, dtype=np.int64))
        if calendar.closes_on_holidays:
            is_open &= ~np.isin(day, closed)
        return Days(
            year=year,
            day=day,
            weekday=weekday,
            month=month_start.astype(np.int64) % 12 + 1,
            dom=(as_date - month_start).astype(np.int64) + 1,
            open=is_open,
        )


# --- drawing ------------------------------------------------------------------------------------


def rng_for(seed: int, year: int, stream: int) -> np.random.Generator:
    """One generator per seed, year and stream: a year's draw does not depend on other years."""
    return np.random.default_rng(np.random.SeedSequence([seed, year, stream]))


def allocate(rng: np.random.Generator, n: int, weights: F64) -> I64:
    """Exactly `n` events over the days, proportional to `weights`; returns the day index per event."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if weights.sum() <= 0:
        raise ValueError("no open day to put events on")
    counts = rng.multinomial(n, weights / weights.sum())
    return np.repeat(np.arange(weights.size, dtype=np.int64), counts)


def pick_exact(rng: np.random.Generator, weights: F64, k: int) -> Mask:
    """Exactly `k` of the items, drawn without replacement with probability growing with weight."""
    n = weights.size
    mask = np.zeros(n, dtype=np.bool_)
    if k >= n:
        mask[:] = True
    elif k > 0:
        keys = np.log1p(-rng.random(n)) / weights
        mask[np.argpartition(-keys, k - 1)[:k]] = True
    return mask


def choice(rng: np.random.Generator, n: int, p: Sequence[float]) -> I64:
    probs = np.asarray(p, dtype=np.float64)
    result: I64 = rng.choice(probs.size, size=n, p=probs / probs.sum()).astype(np.int64)
    return result


# --- versions, corrections and repeats ---------------------------------------------------------

Versions = dict[str, I64]  # one array per field, one row per exported version


def exported_next_day(versions: Versions, day: I64) -> Versions:
    """`versions` with their regular export (`_eday`, `_corr`): each row in the file of the day after
    `day`, the local epoch day it was made on."""
    versions["_eday"] = day + 1
    versions["_corr"] = np.zeros(day.size, np.int64)
    return versions


def hooks(versions: Versions, order: I64, kind: npt.ArrayLike) -> dict[str, npt.ArrayLike]:
    """The columns `finish` needs of the formatted rows of `versions` (`TO_FINISH`): their file, their
    order in it (`order`, a moment), whether they are a regular export, and the template `kind`."""
    return {
        "_eday": versions["_eday"],
        "_corr": versions["_corr"] == 1,
        "_ord": order,
        "_regular": versions["_corr"] == 0,
        "_kind": kind,
    }


def corrected(
    rng: np.random.Generator,
    versions: Versions,
    final_rows: I64,
    year: int,
    files: int,
    eligible: Mask,
    most: int,
    spoil: Callable[[Versions, I64], None],
) -> Versions:
    """Correction files: on `files` days of `year` (from 15 January), the final versions of 5 to
    `most` - 1 records exported up to ten days before (records `eligible`, each corrected once), delivered
    again in the day's correction file with the right values, half of them with a later `at`;
    `spoil(versions, rows)` makes the regular export of those rows wrong. `final_rows` are the rows of
    the records' final versions; the corrections come after all the others."""
    first = eday(dt.date(year, 1, 15))
    last = eday(dt.date(year, 12, 31))
    days = np.sort(rng.choice(np.arange(first, last + 1), files, replace=False))
    final_eday = versions["_eday"][final_rows]
    taken = np.zeros(final_rows.size, np.bool_)
    parts: list[Versions] = []
    for day in days:
        pool = np.flatnonzero((final_eday >= day - 10) & (final_eday <= day) & eligible & ~taken)
        if pool.size == 0:
            continue
        k = min(int(pool.size), int(rng.integers(5, most)))
        chosen = np.sort(rng.choice(pool, k, replace=False))
        taken[chosen] = True
        rows = final_rows[chosen]
        part = {name: values[rows].copy() for name, values in versions.items()}
        later = rng.random(k) < 0.5
        part["at"] = part["at"] + np.where(later, rng.integers(60, 3600, k), 0)
        part["_eday"] = np.full(k, day, np.int64)
        part["_corr"] = np.ones(k, np.int64)
        parts.append(part)
        spoil(versions, rows)
    if not parts:
        return versions
    return {name: np.concatenate([versions[name]] + [p[name] for p in parts]) for name in versions}


def with_stale_reexports(
    rng: np.random.Generator, frame: pl.DataFrame, final_eday: I64, last_export: int
) -> pl.DataFrame:
    """The frame with stale re-exports: about 1 % of the records' first versions (the frame's first
    `final_eday.size` rows) again, in a file 1-3 days after their final version's (at the latest the
    year's last regular export); and with repeated rows (`repeated`)."""
    again = np.flatnonzero(rng.random(final_eday.size) < 0.01)
    stale = frame[again].with_columns(
        pl.min_horizontal(pl.Series(final_eday[again] + rng.integers(1, 4, again.size)), pl.lit(last_export)).alias(
            "_eday"
        ),
        pl.lit(False).alias("_regular"),
    )
    return pl.concat([frame, stale, repeated(rng, frame)])


def repeated(rng: np.random.Generator, frame: pl.DataFrame) -> pl.DataFrame:
    """About 0.2 % of the frame's rows again: exports repeat a row within its file."""
    m = frame.height
    return frame[np.sort(rng.choice(m, int(m * 0.002), replace=False))] if m else frame.clear()


# --- text ---------------------------------------------------------------------------------------


def texts(values: Sequence[str], codes: npt.ArrayLike) -> pl.Series:
    """`values[code]` for every code, as a String Series."""
    return pl.Series(list(values), dtype=pl.String).gather(pl.Series(np.asarray(codes, dtype=np.int64)))


def offset_text(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


def iso_texts(utc: I64, offset: I64, zulu: Mask) -> pl.Series:
    """ISO 8601 with offset: local time with `+01:00`/`+02:00`, or UTC with `Z` where `zulu`."""
    known = sorted(set(np.unique(offset).tolist()))
    suffixes = ["Z", *(offset_text(o) for o in known)]
    code = np.where(zulu, 0, 1 + np.searchsorted(np.array(known, dtype=np.int64), offset))
    shown = utc + np.where(zulu, 0, offset)
    stamp = pl.from_epoch(pl.Series(shown), time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S")
    return stamp + texts(suffixes, code)


def moment_texts(rng: np.random.Generator, tz: Tz, utc: I64, zulu_share: float) -> pl.Series:
    """Moments as the source systems write them (`iso_texts`): local time with its offset, or, on a
    `zulu_share` of them, UTC."""
    return iso_texts(utc, tz.offset(utc), rng.random(utc.size) < zulu_share)


def vary(series: pl.Series, mask: Mask, change: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """`series` with `change` applied to the rows in `mask` only (variants are rare: cheap)."""
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return series
    return series.clone().scatter(rows, change(series.gather(rows)))


def case_variants(series: pl.Series, rng: np.random.Generator, share: float) -> pl.Series:
    """Some values in lower case, UPPER case or with a Capital first letter."""
    pick = rng.random(series.len())
    how = rng.integers(0, 3, series.len())
    series = vary(series, (pick < share) & (how == 0), lambda v: v.str.to_lowercase())
    series = vary(series, (pick < share) & (how == 1), lambda v: v.str.to_uppercase())
    return vary(series, (pick < share) & (how == 2), lambda v: v.str.slice(0, 1).str.to_uppercase() + v.str.slice(1))


def padded(series: pl.Series, rng: np.random.Generator, share: float) -> pl.Series:
    """Surrounding spaces (the reader trims them) on a share of the values."""
    mask = rng.random(series.len()) < share
    how = rng.integers(0, 3, int(mask.sum()))
    return vary(series, mask, lambda v: texts((" ", "", "  "), how) + v + texts(("", " ", " "), how))


def quote_where_needed(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """RFC 4180: a value with `;`, `"` or a line break goes in quotes, inner quotes doubled. Done once
    for all rows; a cell that starts with a quote is therefore always an already quoted one."""

    def quote(values: pl.Series) -> pl.Series:
        return '"' + values.str.replace_all('"', '""', literal=True) + '"'

    return frame.with_columns(
        vary(frame[c], frame[c].str.contains_any([";", '"', "\n", "\r"]).to_numpy(), quote) for c in columns
    )


# --- invented citizens --------------------------------------------------------------------------

# Only characters that Windows-1252 can encode: older deliveries are cp1252.
FIRST_NAMES: Final = (
    "Jan",
    "Anouk",
    "Daan",
    "Fatima",
    "Mohamed",
    "Sanne",
    "Thijs",
    "Emma",
    "Lucas",
    "Sophie",
    "José",
    "Zoë",
    "Noël",
    "Chloë",
    "Björn",
    "Renée",
    "Ayse",
    "Youssef",
    "Lotte",
    "Bram",
    "Femke",
    "Kees",
    "Žofia",
    "François",
    "Iñigo",
    "Maria",
    "Ahmed",
    "Ingrid",
    "Sem",
    "Julia",
)
LAST_NAMES: Final = (
    "de Vries",
    "Jansen",
    "van den Berg",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "Dijkstra",
    "El Amrani",
    "Çelik",
    "Ünal",
    "Öztürk",
    "Kaya",
    "Müller",
    "Brontë",
    "van 't Hof",
    "O'Neill",
    "Bouzid",
    "Hendriks",
    "van Leeuwen",
    "Peeters",
    "Nguyen",
    "Yildiz",
)
STREETS: Final = ("Oudegracht", "Biltstraat", "Amsterdamsestraatweg", "Kanaalweg", "Vleutenseweg", "Zeisterweg")
QUOTED_FIRST_NAME: Final = 'Johannes "Hans"'
EMAIL_DOMAINS: Final = ("example.com", "example.net", "example.org")


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z]", "", plain.lower())


def _bsns(rng: np.random.Generator, n: int) -> I64:
    """Nine-digit numbers that pass the elfproef, as a real bsn does."""
    digits = rng.integers(0, 10, (n, 8))
    digits[:, 0] = rng.integers(1, 7, n)
    weights = np.array([9, 8, 7, 6, 5, 4, 3, 2])
    while True:
        check = (digits * weights).sum(axis=1) % 11
        bad = check == 10
        if not bad.any():
            break
        digits[bad, 7] = (digits[bad, 7] + 1) % 10
    result: I64 = (digits * 10 ** np.arange(8, 0, -1)).sum(axis=1) + check
    return result


def people(rng: np.random.Generator, n: int) -> dict[str, pl.Series]:
    """Invented citizens: bsn (passes the elfproef), naam, telefoon, email, adres."""
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    frame = pl.DataFrame(
        {
            "bsn": _bsns(rng, n),
            "first": pl.Series(FIRST_NAMES)[first],
            "last": pl.Series(LAST_NAMES)[last],
            "af": pl.Series([_ascii(v) for v in FIRST_NAMES])[first],
            "al": pl.Series([_ascii(v) for v in LAST_NAMES])[last],
            "dom": pl.Series(EMAIL_DOMAINS)[rng.integers(0, len(EMAIL_DOMAINS), n)],
            "nr": rng.integers(10_000_000, 100_000_000, n),
            "mail_nr": rng.integers(1, 100, n),
            "kind": rng.random(n),
            "no_phone": rng.random(n) < 0.04,
            "no_mail": rng.random(n) < 0.05,
            "quoted": rng.random(n) < 0.002,
        }
    )
    out = frame.select(
        pl.col("bsn").cast(pl.String).str.zfill(9).alias("bsn"),
        (
            pl.when(pl.col("quoted")).then(pl.lit(QUOTED_FIRST_NAME)).otherwise(pl.col("first"))
            + pl.lit(" ")
            + pl.col("last")
        ).alias("naam"),
        pl.when(pl.col("no_phone"))
        .then(pl.lit(""))
        .when(pl.col("kind") < 0.6)
        .then(pl.lit("06") + pl.col("nr").cast(pl.String))
        .when(pl.col("kind") < 0.75)
        .then(pl.lit("+316") + pl.col("nr").cast(pl.String))
        .otherwise(pl.lit("030-") + (pl.col("nr") % 8_000_000 + 2_000_000).cast(pl.String))
        .alias("telefoon"),
        pl.when(pl.col("no_mail"))
        .then(pl.lit(""))
        .otherwise(
            pl.concat_str(
                [
                    pl.when(pl.col("quoted")).then(pl.lit("johannes")).otherwise(pl.col("af")),
                    pl.lit("."),
                    pl.col("al"),
                    pl.when(pl.col("kind") < 0.5).then(pl.col("mail_nr").cast(pl.String)).otherwise(pl.lit("")),
                    pl.lit("@"),
                    pl.col("dom"),
                ]
            )
        )
        .alias("email"),
        (  # derived from numbers drawn above: adding addresses does not change the other draws
            (pl.col("mail_nr") % len(STREETS)).replace_strict(dict(enumerate(STREETS)), return_dtype=pl.String)
            + pl.lit(" ")
            + (pl.col("nr") % 300 + 1).cast(pl.String)
            + pl.lit(", ")
            + (pl.col("nr") % 90 + 3500).cast(pl.String)
            + pl.lit(" Utrecht")
        ).alias("adres"),
    )
    return {name: out[name] for name in out.columns}


def personal_texts(
    citizens: dict[str, pl.Series], rows: I64, columns: Sequence[str], rng: np.random.Generator
) -> dict[str, pl.Series]:
    """The personal `columns` of the `people` on `rows` (an index into them per row), as typed into
    the source system: a few names with spaces around them."""
    index = pl.Series(rows)
    shown = {column: citizens[column].gather(index) for column in columns}
    if "naam" in shown:
        shown["naam"] = padded(shown["naam"], rng, 0.003)
    return shown


# --- file keys, noise and invalid rows ----------------------------------------------------------


def needs(frame: pl.DataFrame, columns: Sequence[str], step: str) -> None:
    """Refuse a frame without the columns `step` works on (the module's conventions)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{step}: the drawn frame lacks {', '.join(missing)} (see pipeline.kit.sampling)")


# What one kind of invalid row changes in the valid row: values, or a function of the template row
# and the year that gives them.
Change = Mapping[str, str] | Callable[[Mapping[str, str], int], Mapping[str, str]]
# The kinds `RAGGED` change no value: `invalid_rows` makes the row ragged.
RAGGED_ROWS: Final[dict[str, Change]] = {kind: {} for kind in RAGGED}
# The one invented citizen of the invalid rows, by the personal columns the sources deliver.
CITIZEN: Final = {
    "bsn": "123456782",
    "naam": "Zoë Çelik",
    "telefoon": "0612345678",
    "beller": "0612345678",  # the same number, calling
    "email": "zoe.celik@example.com",
    "adres": "Oudegracht 1, 3511 Utrecht",
}


@dataclass(frozen=True)
class RecordIds:
    """A source's record ids: `<prefix><year>-<number, seven digits>`; an invalid row's own id has a 9
    before the seven digits, so that it is none of the drawn ones."""

    column: str
    prefix: str

    def drawn(self, year: int, numbers: I64) -> pl.Series:
        return f"{self.prefix}{year}-" + pl.Series(numbers).cast(pl.String).str.zfill(7)

    def fresh(self, year: int, number: int) -> str:
        return f"{self.prefix}{year}-9{number:07d}"


def _changed(change: Change, template: Mapping[str, str], year: int) -> Mapping[str, str]:
    return change(template, year) if callable(change) else change


@dataclass(frozen=True)
class InvalidRows:
    """The kinds of invalid row a source's exports hold, each made from one valid row.

    The valid row is a counted-looking template row of the file with a fresh id (`ids`), the
    invented citizen in the `personal` columns and the `valid` values (`Change`), so that each of
    `kinds`, in the order they rotate in, makes it invalid in one way only."""

    ids: RecordIds
    personal: Sequence[str]
    valid: Change
    kinds: Mapping[str, Change]

    def make(self, kind: str, template: Mapping[str, str], year: int, number: int) -> dict[str, str]:
        """The changes to the `template` row (the row itself, as text) that give the invalid row."""
        row = {self.ids.column: self.ids.fresh(year, number), **{column: CITIZEN[column] for column in self.personal}}
        row.update(_changed(self.valid, template, year))
        row.update(_changed(self.kinds[kind], template, year))
        return row


def finish(
    frame: pl.DataFrame,
    rng: np.random.Generator,
    year: int,
    invalid: InvalidRows,
    n_ids: int,
    free_text: Sequence[str],
) -> pl.DataFrame:
    """The closing steps of every source's drawn year: the file keys (`file_keys`), one invalid row of
    each of `invalid`'s kinds in some regular files of the year, exported from 2 January to 31 December
    (`invalid_rows`), free text quoted where the system quotes it, and the frame's `_regular` and
    `_kind` hooks dropped."""
    first, last = eday(dt.date(year, 1, 2)), eday(dt.date(year, 12, 31))
    out = invalid_rows(file_keys(frame), rng, year, first, last, invalid, n_ids)
    return quote_where_needed(out, free_text).drop("_regular", "_kind")


def file_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the file key (export day `_eday` x 2, + 1 where `_corr`) and the invalid-row hooks.

    Row order matters from here on: rows of a file with the same `_ord` keep the frame's order."""
    needs(frame, TO_FINISH, "file_keys")
    return frame.with_columns(
        (pl.col("_eday") * 2 + pl.col("_corr").cast(pl.Int64)).alias("_fk"),
        pl.lit("").alias("_tail"),
        pl.lit(False).alias("_cut"),
    ).drop("_corr")


def _eligible_files(frame: pl.DataFrame, first: int, last: int) -> list[int]:
    """Regular files (keys) of the year with at least `MIN_ROWS_FOR_INVALID` rows: each may take one
    invalid row and still be accepted."""
    sizes = (
        frame.select("_regular", "_eday", "_fk")
        .filter(pl.col("_regular") & pl.col("_eday").is_between(first, last))
        .group_by("_fk")
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") >= MIN_ROWS_FOR_INVALID)
        .sort("_fk")
    )
    return [int(fk) for fk in sizes["_fk"].to_list()]


def invalid_rows(
    frame: pl.DataFrame,
    rng: np.random.Generator,
    year: int,
    first: int,
    last: int,
    invalid: InvalidRows,
    n_ids: int,
) -> pl.DataFrame:
    """One invalid row in each of up to twice as many eligible files as `invalid` has kinds, of
    rotating kinds, each made by `invalid.make(kind, template, year, fresh_number)` from a
    counted-looking template row (`_kind == 1` where the frame marks such rows). The kinds `RAGGED`
    give a field too many or too few."""
    needs(frame, (*DRAWN, "_eday", "_regular", "_kind"), "invalid_rows")
    kinds = tuple(invalid.kinds)
    eligible = _eligible_files(frame, first, last)
    if not eligible:
        return frame
    n_bad = min(len(eligible), 2 * len(kinds))
    keys = [eligible[index] for index in sorted(rng.choice(len(eligible), n_bad, replace=False).tolist())]
    order = rng.permutation(len(kinds)).tolist()
    extra: list[dict[str, object]] = []
    candidates = frame.filter(pl.col("_fk").is_in(keys) & pl.col("_regular"))
    for number, key in enumerate(keys):
        rows = candidates.filter((pl.col("_fk") == key) & (pl.col("_kind") == 1))
        if rows.height == 0:
            rows = candidates.filter(pl.col("_fk") == key)
        template_row = rows.row(int(rng.integers(0, rows.height)), named=True)
        kind = kinds[order[number % len(kinds)]]
        values = invalid.make(kind, {k: str(v) for k, v in template_row.items()}, year, n_ids + 1 + number)
        row: dict[str, object] = dict(template_row)
        row.update({k: v for k, v in values.items() if not k.startswith("_")})
        row["_tail"] = ";x" if kind == TOO_MANY_FIELDS else ""
        row["_cut"] = kind == TOO_FEW_FIELDS
        row["_regular"] = False
        extra.append(row)
    return pl.concat([frame, pl.DataFrame(extra, schema=frame.schema, orient="row")])
