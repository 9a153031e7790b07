"""Sample call-detail exports whose call figures equal a year's targets exactly.

Calls on 030-2860000 and on 14 030 (with the calls the menu sends on to the four other
municipalities), answered exactly as often as the reachability target says, with the noise real
exports have: late exports that overlap the next day's file, rows repeated within a file, correction
files that fix earlier rows, invalid rows of every kind, and varying spellings, case and padding.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from pipeline.kit import sampling as kit
from pipeline.sources.telefonie.parse import PERSONAL, REQUIRED

IDS: Final = kit.RecordIds("gesprek_id", "")
STREAM: Final = 1  # this source's random stream (rng_for); the registry refuses a clash

COLUMNS: Final = (*REQUIRED, *PERSONAL)
OPTIONAL: Final = PERSONAL
# Columns whose values may hold `;` or `"` (the others are codes, numbers, dates and ids we draw).
FREE_TEXT: Final = ("wachtrij", "beller")
MAX_CALLS: Final = 5_000_000  # per figure and year; keeps a typo from filling the disk

KEUZES: Final = ("", "Utrecht", "Overig", "Geen keuze", "Zeist", "Houten", "Nieuwegein", "IJsselstein")
AFHANDELINGEN: Final = ("beantwoord", "verbroken", "doorgeschakeld")
WACHTRIJEN: Final = ("Algemeen", "Burgerzaken", "Belastingen", "Werk en Inkomen", "Parkeren", "")
NUMMERS: Final = ("0302860000", "030-2860000", "030 286 0000", "+31302860000", "14030", "14 030")

# Day-of-week factors (Monday first); 14 030 is open only in the morning on Wednesday and Friday.
WD_030: Final = np.array([1.25, 1.05, 1.0, 0.95, 0.85, 0.0, 0.0])
WD_14030: Final = np.array([1.25, 1.05, 0.6, 0.95, 0.5, 0.0, 0.0])
OPEN_030: Final = (8 * 3600 + 1800, 17 * 3600)
OPEN_14030_LONG: Final = (9 * 3600, 17 * 3600)  # Monday, Tuesday, Thursday
OPEN_14030_SHORT: Final = (9 * 3600, 13 * 3600)  # Wednesday, Friday


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


class CallsSample:
    """The sample profile of the telephony platform."""

    stream: int = STREAM
    example: kit.Target = {"telefoontjes_gemeente": 6000, "telefoontjes_14030": 3500, "bereikbaarheid_pct": 85}  # noqa: RUF012 (never changed)
    target_columns: tuple[str, ...] = ("telefoontjes_gemeente", "telefoontjes_14030", "bereikbaarheid_pct")
    columns: tuple[str, ...] = COLUMNS
    optional: tuple[str, ...] = OPTIONAL

    def check(self, target: kit.Target, where: str) -> None:
        calls, via_14030, pct = (target.get(c) for c in self.target_columns)
        if calls is None or via_14030 is None:
            raise ValueError(f"{where}: telefoontjes_gemeente and telefoontjes_14030 must both be given")
        for name, value in (("telefoontjes_gemeente", calls), ("telefoontjes_14030", via_14030)):
            if value > MAX_CALLS:
                raise ValueError(f"{where}: {name} {value} is more than the supported {MAX_CALLS}")
        if via_14030 > calls:
            raise ValueError(f"{where}: telefoontjes_14030 ({via_14030}) exceeds telefoontjes_gemeente ({calls})")
        if calls == 0:
            if pct is not None:
                raise ValueError(f"{where}: bereikbaarheid_pct must be empty when there are no calls")
            return
        if pct is None:
            raise ValueError(f"{where}: bereikbaarheid_pct is empty but there are calls")
        if pct > 100:
            raise ValueError(f"{where}: bereikbaarheid_pct {pct} is above 100")
        if answered_for(calls, pct) is None:
            raise ValueError(f"{where}: no number of answered calls out of {calls} rounds to bereikbaarheid_pct {pct}")

    def plan(self, year: int, target: kit.Target) -> kit.YearPlan:
        calls = target["telefoontjes_gemeente"] or 0
        # Regular exports from 2 January (the calls of 1 January) to 2 January of the next year.
        return kit.year_plan(year, 0, corrections=4 if calls >= 500 else 0)

    def draw(self, year: int, target: kit.Target, plan: kit.YearPlan, world: kit.World, seed: int) -> pl.DataFrame:
        calls, via_14030, pct = (target[c] for c in self.target_columns)
        assert calls is not None and via_14030 is not None  # checked by `check`
        answered = 0 if pct is None else answered_for(calls, pct)
        assert answered is not None  # checked by `check`
        return _calls_for_year(year, calls, via_14030, answered, plan, world, seed)


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


def _covid(days: kit.Days) -> kit.F64:
    """Spring 2020: Tozo and other new schemes; calls much higher from 16 March."""
    factor = np.ones(days.day.size)
    if days.year == 2020:
        factor[days.between((3, 16), (5, 1))] = 2.2
        factor[days.between((5, 1), (6, 1))] = 1.7
        factor[days.between((6, 1), (7, 1))] = 1.25
        factor[days.between((10, 15), (12, 31))] = 1.1
    return factor


def _calls_for_year(
    y: int, calls: int, calls_14030: int, answered_calls: int, plan: kit.YearPlan, world: kit.World, seed: int
) -> pl.DataFrame:
    rng = kit.rng_for(seed, y, STREAM)
    days = world.days(y)
    placed = _placed(rng, y, calls, calls_14030, days, world.tz)
    cols, beller = _calls(rng, y, placed, days, answered_calls)
    rows = _corrected(rng, y, plan, cols, days.day[placed.day_idx])
    formatted = _formatted(rng, y, rows, beller, world.tz)
    # Late exports that overlap: on some days the calls of the last 20 minutes come again,
    # identical, in the next day's file. And a few rows repeated within their own file.
    overlap_days = np.flatnonzero(rng.random(days.day.size) < 0.15)
    late = np.isin(placed.day_idx, overlap_days) & (placed.sec >= placed.closes - 1200)  # regular rows
    overlap = formatted[np.flatnonzero(late)].with_columns(pl.col("_eday") + 1)
    out = pl.concat([formatted, overlap, kit.repeated(rng, formatted)])
    return kit.finish(out, rng, y, INVALID, formatted.height, FREE_TEXT)


@dataclass(frozen=True)
class _Placed:
    """Every call's kind (0 = 030, 1 = 14 030 for Utrecht, 2 = 14 030 forwarded), day and second, in
    order of time."""

    kind: kit.I64
    day_idx: kit.I64
    sec: kit.I64
    utc: kit.I64
    closes: kit.I64  # when its line closed that day (seconds after midnight)


def _placed(rng: np.random.Generator, y: int, calls: int, calls_14030: int, days: kit.Days, tz: kit.Tz) -> _Placed:
    n14 = calls_14030
    n030 = calls - n14
    forward_share = float(np.clip(0.09 - 0.01 * (y - 2016), 0.03, 0.09))
    n_fwd = round(n14 * forward_share / (1 - forward_share))

    level = days.season() * _covid(days)
    w030 = level * WD_030[days.weekday] * days.open
    w14 = level * WD_14030[days.weekday] * days.open
    kind = np.concatenate([np.zeros(n030, np.int64), np.ones(n14, np.int64), np.full(n_fwd, 2, np.int64)])
    day_idx = np.concatenate(
        [kit.allocate(rng, n030, w030), kit.allocate(rng, n14, w14), kit.allocate(rng, n_fwd, w14)]
    )
    wd = days.weekday[day_idx]
    short = (wd == 2) | (wd == 4)
    opens = np.where(kind == 0, OPEN_030[0], OPEN_14030_LONG[0])
    closes = np.where(kind == 0, OPEN_030[1], np.where(short, OPEN_14030_SHORT[1], OPEN_14030_LONG[1]))
    span = closes - opens
    sec = opens + np.minimum((rng.beta(1.7, 2.6, kind.size) * span).astype(np.int64), span - 1)
    utc = tz.to_utc(days.day[day_idx] * kit.DAY + sec)
    order = np.lexsort((kind, utc))
    return _Placed(kind[order], day_idx[order], sec[order], utc[order], closes[order])


def _calls(
    rng: np.random.Generator, y: int, placed: _Placed, days: kit.Days, answered_calls: int
) -> tuple[kit.Versions, pl.Series]:
    """What became of every call (menu choice, answered, queue, waiting and talking), and its caller."""
    kind, day_idx = placed.kind, placed.day_idx
    n = kind.size
    day = days.day[day_idx]
    load_per_day = np.bincount(day_idx, minlength=days.day.size).astype(np.float64)
    mean_load = load_per_day[load_per_day > 0].mean() if n else 1.0
    load = load_per_day[day_idx] / mean_load

    keuze = np.zeros(n, np.int64)
    is14 = kind == 1
    keuze[is14] = 1 + kit.choice(rng, int(is14.sum()), (0.72, 0.10, 0.18))
    fwd = kind == 2
    keuze[fwd] = 4 + kit.choice(rng, int(fwd.sum()), (0.35, 0.20, 0.30, 0.15))

    counted = np.flatnonzero(kind < 2)
    answered = np.zeros(n, np.bool_)
    answered[counted] = kit.pick_exact(rng, 1.0 / load[counted], answered_calls)
    afh = np.where(fwd, 2, np.where(answered, 0, 1)).astype(np.int64)

    queue = kit.choice(rng, n, (0.36, 0.24, 0.12, 0.12, 0.10, 0.06))
    if y == 2020:
        tozo = (day >= kit.eday(dt.date(2020, 3, 16))) & (day < kit.eday(dt.date(2020, 7, 1)))
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
    cols: kit.Versions = {
        "seq": np.arange(1, n + 1, dtype=np.int64),
        "utc": placed.utc,
        "kind": kind,
        "keuze": keuze,
        "queue": queue,
        "afh": afh,
        "wait": wait,
        "talk": talk,
        "caller": np.arange(n, dtype=np.int64),
    }
    return kit.exported_next_day(cols, day), beller


def _corrected(rng: np.random.Generator, y: int, plan: kit.YearPlan, cols: kit.Versions, day: kit.I64) -> kit.Versions:
    """Correction files: calls of 2-8 days before the file's date re-delivered with the right values;
    the regular export (and its overlap in the next file, both sorting before) had a wrong field."""
    first_c = kit.eday(dt.date(y, 1, 10))
    last_c = kit.eday(dt.date(y, 12, 31))
    corr_days = np.sort(rng.choice(np.arange(first_c, last_c + 1), plan.corrections, replace=False))
    taken = np.zeros(day.size, np.bool_)
    fixes: list[kit.I64] = []
    fix_day: list[kit.I64] = []
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
    return {name: np.concatenate([cols[name], truth[name]]) for name in cols}


def _formatted(rng: np.random.Generator, y: int, rows: kit.Versions, beller: pl.Series, tz: kit.Tz) -> pl.DataFrame:
    """The calls as the platform writes them, with the hooks `finish` needs."""
    m = rows["seq"].size
    zulu_share = 0.15 + 0.1 * ((y * 7) % 3)
    spell = np.where(rows["kind"] == 0, kit.choice(rng, m, (0.5, 0.2, 0.15, 0.15)), 4 + kit.choice(rng, m, (0.7, 0.3)))
    keuze_text = kit.case_variants(kit.texts(KEUZES, rows["keuze"]), rng, 0.12)
    keuze_text = kit.vary(  # an empty choice on 14 030 means Geen keuze
        keuze_text, (rows["keuze"] == 3) & (rng.random(m) < 0.3), lambda v: pl.Series([""] * v.len())
    )
    return pl.DataFrame(
        {
            "gesprek_id": kit.padded(IDS.drawn(y, rows["seq"]), rng, 0.001),
            "starttijd": kit.moment_texts(rng, tz, rows["utc"], zulu_share),
            "nummer": kit.padded(kit.texts(NUMMERS, spell), rng, 0.004),
            "keuze": kit.padded(keuze_text, rng, 0.004),
            "wachtrij": kit.padded(kit.texts(WACHTRIJEN, rows["queue"]), rng, 0.004),
            "afhandeling": kit.padded(kit.texts(AFHANDELINGEN, rows["afh"]), rng, 0.004),
            "wachttijd": kit.padded(pl.Series(rows["wait"]).cast(pl.String), rng, 0.001),
            "gespreksduur": pl.Series(rows["talk"]).cast(pl.String),
            "beller": beller.gather(pl.Series(rows["caller"])) if beller.len() else pl.Series([], dtype=pl.String),
            **kit.hooks(rows, rows["utc"], rows["kind"]),
        }
    )


def _day_first(stamp: str) -> str:
    """An ISO 8601 moment written as `dd-mm-yyyy hh:mm`, which the platform's export never writes."""
    return f"{stamp[8:10]}-{stamp[5:7]}-{stamp[:4]} {stamp[11:16]}"


INVALID: Final = kit.InvalidRows(
    IDS,
    PERSONAL,
    valid={
        "nummer": "14030",
        "keuze": "Utrecht",
        "wachtrij": "Algemeen",
        "afhandeling": "beantwoord",
        "wachttijd": "42",
        "gespreksduur": "184",
    },
    kinds={
        "starttijd onleesbaar": lambda template, _: {"starttijd": _day_first(template["starttijd"])},
        "wachttijd negatief": {"wachttijd": "-12"},
        "nummer onbekend": {"nummer": "0302860001"},
        "keuze onbekend": {"keuze": "Amersfoort"},
        "keuze bij 030": {"nummer": "030-2860000"},
        "lege id": {"gesprek_id": ""},
        "doorgeschakeld bij Utrecht": {"afhandeling": "doorgeschakeld", "gespreksduur": "0", "wachtrij": ""},
        "Zeist niet doorgeschakeld": {"keuze": "Zeist"},
        **kit.RAGGED_ROWS,
        "afhandeling onbekend": {"afhandeling": "opgehangen"},
        "gespreksduur zonder antwoord": {"afhandeling": "verbroken"},
        "wachttijd geen getal": {"wachttijd": "42s"},
    },
)
