"""Sample appointment exports whose counter visits equal a year's target exactly.

Every appointment is exported when booked, again when moved, and again in its final state (attended,
missed or cancelled); with stale re-exports, rows repeated within a file, correction files, invalid
rows of every kind, video appointments from 2020 and the 2020 lockdown at the counters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from pipeline.kit import sampling as kit
from pipeline.sources.afspraken.parse import PERSONAL, REQUIRED

IDS: Final = kit.RecordIds("afspraak_id", "A")
STREAM: Final = 2  # this source's random stream (rng_for); the registry refuses a clash

COLUMNS: Final = (*REQUIRED, *PERSONAL)
OPTIONAL: Final = ("telefoon", "email")
# Columns whose values may hold `;` or `"` (the others are codes, numbers, dates and ids we draw).
FREE_TEXT: Final = ("locatie", "product", "naam", "email")
MAX_VISITS: Final = 5_000_000  # per year; keeps a typo from filling the disk

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
WD_BALIE: Final = np.array([1.0, 1.05, 1.0, 1.1, 0.85, 0.0, 0.0])
LEAD_MAX_DAYS: Final = 56
CLOCK: Final = tuple(f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(24 * 60))
SLOTS: Final = {  # first and last slot start, minutes after midnight, every 10 minutes
    "Stadskantoor": (8 * 60 + 30, 16 * 60 + 50),
    "Wijkservicecentrum Vleuten-De Meern": (9 * 60, 15 * 60 + 50),
    "other": (9 * 60, 16 * 60 + 20),
}


class AppointmentsSample:
    """The sample profile of the appointment system."""

    stream: int = STREAM
    example: kit.Target = {"baliebezoeken_met_afspraak": 4000}  # noqa: RUF012 (never changed)
    target_columns: tuple[str, ...] = ("baliebezoeken_met_afspraak",)
    columns: tuple[str, ...] = COLUMNS
    optional: tuple[str, ...] = OPTIONAL

    def check(self, target: kit.Target, where: str) -> None:
        visits = target.get("baliebezoeken_met_afspraak")
        if visits is None:
            raise ValueError(f"{where}: baliebezoeken_met_afspraak must be given")
        if visits > MAX_VISITS:
            raise ValueError(f"{where}: baliebezoeken_met_afspraak {visits} is more than the supported {MAX_VISITS}")

    def plan(self, year: int, target: kit.Target) -> kit.YearPlan:
        visits = target["baliebezoeken_met_afspraak"] or 0
        # Bookings are exported up to eight weeks before the year; final states up to 2 January after it.
        return kit.year_plan(year, LEAD_MAX_DAYS, corrections=3 if visits >= 300 else 0)

    def draw(self, year: int, target: kit.Target, plan: kit.YearPlan, world: kit.World, seed: int) -> pl.DataFrame:
        visits = target["baliebezoeken_met_afspraak"]
        assert visits is not None  # checked by `check`
        return _appointments_for_year(year, visits, plan, world, seed)


def _covid(days: kit.Days) -> kit.F64:
    """2020: lockdown from mid-March, slow recovery from mid-May, a second dip in December."""
    factor = np.ones(days.day.size)
    if days.year == 2020:
        factor[days.between((3, 16), (5, 11))] = 0.07
        recovery = days.between((5, 11), (7, 1))
        factor[recovery] = np.linspace(0.3, 0.9, int(recovery.sum()))
        factor[days.between((7, 1), (12, 15))] = 0.9
        factor[days.between((12, 15), (12, 31))] = 0.5
    return factor


def _appointments_for_year(y: int, v: int, plan: kit.YearPlan, world: kit.World, seed: int) -> pl.DataFrame:
    rng = kit.rng_for(seed, y, STREAM)
    tz = world.tz
    appointments = _appointments(rng, y, v, world.days(y), tz)
    versions, final_rows = _versions(appointments, tz)
    # Correction files: the final version of some attended or missed appointments exported up to
    # ten days before, delivered again with the right status; half with the same `gewijzigd`.
    versions = kit.corrected(
        rng, versions, final_rows, y, plan.corrections, appointments.status != 3, 26, _wrong_status
    )
    # Stale re-exports: the booking version (the first n rows) again 1-3 days after the final version.
    out = kit.with_stale_reexports(
        rng, _formatted(rng, y, appointments, versions, tz), versions["_eday"][final_rows], plan.last_export
    )
    return kit.finish(out, rng, y, INVALID, appointments.kind.size, FREE_TEXT)


@dataclass(frozen=True)
class _Appointments:
    """One row per appointment: how it was booked, moved and ended (codes into the module's tuples)."""

    kind: kit.I64  # 0 counted visit, 1 no-show, 2 cancelled, 3 other location, 4 by phone, 5 video
    day: kit.I64
    loc: kit.I64
    kanaal: kit.I64
    minute: kit.I64
    book: kit.I64
    moved: kit.Mask
    moved_at: kit.I64
    orig_day: kit.I64
    orig_minute: kit.I64
    status: kit.I64
    final_at: kit.I64
    product: kit.I64
    citizens: dict[str, pl.Series]  # invented personal data


def _appointments(rng: np.random.Generator, y: int, v: int, days: kit.Days, tz: kit.Tz) -> _Appointments:
    base = days.season() * WD_BALIE[days.weekday] * days.open
    balie = base * _covid(days)
    lockdown = days.between((3, 16), (5, 11)) if y == 2020 else np.zeros(days.day.size, np.bool_)

    sizes = _sizes(y, v)
    weights = [balie, balie, base, balie, balie, base * np.where(lockdown, 3.0, 1.0)]
    kind = np.concatenate([np.full(s, k, np.int64) for k, s in enumerate(sizes)])
    day_idx = np.concatenate([kit.allocate(rng, s, w) for s, w in zip(sizes, weights, strict=True)])
    if y == 2020:  # appointments postponed in the lockdown: cancelled
        extra = round(v * 0.12)
        kind = np.concatenate([kind, np.full(extra, 2, np.int64)])
        day_idx = np.concatenate([day_idx, kit.allocate(rng, extra, base * lockdown)])
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
    appt = tz.to_utc(day * kit.DAY + minute * 60)

    lead = np.clip(1 + rng.lognormal(np.log(7.0), 0.8, n).astype(np.int64), 1, LEAD_MAX_DAYS)
    book = tz.to_utc((day - lead) * kit.DAY + rng.integers(7 * 3600, 23 * 3600 + 1800, n))
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
    product = kit.choice(rng, n, PRODUCT_P)
    citizens = kit.people(rng, n)
    return _Appointments(
        kind,
        day,
        loc,
        kanaal,
        minute,
        book,
        moved,
        moved_at,
        orig_day,
        orig_minute,
        status,
        final_at,
        product,
        citizens,
    )


def _sizes(y: int, v: int) -> list[int]:
    """How many appointments of each kind (see `_Appointments.kind`) a year of `v` counted visits has."""
    video = round(v * (0.12 if y == 2020 else 0.05)) if y >= 2020 else 0  # from 2020
    return [v, round(v * 0.03), round(v * 0.07), round(v * 0.04), round(v * 0.02), video]


def _versions(a: _Appointments, tz: kit.Tz) -> tuple[kit.Versions, kit.I64]:
    """Every appointment's versions: booked, moved (some), final; and the rows of the final ones."""
    n = a.kind.size
    ids = np.arange(1, n + 1, dtype=np.int64)
    n_moved = int(a.moved.sum())
    versions: kit.Versions = {
        "app": np.concatenate([ids - 1, np.flatnonzero(a.moved), ids - 1]),
        "datum": np.concatenate([np.where(a.moved, a.orig_day, a.day), a.day[a.moved], a.day]),
        "minute": np.concatenate([np.where(a.moved, a.orig_minute, a.minute), a.minute[a.moved], a.minute]),
        "status": np.concatenate([np.zeros(n + n_moved, np.int64), a.status]),
        "at": np.concatenate([a.book, a.moved_at[a.moved], a.final_at]),
        "final": np.concatenate([np.zeros(n + n_moved, np.int64), np.ones(n, np.int64)]),
    }
    return kit.exported_next_day(versions, tz.local_day(versions["at"])), np.arange(n + n_moved, 2 * n + n_moved)


def _wrong_status(versions: kit.Versions, rows: kit.I64) -> None:
    versions["status"][rows] = np.where(versions["status"][rows] == 1, 2, 1)


def _formatted(
    rng: np.random.Generator,
    y: int,
    a: _Appointments,
    versions: kit.Versions,
    tz: kit.Tz,
) -> pl.DataFrame:
    """The versions as the system writes them, with the hooks `finish` needs."""
    m = versions["at"].size
    app = versions["app"]
    first_day = int(versions["datum"].min()) if m else 0
    day_texts = (
        [f"{kit.EPOCH + dt.timedelta(days=d):%d-%m-%Y}" for d in range(first_day, int(versions["datum"].max()) + 1)]
        if m
        else []
    )
    return pl.DataFrame(
        {
            "afspraak_id": IDS.drawn(y, app + 1),
            "locatie": kit.padded(kit.texts(LOCATIONS, a.loc[app]), rng, 0.003),
            "kanaal": kit.padded(kit.texts(KANALEN, a.kanaal[app]), rng, 0.002),
            "product": kit.texts(PRODUCTS, a.product[app]),
            "datum": kit.texts(day_texts, versions["datum"] - first_day),
            "tijd": kit.texts(CLOCK, versions["minute"]),
            "status": kit.padded(kit.case_variants(kit.texts(STATUSES, versions["status"]), rng, 0.1), rng, 0.003),
            "gewijzigd": kit.moment_texts(rng, tz, versions["at"], 0.2),
            **kit.personal_texts(a.citizens, app, PERSONAL, rng),
            **kit.hooks(versions, versions["at"], ((a.kind[app] == 0) & (versions["final"] == 1)).astype(np.int64)),
        }
    )


INVALID: Final = kit.InvalidRows(
    IDS,
    PERSONAL,
    valid={
        "locatie": "Stadskantoor",
        "kanaal": "balie",
        "product": "Paspoort",
        "tijd": "10:30",
        "status": "verschenen",
    },
    kinds={
        "datum bestaat niet": lambda _, year: {"datum": f"31-02-{year}"},
        "datum onleesbaar": lambda t, _: {"datum": f"{t['datum'][6:]}-{t['datum'][3:5]}-{t['datum'][:2]}"},
        "tijd onleesbaar": {"tijd": "25:70"},
        "status onbekend": {"status": "afgezegd"},
        "kanaal onbekend": {"kanaal": "loket"},
        "lege id": {"afspraak_id": ""},
        "gewijzigd onleesbaar": lambda _, year: {"gewijzigd": f"{year}-02-30T10:00:00+01:00"},
        **kit.RAGGED_ROWS,
    },
)
