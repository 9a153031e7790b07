"""Synthetic raw deliveries whose key figures equal a targets table exactly.

`generate(targets_csv, out_dir)` writes daily appointment and call-detail exports in the delivery
format of `shared/spec/raw-data.md`, with the noise real deliveries have (stale re-exports,
duplicates, correction files, invalid rows, calls forwarded to other municipalities, varying
encodings, line endings, headers and spellings). Figures computed from them by the rules of
`shared/spec/kpis.md` equal the targets exactly, whatever the seed.

Layout: `out_dir/<bron>/<YYYY>/<bron>_<YYYYMMDD>[_correctie].csv` where the date is the export day
(the day after the records' day for a regular file) and `YYYY` is the year of that export day.

Records are drawn with NumPy (one generator per year and stream, seeded from `seed`) and turned
into text with Polars, a whole file at a time; each file's format (encoding, line ending, header
spelling and order, quoting) is drawn from a generator seeded by `seed` and the file's name, so the
output is byte-identical for the same seed and targets.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["GenerateSummary", "YearTarget", "answered_for", "generate", "load_targets"]

TZ: Final = ZoneInfo("Europe/Amsterdam")
EPOCH: Final = dt.date(1970, 1, 1)
DAY: Final = 86_400

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

TARGET_HEADER: Final = (
    "jaar",
    "baliebezoeken_met_afspraak",
    "telefoontjes_gemeente",
    "telefoontjes_14030",
    "bereikbaarheid_pct",
)
MIN_YEAR: Final = 1980
MAX_YEAR: Final = 2100
MAX_COUNT: Final = 5_000_000  # per figure and year; keeps a typo from filling the disk

CALLS: Final = "telefonie"
APPTS: Final = "afspraken"

CALL_COLUMNS: Final = (
    "gesprek_id",
    "starttijd",
    "nummer",
    "keuze",
    "wachtrij",
    "afhandeling",
    "wachttijd",
    "gespreksduur",
    "beller",
)
CALL_OPTIONAL: Final = ("beller",)
APPT_COLUMNS: Final = (
    "afspraak_id",
    "locatie",
    "kanaal",
    "product",
    "datum",
    "tijd",
    "status",
    "gewijzigd",
    "bsn",
    "naam",
    "telefoon",
    "email",
)
APPT_OPTIONAL: Final = ("telefoon", "email")
# Columns whose values may hold `;` or `"` (the others are codes, numbers, dates and ids we draw).
CALL_FREE_TEXT: Final = ("wachtrij", "beller")
APPT_FREE_TEXT: Final = ("locatie", "product", "naam", "email")
EXTRA_COLUMN: Final = "export_versie"

KEUZES: Final = ("", "Utrecht", "Overig", "Geen keuze", "Zeist", "Houten", "Nieuwegein", "IJsselstein")
AFHANDELINGEN: Final = ("beantwoord", "verbroken", "doorgeschakeld")
WACHTRIJEN: Final = ("Algemeen", "Burgerzaken", "Belastingen", "Werk en Inkomen", "Parkeren", "")
NUMMERS: Final = ("0302860000", "030-2860000", "030 286 0000", "+31302860000", "14030", "14 030")

COUNTED_LOCATIONS: Final = ("Stadskantoor", "Wijkservicecentrum Vleuten-De Meern")
OTHER_LOCATIONS: Final = ("Wijkservicecentrum Overvecht", "Wijkservicecentrum Leidsche Rijn")
LOCATIONS: Final = COUNTED_LOCATIONS + OTHER_LOCATIONS
KANALEN: Final = ("balie", "video", "telefoon")
STATUSES: Final = ("gepland", "verschenen", "niet verschenen", "geannuleerd")
PRODUCTS: Final = (
    "Paspoort",
    "Identiteitskaart",
    "Rijbewijs",
    "Verhuizing",
    "Uittreksel",
    "Geboorteaangifte",
    "Huwelijk",
    "Rijbewijs; spoedaanvraag",
)
PRODUCT_P: Final = (0.30, 0.25, 0.19, 0.08, 0.08, 0.06, 0.035, 0.005)

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
QUOTED_FIRST_NAME: Final = 'Johannes "Hans"'
EMAIL_DOMAINS: Final = ("example.com", "example.net", "example.org")

# Day-of-week factors (Monday first); 14 030 is open only in the morning on Wednesday and Friday.
WD_030: Final = np.array([1.25, 1.05, 1.0, 0.95, 0.85, 0.0, 0.0])
WD_14030: Final = np.array([1.25, 1.05, 0.6, 0.95, 0.5, 0.0, 0.0])
WD_BALIE: Final = np.array([1.0, 1.05, 1.0, 1.1, 0.85, 0.0, 0.0])
SEASON: Final = np.array([0.0, 1.0, 1.05, 1.05, 1.0, 1.0, 1.0, 0.8, 0.72, 1.05, 1.05, 1.0, 0.9])

LEAD_MAX_DAYS: Final = 56
WRITE_THREADS: Final = 2
CLOCK: Final = tuple(f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(24 * 60))
OPEN_030: Final = (8 * 3600 + 1800, 17 * 3600)
OPEN_14030_LONG: Final = (9 * 3600, 17 * 3600)  # Monday, Tuesday, Thursday
OPEN_14030_SHORT: Final = (9 * 3600, 13 * 3600)  # Wednesday, Friday
SLOTS: Final = {  # first and last slot start, minutes after midnight, every 10 minutes
    "Stadskantoor": (8 * 60 + 30, 16 * 60 + 50),
    "Wijkservicecentrum Vleuten-De Meern": (9 * 60, 15 * 60 + 50),
    "other": (9 * 60, 16 * 60 + 20),
}

README: Final = """\
Synthetic raw deliveries (generated by pipeline.generate; not a delivery).

afspraken/<YYYY>/afspraken_<YYYYMMDD>[_correctie].csv  appointment versions
telefonie/<YYYY>/telefonie_<YYYYMMDD>[_correctie].csv  call-detail records

The date in a name is the export day (a regular file holds the records of the day before); the
folder is the year of that export day. Format and rules: shared/spec/raw-data.md.
Personal data in these files (bsn, naam, telefoon, email, beller) is invented.
Years: {years}; seed: {seed}.
"""


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearTarget:
    """One row of the targets table."""

    jaar: int
    baliebezoeken_met_afspraak: int
    telefoontjes_gemeente: int
    telefoontjes_14030: int
    bereikbaarheid_pct: int | None

    @property
    def answered(self) -> int:
        """Number of answered calls that gives `bereikbaarheid_pct` exactly."""
        if self.bereikbaarheid_pct is None:
            return 0
        found = answered_for(self.telefoontjes_gemeente, self.bereikbaarheid_pct)
        assert found is not None  # checked by load_targets
        return found


@dataclass(frozen=True)
class GenerateSummary:
    """What `generate` wrote. `files_written` counts delivery files (not README.txt); the row
    counts are data rows in those files, noise (duplicates, corrections, invalid rows) included."""

    years: tuple[int, ...]
    files_written: int
    call_rows: int
    appointment_rows: int


def _round_half_up_pct(part: int, total: int) -> int:
    return (200 * part + total) // (2 * total)


def answered_for(total: int, pct: int) -> int | None:
    """The answered count closest to `total * pct / 100` whose percentage, rounded half up, is
    `pct`; None if no count gives it (e.g. 50 % of 3 calls)."""
    if total <= 0:
        return None
    base = (total * pct + 50) // 100
    for answered in sorted(range(base - 2, base + 3), key=lambda a: (abs(100 * a - total * pct), a)):
        if 0 <= answered <= total and _round_half_up_pct(answered, total) == pct:
            return answered
    return None


def load_targets(path: Path) -> list[YearTarget]:
    """Read and validate a targets CSV (`,`-separated, header `TARGET_HEADER`), sorted by year.

    Raises ValueError naming the file and line on anything that cannot be generated exactly."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{path}: cannot read targets file: {err.strerror or err}") from err
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: targets file is not UTF-8 (byte {err.start})") from err

    reader = csv.reader(io.StringIO(text, newline=""))
    header_seen = False
    lines_of_year: dict[int, int] = {}
    targets: list[YearTarget] = []
    for row in reader:
        line = reader.line_num
        where = f"{path}:{line}"
        if not any(cell.strip() for cell in row):
            continue
        if not header_seen:
            names = tuple(cell.strip().lower() for cell in row)
            if names != TARGET_HEADER:
                raise ValueError(f"{where}: expected header {','.join(TARGET_HEADER)!r}, found {','.join(row)!r}")
            header_seen = True
            continue
        if len(row) != len(TARGET_HEADER):
            raise ValueError(f"{where}: expected {len(TARGET_HEADER)} fields, found {len(row)}")
        values: dict[str, int | None] = {}
        for name, raw in zip(TARGET_HEADER, row, strict=True):
            cell = raw.strip()
            if cell == "" and name == "bereikbaarheid_pct":
                values[name] = None
            elif re.fullmatch(r"[0-9]+", cell):
                values[name] = int(cell)
            else:
                raise ValueError(f"{where}: {name} must be a whole number >= 0, found {raw!r}")
        target = YearTarget(
            jaar=_req(values["jaar"]),
            baliebezoeken_met_afspraak=_req(values["baliebezoeken_met_afspraak"]),
            telefoontjes_gemeente=_req(values["telefoontjes_gemeente"]),
            telefoontjes_14030=_req(values["telefoontjes_14030"]),
            bereikbaarheid_pct=values["bereikbaarheid_pct"],
        )
        _check_target(target, where)
        if target.jaar in lines_of_year:
            raise ValueError(f"{where}: year {target.jaar} already given on line {lines_of_year[target.jaar]}")
        lines_of_year[target.jaar] = line
        targets.append(target)
    if not header_seen:
        raise ValueError(f"{path}: empty targets file (expected header {','.join(TARGET_HEADER)})")
    if not targets:
        raise ValueError(f"{path}: no target rows after the header")
    return sorted(targets, key=lambda t: t.jaar)


def _req(value: int | None) -> int:
    assert value is not None
    return value


def _check_target(t: YearTarget, where: str) -> None:
    if not MIN_YEAR <= t.jaar <= MAX_YEAR:
        raise ValueError(f"{where}: jaar {t.jaar} outside the supported {MIN_YEAR}-{MAX_YEAR}")
    for name in TARGET_HEADER[1:4]:
        value = getattr(t, name)
        if value > MAX_COUNT:
            raise ValueError(f"{where}: {name} {value} is more than the supported {MAX_COUNT}")
    if t.telefoontjes_14030 > t.telefoontjes_gemeente:
        raise ValueError(
            f"{where}: telefoontjes_14030 ({t.telefoontjes_14030}) exceeds "
            f"telefoontjes_gemeente ({t.telefoontjes_gemeente})"
        )
    pct = t.bereikbaarheid_pct
    if t.telefoontjes_gemeente == 0:
        if pct is not None:
            raise ValueError(f"{where}: bereikbaarheid_pct must be empty when there are no calls")
        return
    if pct is None:
        raise ValueError(f"{where}: bereikbaarheid_pct is empty but there are calls")
    if pct > 100:
        raise ValueError(f"{where}: bereikbaarheid_pct {pct} is above 100")
    if answered_for(t.telefoontjes_gemeente, pct) is None:
        raise ValueError(
            f"{where}: no number of answered calls out of {t.telefoontjes_gemeente} rounds to bereikbaarheid_pct {pct}"
        )


# --------------------------------------------------------------------------------------------
# Calendar and time zone
# --------------------------------------------------------------------------------------------


def _eday(day: dt.date) -> int:
    return (day - EPOCH).days


def _utcoffset(t: int) -> int:
    offset = dt.datetime.fromtimestamp(t, TZ).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


class _Tz:
    """Europe/Amsterdam offsets as a table of transitions, for vectorised conversions."""

    def __init__(self, first_year: int, last_year: int) -> None:
        start = (_eday(dt.date(first_year, 1, 1)) - 2) * DAY
        end = (_eday(dt.date(last_year + 1, 1, 1)) + 2) * DAY
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


def _closed_days(years: Iterable[int]) -> I64:
    """Dutch public holidays on which the municipality is closed (Good Friday is a working day)."""
    found = holidays.country_holidays("NL", years=sorted(set(years)))
    days = set(found)
    closed = sorted(_eday(day) for day in days if not (day.weekday() == 4 and day + dt.timedelta(days=2) in days))
    return np.array(closed, dtype=np.int64)


@dataclass(frozen=True)
class _Days:
    """The days of one year with what drives the volumes."""

    year: int
    day: I64  # epoch days
    weekday: I64  # Monday = 0
    month: I64
    dom: I64
    open: Mask  # weekday and not a public holiday

    @staticmethod
    def of(year: int, closed: I64) -> _Days:
        first, last = _eday(dt.date(year, 1, 1)), _eday(dt.date(year + 1, 1, 1))
        day = np.arange(first, last, dtype=np.int64)
        as_date = day.astype("datetime64[D]")
        month_start = as_date.astype("datetime64[M]")
        weekday = (day + 3) % 7
        return _Days(
            year=year,
            day=day,
            weekday=weekday,
            month=month_start.astype(np.int64) % 12 + 1,
            dom=(as_date - month_start).astype(np.int64) + 1,
            open=(weekday < 5) & ~np.isin(day, closed),
        )

    def season(self) -> F64:
        factor: F64 = SEASON[self.month].astype(np.float64)
        factor[(self.month == 12) & (self.dom >= 20)] *= 0.6
        return factor

    def between(self, start: tuple[int, int], end: tuple[int, int]) -> Mask:
        lo = _eday(dt.date(self.year, *start))
        hi = _eday(dt.date(self.year, *end))
        result: Mask = (self.day >= lo) & (self.day < hi)
        return result

    def covid_calls(self) -> F64:
        """Spring 2020: Tozo and other new schemes; calls much higher from 16 March."""
        factor = np.ones(self.day.size)
        if self.year == 2020:
            factor[self.between((3, 16), (5, 1))] = 2.2
            factor[self.between((5, 1), (6, 1))] = 1.7
            factor[self.between((6, 1), (7, 1))] = 1.25
            factor[self.between((10, 15), (12, 31))] = 1.1
        return factor

    def covid_counters(self) -> F64:
        """2020: lockdown from mid-March, slow recovery from mid-May, a second dip in December."""
        factor = np.ones(self.day.size)
        if self.year == 2020:
            factor[self.between((3, 16), (5, 11))] = 0.07
            recovery = self.between((5, 11), (7, 1))
            factor[recovery] = np.linspace(0.3, 0.9, int(recovery.sum()))
            factor[self.between((7, 1), (12, 15))] = 0.9
            factor[self.between((12, 15), (12, 31))] = 0.5
        return factor


def _allocate(rng: np.random.Generator, n: int, weights: F64) -> I64:
    """Exactly `n` events over the days, proportional to `weights`; returns the day index per event."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if weights.sum() <= 0:
        raise ValueError("no open day to put events on")
    counts = rng.multinomial(n, weights / weights.sum())
    return np.repeat(np.arange(weights.size, dtype=np.int64), counts)


def _pick_exact(rng: np.random.Generator, weights: F64, k: int) -> Mask:
    """Exactly `k` of the items, drawn without replacement with probability growing with weight."""
    n = weights.size
    mask = np.zeros(n, dtype=np.bool_)
    if k >= n:
        mask[:] = True
    elif k > 0:
        keys = np.log1p(-rng.random(n)) / weights
        mask[np.argpartition(-keys, k - 1)[:k]] = True
    return mask


def _choice(rng: np.random.Generator, n: int, p: Sequence[float]) -> I64:
    probs = np.asarray(p, dtype=np.float64)
    result: I64 = rng.choice(probs.size, size=n, p=probs / probs.sum()).astype(np.int64)
    return result


# --------------------------------------------------------------------------------------------
# Shared formatting helpers
# --------------------------------------------------------------------------------------------


def _texts(values: Sequence[str], codes: npt.ArrayLike) -> pl.Series:
    """`values[code]` for every code, as a String Series."""
    return pl.Series(list(values), dtype=pl.String).gather(pl.Series(np.asarray(codes, dtype=np.int64)))


def _iso_texts(utc: I64, offset: I64, zulu: Mask) -> pl.Series:
    """ISO 8601 with offset: local time with `+01:00`/`+02:00`, or UTC with `Z` where `zulu`."""
    known = sorted(set(np.unique(offset).tolist()))
    suffixes = ["Z", *(_offset_text(o) for o in known)]
    code = np.where(zulu, 0, 1 + np.searchsorted(np.array(known, dtype=np.int64), offset))
    shown = utc + np.where(zulu, 0, offset)
    stamp = pl.from_epoch(pl.Series(shown), time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S")
    return stamp + _texts(suffixes, code)


def _offset_text(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


def _vary(series: pl.Series, mask: Mask, change: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """`series` with `change` applied to the rows in `mask` only (variants are rare: cheap)."""
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return series
    return series.clone().scatter(rows, change(series.gather(rows)))


def _case_variants(series: pl.Series, rng: np.random.Generator, share: float) -> pl.Series:
    """Some values in lower case, UPPER case or with a Capital first letter."""
    pick = rng.random(series.len())
    how = rng.integers(0, 3, series.len())
    series = _vary(series, (pick < share) & (how == 0), lambda v: v.str.to_lowercase())
    series = _vary(series, (pick < share) & (how == 1), lambda v: v.str.to_uppercase())
    return _vary(series, (pick < share) & (how == 2), lambda v: v.str.slice(0, 1).str.to_uppercase() + v.str.slice(1))


def _padded(series: pl.Series, rng: np.random.Generator, share: float) -> pl.Series:
    """Surrounding spaces (the reader trims them) on a share of the values."""
    mask = rng.random(series.len()) < share
    how = rng.integers(0, 3, int(mask.sum()))
    return _vary(series, mask, lambda v: _texts((" ", "", "  "), how) + v + _texts(("", " ", " "), how))


def _file_name(source: str, key: int) -> str:
    """The name of the file with key `key`: export day * 2, + 1 for the day's correction file.
    Keys sort as the names do (`x_20200316.csv` < `x_20200316_correctie.csv` < `x_20200317.csv`)."""
    day = EPOCH + dt.timedelta(days=key // 2)
    return f"{source}_{day:%Y%m%d}{'_correctie' if key % 2 else ''}.csv"


def _people(rng: np.random.Generator, n: int) -> dict[str, pl.Series]:
    """Invented citizens: bsn (passes the elfproef), naam, telefoon, email."""
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    digits = rng.integers(0, 10, (n, 8))
    digits[:, 0] = rng.integers(1, 7, n)
    weights = np.array([9, 8, 7, 6, 5, 4, 3, 2])
    while True:
        check = (digits * weights).sum(axis=1) % 11
        bad = check == 10
        if not bad.any():
            break
        digits[bad, 7] = (digits[bad, 7] + 1) % 10
    bsn = (digits * 10 ** np.arange(8, 0, -1)).sum(axis=1) + check
    firsts = pl.Series(FIRST_NAMES)[first]
    lasts = pl.Series(LAST_NAMES)[last]
    ascii_first = pl.Series([_ascii(v) for v in FIRST_NAMES])[first]
    ascii_last = pl.Series([_ascii(v) for v in LAST_NAMES])[last]
    domain = pl.Series(EMAIL_DOMAINS)[rng.integers(0, len(EMAIL_DOMAINS), n)]
    number = rng.integers(10_000_000, 100_000_000, n)
    kind = rng.random(n)
    frame = pl.DataFrame(
        {
            "bsn": bsn,
            "first": firsts,
            "last": lasts,
            "af": ascii_first,
            "al": ascii_last,
            "dom": domain,
            "nr": number,
            "mail_nr": rng.integers(1, 100, n),
            "kind": kind,
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
    )
    return {name: out[name] for name in out.columns}


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z]", "", plain.lower())


def _callers(rng: np.random.Generator, n: int) -> pl.Series:
    """A Dutch number per call; about 8 % of calls repeat a caller of the last few days."""
    if n == 0:
        return pl.Series("beller", [], dtype=pl.String)
    pool = max(16, int(n * 0.7))
    number = rng.integers(10_000_000, 100_000_000, pool)
    kind = rng.random(pool)
    numbers = pl.DataFrame({"nr": number, "kind": kind}).select(
        pl.when(pl.col("kind") < 0.02)
        .then(pl.lit(""))  # number withheld
        .when(pl.col("kind") < 0.55)
        .then(pl.lit("06") + pl.col("nr").cast(pl.String))
        .when(pl.col("kind") < 0.7)
        .then(pl.lit("+316") + pl.col("nr").cast(pl.String))
        .when(pl.col("kind") < 0.9)
        .then(pl.lit("030") + (pl.col("nr") % 8_000_000 + 2_000_000).cast(pl.String))
        .otherwise(pl.lit("0346") + (pl.col("nr") % 900_000 + 100_000).cast(pl.String))
        .alias("nr")
    )["nr"]
    caller = rng.integers(0, pool, n)
    repeat = rng.random(n) < 0.08
    repeat[0] = False
    base = np.flatnonzero(~repeat)
    position = np.searchsorted(base, np.flatnonzero(repeat))
    back = rng.integers(1, 300, position.size)
    caller[repeat] = caller[base[np.clip(position - back, 0, None)]]
    return numbers[caller].alias("beller")


# --------------------------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """Files a year needs, known before drawing: regular export days and correction files."""

    year: int
    calls_first: int  # first and last export day (epoch days, inclusive) of regular files
    calls_last: int
    appts_first: int
    appts_last: int
    call_corrections: int
    appt_corrections: int

    @staticmethod
    def of(t: YearTarget) -> _Plan:
        first = _eday(dt.date(t.jaar, 1, 1))
        last = _eday(dt.date(t.jaar + 1, 1, 1))  # 1 January of the next year
        calls = t.telefoontjes_gemeente
        return _Plan(
            year=t.jaar,
            calls_first=first + 1,
            calls_last=last + 1,  # a late export of 31 December lands on 2 January
            appts_first=first - LEAD_MAX_DAYS + 1,
            appts_last=last + 1,
            call_corrections=4 if calls >= 500 else 0,
            appt_corrections=3 if t.baliebezoeken_met_afspraak >= 300 else 0,
        )


def _calls_for_year(t: YearTarget, plan: _Plan, tz: _Tz, closed: I64, seed: int) -> pl.DataFrame:
    y = t.jaar
    rng = np.random.default_rng(np.random.SeedSequence([seed, y, 1]))
    days = _Days.of(y, closed)
    n14 = t.telefoontjes_14030
    n030 = t.telefoontjes_gemeente - n14
    forward_share = float(np.clip(0.09 - 0.01 * (y - 2016), 0.03, 0.09))
    n_fwd = round(n14 * forward_share / (1 - forward_share))

    level = days.season() * days.covid_calls()
    w030 = level * WD_030[days.weekday] * days.open
    w14 = level * WD_14030[days.weekday] * days.open
    kind = np.concatenate(
        [np.zeros(n030, np.int64), np.ones(n14, np.int64), np.full(n_fwd, 2, np.int64)]
    )  # 0 = 030, 1 = 14 030 for Utrecht, 2 = 14 030 forwarded
    day_idx = np.concatenate([_allocate(rng, n030, w030), _allocate(rng, n14, w14), _allocate(rng, n_fwd, w14)])
    wd = days.weekday[day_idx]
    short = (wd == 2) | (wd == 4)
    opens = np.where(kind == 0, OPEN_030[0], OPEN_14030_LONG[0])
    closes = np.where(kind == 0, OPEN_030[1], np.where(short, OPEN_14030_SHORT[1], OPEN_14030_LONG[1]))
    span = closes - opens
    sec = opens + np.minimum((rng.beta(1.7, 2.6, kind.size) * span).astype(np.int64), span - 1)
    utc = tz.to_utc(days.day[day_idx] * DAY + sec)

    order = np.lexsort((kind, utc))
    kind, day_idx, sec, utc, closes = kind[order], day_idx[order], sec[order], utc[order], closes[order]
    n = kind.size
    day = days.day[day_idx]
    load_per_day = np.bincount(day_idx, minlength=days.day.size).astype(np.float64)
    mean_load = load_per_day[load_per_day > 0].mean() if n else 1.0
    load = load_per_day[day_idx] / mean_load

    keuze = np.zeros(n, np.int64)
    is14 = kind == 1
    keuze[is14] = 1 + _choice(rng, int(is14.sum()), (0.72, 0.10, 0.18))
    fwd = kind == 2
    keuze[fwd] = 4 + _choice(rng, int(fwd.sum()), (0.35, 0.20, 0.30, 0.15))

    counted = np.flatnonzero(kind < 2)
    answered = np.zeros(n, np.bool_)
    answered[counted] = _pick_exact(rng, 1.0 / load[counted], t.answered)
    afh = np.where(fwd, 2, np.where(answered, 0, 1)).astype(np.int64)

    queue = _choice(rng, n, (0.36, 0.24, 0.12, 0.12, 0.10, 0.06))
    if y == 2020:
        tozo = (day >= _eday(dt.date(2020, 3, 16))) & (day < _eday(dt.date(2020, 7, 1)))
        queue[tozo & (rng.random(n) < 0.3)] = 3
    queue[fwd] = 5
    wait = np.where(
        answered,
        rng.lognormal(np.log(50.0), 0.9, n) * load**0.8,
        rng.lognormal(np.log(75.0), 1.0, n),
    )
    wait = np.where(fwd, 0, np.clip(wait, 0, 3000)).astype(np.int64)
    talk = np.where(answered, np.clip(rng.lognormal(np.log(190.0), 0.75, n), 5, 5400), 0).astype(np.int64)
    beller = _callers(rng, n)

    cols: dict[str, I64] = {
        "seq": np.arange(1, n + 1, dtype=np.int64),
        "utc": utc,
        "kind": kind,
        "keuze": keuze,
        "queue": queue,
        "afh": afh,
        "wait": wait,
        "talk": talk,
        "caller": np.arange(n, dtype=np.int64),
        "_eday": day + 1,
        "_corr": np.zeros(n, np.int64),
    }

    # Correction files: calls of 2-8 days before the file's date re-delivered with the right values;
    # the regular export (and its overlap in the next file, both sorting before) had a wrong field.
    first_c = _eday(dt.date(y, 1, 10))
    last_c = _eday(dt.date(y, 12, 31))
    corr_days = np.sort(rng.choice(np.arange(first_c, last_c + 1), plan.call_corrections, replace=False))
    taken = np.zeros(n, np.bool_)
    fixes: list[I64] = []
    fix_day: list[I64] = []
    for c in corr_days:
        pool = np.flatnonzero((day >= c - 8) & (day <= c - 2) & ~taken)
        if pool.size == 0:
            continue
        k = min(int(pool.size), int(rng.integers(8, 41)))
        chosen = np.sort(rng.choice(pool, k, replace=False))
        taken[chosen] = True
        fixes.append(chosen)
        fix_day.append(np.full(k, c, np.int64))
    fixed = np.concatenate(fixes) if fixes else np.zeros(0, np.int64)
    truth = {name: values[fixed].copy() for name, values in cols.items()}
    truth["_eday"] = np.concatenate(fix_day) if fix_day else np.zeros(0, np.int64)
    truth["_corr"] = np.ones(fixed.size, np.int64)
    how = rng.integers(0, 2, fixed.size)
    for i, way in zip(fixed.tolist(), how.tolist(), strict=True):
        if cols["kind"][i] == 2:  # forwarded call first exported as a Utrecht call
            cols["keuze"][i], cols["afh"][i], cols["queue"][i] = 1, 1, 0
            cols["wait"][i] = 20 + i % 200
        elif way == 0:  # answered <-> hung up
            if cols["afh"][i] == 0:
                cols["afh"][i], cols["talk"][i] = 1, 0
            else:
                cols["afh"][i], cols["talk"][i] = 0, 30 + i % 600
        else:  # wrong queue
            cols["queue"][i] = (cols["queue"][i] + 1) % 5
    rows = {name: np.concatenate([cols[name], truth[name]]) for name in cols}

    m = rows["seq"].size
    zulu_share = 0.15 + 0.1 * ((y * 7) % 3)
    spell = np.where(rows["kind"] == 0, _choice(rng, m, (0.5, 0.2, 0.15, 0.15)), 4 + _choice(rng, m, (0.7, 0.3)))
    keuze_text = _case_variants(_texts(KEUZES, rows["keuze"]), rng, 0.12)
    keuze_text = _vary(  # an empty choice on 14 030 means Geen keuze
        keuze_text, (rows["keuze"] == 3) & (rng.random(m) < 0.3), lambda v: pl.Series([""] * v.len())
    )
    formatted = pl.DataFrame(
        {
            "gesprek_id": _padded(f"{y}-" + pl.Series(rows["seq"]).cast(pl.String).str.zfill(7), rng, 0.001),
            "starttijd": _iso_texts(rows["utc"], tz.offset(rows["utc"]), rng.random(m) < zulu_share),
            "nummer": _padded(_texts(NUMMERS, spell), rng, 0.004),
            "keuze": _padded(keuze_text, rng, 0.004),
            "wachtrij": _padded(_texts(WACHTRIJEN, rows["queue"]), rng, 0.004),
            "afhandeling": _padded(_texts(AFHANDELINGEN, rows["afh"]), rng, 0.004),
            "wachttijd": _padded(pl.Series(rows["wait"]).cast(pl.String), rng, 0.001),
            "gespreksduur": pl.Series(rows["talk"]).cast(pl.String),
            "beller": beller.gather(pl.Series(rows["caller"])) if n else pl.Series([], dtype=pl.String),
            "_eday": rows["_eday"],
            "_corr": rows["_corr"] == 1,
            "_ord": rows["utc"],
            "_regular": rows["_corr"] == 0,
            "_kind": rows["kind"],
        }
    )

    # Late exports that overlap: on some days the calls of the last 20 minutes come again,
    # identical, in the next day's file. And a few rows repeated within their own file.
    overlap_days = np.flatnonzero(rng.random(days.day.size) < 0.15)
    late = np.isin(day_idx, overlap_days) & (sec >= closes - 1200)  # among the first n rows: regular
    overlap = formatted[np.flatnonzero(late)].with_columns(pl.col("_eday") + 1)
    dup = formatted[np.sort(rng.choice(m, int(m * 0.002), replace=False))] if m else formatted.clear()
    out = pl.concat([formatted, overlap, dup])
    out = _finish(out)
    out = _add_invalid_calls(out, y, plan, n_ids=m, rng=rng)
    return _quote_where_needed(out, CALL_FREE_TEXT).drop("_regular", "_kind")


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the file key (export day * 2, + 1 for the correction file) and the invalid-row hooks.

    Row order matters from here on: rows of a file with the same `_ord` keep the frame's order."""
    return frame.with_columns(
        (pl.col("_eday") * 2 + pl.col("_corr").cast(pl.Int64)).alias("_fk"),
        pl.lit("").alias("_tail"),
        pl.lit(False).alias("_cut"),
    ).drop("_corr")


def _eligible_files(frame: pl.DataFrame, first: int, last: int) -> list[int]:
    """Regular files (keys) of the year with at least 100 rows: each may take one invalid row."""
    sizes = (
        frame.select("_regular", "_eday", "_fk")
        .filter(pl.col("_regular") & pl.col("_eday").is_between(first, last))
        .group_by("_fk")
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") >= 100)
        .sort("_fk")
    )
    return [int(fk) for fk in sizes["_fk"].to_list()]


def _invalid_rows(
    frame: pl.DataFrame,
    rng: np.random.Generator,
    year: int,
    first: int,
    last: int,
    kinds: Sequence[str],
    make: Callable[[str, dict[str, str], int, int], dict[str, str]],
    n_ids: int,
) -> pl.DataFrame:
    """One invalid row in each of up to `2 * len(kinds)` eligible files, of rotating kinds, each
    made by `make(kind, template, year, fresh_number)` from a counted-looking template row."""
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
        values = make(kind, {k: str(v) for k, v in template_row.items()}, year, n_ids + 1 + number)
        row: dict[str, object] = dict(template_row)
        row.update({k: v for k, v in values.items() if not k.startswith("_")})
        row["_tail"] = ";x" if kind == "te veel velden" else ""
        row["_cut"] = kind == "te weinig velden"
        row["_regular"] = False
        extra.append(row)
    return pl.concat([frame, pl.DataFrame(extra, schema=frame.schema, orient="row")])


CALL_INVALID: Final = (
    "starttijd onleesbaar",
    "wachttijd negatief",
    "nummer onbekend",
    "keuze onbekend",
    "keuze bij 030",
    "lege id",
    "doorgeschakeld bij Utrecht",
    "Zeist niet doorgeschakeld",
    "te veel velden",
    "te weinig velden",
    "afhandeling onbekend",
    "gespreksduur zonder antwoord",
    "wachttijd geen getal",
)


def _make_invalid_call(kind: str, template: dict[str, str], year: int, number: int) -> dict[str, str]:
    row = {
        "gesprek_id": f"{year}-9{number:07d}",
        "starttijd": template["starttijd"],
        "nummer": "14030",
        "keuze": "Utrecht",
        "wachtrij": "Algemeen",
        "afhandeling": "beantwoord",
        "wachttijd": "42",
        "gespreksduur": "184",
        "beller": "0612345678",
    }
    match kind:
        case "starttijd onleesbaar":
            stamp = template["starttijd"]
            row["starttijd"] = f"{stamp[8:10]}-{stamp[5:7]}-{stamp[:4]} {stamp[11:16]}"
        case "wachttijd negatief":
            row["wachttijd"] = "-12"
        case "nummer onbekend":
            row["nummer"] = "0302860001"
        case "keuze onbekend":
            row["keuze"] = "Amersfoort"
        case "keuze bij 030":
            row["nummer"] = "030-2860000"
        case "lege id":
            row["gesprek_id"] = ""
        case "doorgeschakeld bij Utrecht":
            row["afhandeling"], row["gespreksduur"], row["wachtrij"] = "doorgeschakeld", "0", ""
        case "Zeist niet doorgeschakeld":
            row["keuze"] = "Zeist"
        case "afhandeling onbekend":
            row["afhandeling"] = "opgehangen"
        case "gespreksduur zonder antwoord":
            row["afhandeling"] = "verbroken"
        case "wachttijd geen getal":
            row["wachttijd"] = "42s"
        case "te veel velden" | "te weinig velden":
            pass
        case _:
            raise AssertionError(kind)
    return row


def _add_invalid_calls(
    frame: pl.DataFrame, year: int, plan: _Plan, n_ids: int, rng: np.random.Generator
) -> pl.DataFrame:
    last = _eday(dt.date(year, 12, 31))
    return _invalid_rows(frame, rng, year, plan.calls_first, last, CALL_INVALID, _make_invalid_call, n_ids)


# --------------------------------------------------------------------------------------------
# Appointments
# --------------------------------------------------------------------------------------------


def _appointments_for_year(t: YearTarget, plan: _Plan, tz: _Tz, closed: I64, seed: int) -> pl.DataFrame:
    y = t.jaar
    rng = np.random.default_rng(np.random.SeedSequence([seed, y, 2]))
    days = _Days.of(y, closed)
    v = t.baliebezoeken_met_afspraak
    base = days.season() * WD_BALIE[days.weekday] * days.open
    balie = base * days.covid_counters()
    lockdown = days.between((3, 16), (5, 11)) if y == 2020 else np.zeros(days.day.size, np.bool_)

    # kinds: 0 counted visit, 1 no-show, 2 cancelled, 3 other location, 4 by phone, 5 video
    sizes = [
        v,
        round(v * 0.03),
        round(v * 0.07),
        round(v * 0.04),
        round(v * 0.02),
        round(v * (0.12 if y == 2020 else 0.05)) if y >= 2020 else 0,
    ]
    weights = [balie, balie, base, balie, balie, base * np.where(lockdown, 3.0, 1.0)]
    kind = np.concatenate([np.full(s, k, np.int64) for k, s in enumerate(sizes)])
    day_idx = np.concatenate([_allocate(rng, s, w) for s, w in zip(sizes, weights, strict=True)])
    if y == 2020:  # appointments postponed in the lockdown: cancelled
        extra = round(v * 0.12)
        kind = np.concatenate([kind, np.full(extra, 2, np.int64)])
        day_idx = np.concatenate([day_idx, _allocate(rng, extra, base * lockdown)])
    n = kind.size
    day = days.day[day_idx]

    loc = np.where(rng.random(n) < 0.88, 0, 1).astype(np.int64)
    loc[kind == 3] = 2 + rng.integers(0, 2, int((kind == 3).sum()))
    loc[kind == 5] = 0
    kanaal = np.where(kind == 4, 2, np.where(kind == 5, 1, 0)).astype(np.int64)
    first_slot = np.array([SLOTS[LOCATIONS[0]][0], SLOTS[LOCATIONS[1]][0], SLOTS["other"][0], SLOTS["other"][0]])
    last_slot = np.array([SLOTS[LOCATIONS[0]][1], SLOTS[LOCATIONS[1]][1], SLOTS["other"][1], SLOTS["other"][1]])
    slots = (last_slot - first_slot) // 10 + 1
    minute = first_slot[loc] + 10 * (rng.random(n) * slots[loc]).astype(np.int64)
    appt = tz.to_utc(day * DAY + minute * 60)

    lead = np.clip(1 + rng.lognormal(np.log(7.0), 0.8, n).astype(np.int64), 1, LEAD_MAX_DAYS)
    book = tz.to_utc((day - lead) * DAY + rng.integers(7 * 3600, 23 * 3600 + 1800, n))
    moved = (rng.random(n) < 0.08) & (lead >= 3) & (kind != 2)
    moved_at = book + ((appt - book) * rng.uniform(0.2, 0.8, n)).astype(np.int64)
    orig_day = day + 7 * rng.integers(1, 3, n)
    orig_minute = first_slot[loc] + 10 * (rng.random(n) * slots[loc]).astype(np.int64)
    status = np.select([kind == 1, kind == 2], [2, 3], 1).astype(np.int64)
    final_at = np.where(
        kind == 2,
        book + ((appt - book) * rng.uniform(0.3, 0.98, n)).astype(np.int64),
        appt + np.where(kind == 1, rng.integers(900, 3600, n), rng.integers(300, 2700, n)),
    )
    product = _choice(rng, n, PRODUCT_P)
    people = _people(rng, n)

    ids = np.arange(1, n + 1, dtype=np.int64)
    n_moved = int(moved.sum())
    versions: dict[str, I64] = {
        "app": np.concatenate([ids - 1, np.flatnonzero(moved), ids - 1]),
        "datum": np.concatenate([np.where(moved, orig_day, day), day[moved], day]),
        "minute": np.concatenate([np.where(moved, orig_minute, minute), minute[moved], minute]),
        "status": np.concatenate([np.zeros(n + n_moved, np.int64), status]),
        "at": np.concatenate([book, moved_at[moved], final_at]),
        "final": np.concatenate([np.zeros(n + n_moved, np.int64), np.ones(n, np.int64)]),
    }
    versions["_eday"] = tz.local_day(versions["at"]) + 1
    versions["_corr"] = np.zeros(versions["at"].size, np.int64)
    final_rows = np.arange(n + n_moved, 2 * n + n_moved)

    # Correction files: the final version of some attended or missed appointments exported up to
    # ten days before, delivered again with the right status; half with the same `gewijzigd`.
    first_c = _eday(dt.date(y, 1, 15))
    last_c = _eday(dt.date(y, 12, 31))
    corr_days = np.sort(rng.choice(np.arange(first_c, last_c + 1), plan.appt_corrections, replace=False))
    final_eday = versions["_eday"][final_rows]
    taken = np.zeros(n, np.bool_)
    truth_parts: list[dict[str, I64]] = []
    for c in corr_days:
        pool = np.flatnonzero((final_eday >= c - 10) & (final_eday <= c) & (status != 3) & ~taken)
        if pool.size == 0:
            continue
        k = min(int(pool.size), int(rng.integers(5, 26)))
        chosen = np.sort(rng.choice(pool, k, replace=False))
        taken[chosen] = True
        rows = final_rows[chosen]
        part = {name: values[rows].copy() for name, values in versions.items()}
        later = rng.random(k) < 0.5
        part["at"] = part["at"] + np.where(later, rng.integers(60, 3600, k), 0)
        part["_eday"] = np.full(k, c, np.int64)
        part["_corr"] = np.ones(k, np.int64)
        truth_parts.append(part)
        versions["status"][rows] = np.where(versions["status"][rows] == 1, 2, 1)  # the wrong one
    if truth_parts:
        versions = {name: np.concatenate([versions[name]] + [p[name] for p in truth_parts]) for name in versions}

    m = versions["at"].size
    app = versions["app"]
    first_day = int(versions["datum"].min()) if m else 0
    day_texts = (
        [f"{EPOCH + dt.timedelta(days=d):%d-%m-%Y}" for d in range(first_day, int(versions["datum"].max()) + 1)]
        if m
        else []
    )
    formatted = pl.DataFrame(
        {
            "afspraak_id": f"A{y}-" + pl.Series(app + 1).cast(pl.String).str.zfill(7),
            "locatie": _padded(_texts(LOCATIONS, loc[app]), rng, 0.003),
            "kanaal": _padded(_texts(KANALEN, kanaal[app]), rng, 0.002),
            "product": _texts(PRODUCTS, product[app]),
            "datum": _texts(day_texts, versions["datum"] - first_day),
            "tijd": _texts(CLOCK, versions["minute"]),
            "status": _padded(_case_variants(_texts(STATUSES, versions["status"]), rng, 0.1), rng, 0.003),
            "gewijzigd": _iso_texts(versions["at"], tz.offset(versions["at"]), rng.random(m) < 0.2),
            "bsn": people["bsn"].gather(pl.Series(app)),
            "naam": _padded(people["naam"].gather(pl.Series(app)), rng, 0.003),
            "telefoon": people["telefoon"].gather(pl.Series(app)),
            "email": people["email"].gather(pl.Series(app)),
            "_eday": versions["_eday"],
            "_corr": versions["_corr"] == 1,
            "_ord": versions["at"],
            "_regular": versions["_corr"] == 0,
            "_kind": ((kind[app] == 0) & (versions["final"] == 1)).astype(np.int64),
        }
    )

    # Stale re-exports: the booking version again in a file 1-3 days after the final version.
    stale_apps = np.flatnonzero(rng.random(n) < 0.01)
    stale = formatted[stale_apps].with_columns(  # booking versions are the first n rows
        pl.min_horizontal(
            pl.Series(final_eday[stale_apps] + rng.integers(1, 4, stale_apps.size)), pl.lit(plan.appts_last)
        ).alias("_eday"),
        pl.lit(False).alias("_regular"),
    )
    dup = formatted[np.sort(rng.choice(m, int(m * 0.002), replace=False))] if m else formatted.clear()
    out = _finish(pl.concat([formatted, stale, dup]))
    last = _eday(dt.date(y, 12, 31))
    first = _eday(dt.date(y, 1, 1)) + 1
    out = _invalid_rows(out, rng, y, first, last, APPT_INVALID, _make_invalid_appt, n)
    return _quote_where_needed(out, APPT_FREE_TEXT).drop("_regular", "_kind")


APPT_INVALID: Final = (
    "datum bestaat niet",
    "datum onleesbaar",
    "tijd onleesbaar",
    "status onbekend",
    "kanaal onbekend",
    "lege id",
    "gewijzigd onleesbaar",
    "te veel velden",
    "te weinig velden",
)


def _make_invalid_appt(kind: str, template: dict[str, str], year: int, number: int) -> dict[str, str]:
    row = {
        "afspraak_id": f"A{year}-9{number:07d}",
        "locatie": "Stadskantoor",
        "kanaal": "balie",
        "product": "Paspoort",
        "datum": template["datum"],
        "tijd": "10:30",
        "status": "verschenen",
        "gewijzigd": template["gewijzigd"],
        "bsn": "123456782",
        "naam": "Zoë Çelik",
        "telefoon": "0612345678",
        "email": "zoe.celik@example.com",
    }
    match kind:
        case "datum bestaat niet":
            row["datum"] = f"31-02-{year}"
        case "datum onleesbaar":
            day = template["datum"]
            row["datum"] = f"{day[6:]}-{day[3:5]}-{day[:2]}"
        case "tijd onleesbaar":
            row["tijd"] = "25:70"
        case "status onbekend":
            row["status"] = "afgezegd"
        case "kanaal onbekend":
            row["kanaal"] = "loket"
        case "lege id":
            row["afspraak_id"] = ""
        case "gewijzigd onleesbaar":
            row["gewijzigd"] = f"{year}-02-30T10:00:00+01:00"
        case "te veel velden" | "te weinig velden":
            pass
        case _:
            raise AssertionError(kind)
    return row


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FileFormat:
    encoding: str
    newline: str
    columns: tuple[str, ...]  # canonical names, EXTRA_COLUMN for the unknown one
    header: tuple[str, ...]
    quote_all: bool
    extra_value: str


def _file_format(source: str, name: str, seed: int) -> _FileFormat:
    """The format of one file, drawn from `seed` and the file name alone."""
    rnd = random.Random(f"{seed}/{name}")
    year = int(name[len(source) + 1 : len(source) + 5])
    if year <= 2018:
        encoding = "cp1252" if rnd.random() < 0.93 else "utf-8"
    else:
        encoding = "utf-8-sig" if rnd.random() < 0.4 else "utf-8"
    newline = "\r\n" if rnd.random() < (0.85 if encoding == "cp1252" else 0.3) else "\n"
    canonical, optional = (CALL_COLUMNS, CALL_OPTIONAL) if source == CALLS else (APPT_COLUMNS, APPT_OPTIONAL)
    columns = list(canonical)
    if rnd.random() < 0.03:
        columns = [c for c in columns if c not in optional]
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


def _quote_where_needed(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """RFC 4180: a value with `;`, `"` or a line break goes in quotes, inner quotes doubled. Done once
    for all rows; a cell that starts with a quote is therefore always an already quoted one."""

    def quote(values: pl.Series) -> pl.Series:
        return '"' + values.str.replace_all('"', '""', literal=True) + '"'

    return frame.with_columns(
        _vary(frame[c], frame[c].str.contains_any([";", '"', "\n", "\r"]).to_numpy(), quote) for c in columns
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
    def __init__(self, out_dir: Path, seed: int, total: int, progress: Callable[[int, int], None] | None) -> None:
        self.out_dir = out_dir
        self.seed = seed
        self.total = total
        self.progress = progress
        self.done = 0
        self.files = 0
        self.rows = {CALLS: 0, APPTS: 0}

    def step(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    def write(self, source: str, keys: Sequence[int], rows: pl.DataFrame) -> pl.DataFrame:
        """Write the files `keys` (ascending) from `rows`; return the rows of later files."""
        # one stable sort (file, then time; ties keep the frame's order), then a slice per file
        ordered = rows.sort(pl.col("_fk") * (1 << 33) + pl.col("_ord"), maintain_order=True)
        fks = ordered["_fk"].to_numpy()
        starts = np.searchsorted(fks, np.asarray(keys, dtype=np.int64), side="left")
        ends = np.searchsorted(fks, np.asarray(keys, dtype=np.int64), side="right")
        done = int(ends[-1]) if len(keys) else 0
        if int((ends - starts).sum()) != done:
            raise AssertionError(f"{source}: rows for files outside the plan")

        def write_one(key: int, start: int, end: int) -> int:
            name = _file_name(source, key)
            fmt = _file_format(source, name, self.seed)
            data = _file_text(ordered.slice(start, end - start), fmt).encode(fmt.encoding)
            folder = self.out_dir / source / name[len(source) + 1 : len(source) + 5]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
            return end - start

        # files are independent and Polars releases the GIL: two threads keep two cores busy
        with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
            for n_rows in pool.map(write_one, keys, starts.tolist(), ends.tolist()):
                self.files += 1
                self.rows[source] += n_rows
                self.step()
        return ordered.slice(done)


def _regular_keys(spans: Iterable[tuple[int, int]]) -> set[int]:
    return {2 * eday for first, last in spans for eday in range(first, last + 1)}


def generate(
    targets_csv: Path,
    out_dir: Path,
    seed: int = 2020,
    progress: Callable[[int, int], None] | None = None,
) -> GenerateSummary:
    """Write synthetic deliveries for every year in `targets_csv` into `out_dir`.

    `out_dir/afspraken/<YYYY>/afspraken_<YYYYMMDD>[_correctie].csv` and the same for `telefonie`,
    the date being the export day and the folder its year; plus `out_dir/README.txt`. The figures
    of `shared/spec/kpis.md` computed from these files equal the targets exactly. `progress(done,
    total)` is called after each year drawn and each file written. Raises ValueError on a bad
    targets file and FileExistsError if `out_dir` already holds deliveries.
    """
    targets = load_targets(Path(targets_csv))
    out_dir = Path(out_dir)
    for source in (APPTS, CALLS):
        folder = out_dir / source
        if folder.exists() and any(p.is_file() for p in folder.rglob("*")):
            raise FileExistsError(f"{folder} already holds files; generate into an empty folder")
    seed_key = seed % (1 << 64)
    years = [t.jaar for t in targets]
    tz = _Tz(min(years) - 1, max(years) + 1)
    closed = _closed_days(range(min(years) - 1, max(years) + 2))
    plans = [_Plan.of(t) for t in targets]
    keys = {
        CALLS: _regular_keys((p.calls_first, p.calls_last) for p in plans),
        APPTS: _regular_keys((p.appts_first, p.appts_last) for p in plans),
    }
    total = len(targets) + sum(map(len, keys.values())) + sum(p.call_corrections + p.appt_corrections for p in plans)
    writer = _Writer(out_dir, seed_key, total, progress)
    if progress is not None:
        progress(0, total)

    pending: dict[str, pl.DataFrame | None] = {CALLS: None, APPTS: None}
    for i, (t, plan) in enumerate(zip(targets, plans, strict=True)):
        new = {
            CALLS: _calls_for_year(t, plan, tz, closed, seed_key),
            APPTS: _appointments_for_year(t, plan, tz, closed, seed_key),
        }
        writer.step()
        nxt = plans[i + 1] if i + 1 < len(plans) else None
        for source in (CALLS, APPTS):
            frame = new[source]
            wanted = plan.call_corrections if source == CALLS else plan.appt_corrections
            keys[source] |= _correction_keys(frame, plan.year, wanted)
            before = pending[source]
            rows = frame if before is None else pl.concat([before, frame])
            # files the next year cannot add rows to are complete: write them, keep the rest
            boundary = None if nxt is None else nxt.calls_first if source == CALLS else nxt.appts_first
            ready = sorted(k for k in keys[source] if boundary is None or k < 2 * boundary)
            pending[source] = writer.write(source, ready, rows)
            keys[source].difference_update(ready)
    for source, left in pending.items():
        if left is not None and left.height:
            raise AssertionError(f"{source}: {left.height} rows for files outside the plan")
    readme = README.format(years=", ".join(map(str, years)), seed=seed)
    (out_dir / "README.txt").write_text(readme, encoding="utf-8")
    return GenerateSummary(
        years=tuple(years),
        files_written=writer.files,
        call_rows=writer.rows[CALLS],
        appointment_rows=writer.rows[APPTS],
    )


def _correction_keys(frame: pl.DataFrame, year: int, wanted: int) -> set[int]:
    """The year's correction files: those with rows, topped up to the planned number with header-only
    ones (at the end of the year), so that the number of files is known before drawing."""
    found = {int(k) for k in frame.select("_fk").filter(pl.col("_fk") % 2 == 1).unique()["_fk"].to_list()}
    day = _eday(dt.date(year, 12, 31))
    while len(found) < wanted:
        found.add(2 * day + 1)
        day -= 1
    return found
