"""Sample case exports whose case figures equal a year's targets exactly.

Every case is exported when it is requested and again in its final state (completed or withdrawn).
Exactly the target numbers of passports and identity cards delivered at home and of births
registered online are completed in the year (local time); around them, cases of every other type
and channel, withdrawn cases, stale re-exports, rows repeated within a file, correction files
(the final version with the right channel, half with the same `gewijzigd`), invalid rows of every
kind and invented personal data (bsn, naam, adres). Online births are completed at any hour of any
day, so some fall on a UTC year edge; everything else is done on open days in office hours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from pipeline.kit.sampling import (
    DAY,
    I64,
    RAGGED,
    Days,
    Target,
    Tz,
    Versions,
    World,
    YearPlan,
    allocate,
    case_variants,
    corrected,
    eday,
    finish,
    iso_texts,
    padded,
    people,
    rng_for,
    texts,
    with_stale_reexports,
)

STREAM: Final = 3  # this source's random stream (rng_for); the registry refuses a clash

COLUMNS: Final = ("zaak_id", "zaaktype", "kanaal", "status", "afgerond_op", "gewijzigd", "bsn", "naam", "adres")
OPTIONAL: Final = ("adres",)
# Columns whose values may hold `;` or `"` (the others are codes, times and ids we draw).
FREE_TEXT: Final = ("naam", "adres")
MAX_CASES: Final = 2_000_000  # per figure and year; keeps a typo from filling the disk
LEAD_MAX_DAYS: Final = 21

ZAAKTYPEN: Final = ("reisdocument", "rijbewijs", "geboorteaangifte", "verhuizing", "uittreksel")
KANALEN: Final = ("balie", "thuisbezorgd", "digitaal", "post")
STATUSSEN: Final = ("aangevraagd", "afgerond", "ingetrokken")

# Kinds of case: (zaaktype, kanaal, share of the counted documents, share of the counted births).
# Kinds 0 and 1 are the two counted figures; the rest is what else the case system holds.
KINDS: Final = (
    (0, 1, 0.0, 0.0),  # reisdocument thuisbezorgd: counted
    (2, 2, 0.0, 0.0),  # geboorteaangifte digitaal: counted
    (0, 0, 0.9, 0.0),  # reisdocument at the counter
    (1, 1, 0.08, 0.0),  # rijbewijs delivered at home
    (1, 0, 0.3, 0.0),  # rijbewijs at the counter
    (2, 0, 0.0, 0.45),  # birth registered at the counter
    (3, 2, 0.5, 0.0),  # verhuizing online
    (4, 3, 0.15, 0.0),  # uittreksel by post
    (4, 2, 0.2, 0.0),  # uittreksel online
)
WITHDRAWN_SHARE: Final = 0.02
WD_OFFICE: Final = np.array([1.0, 1.05, 1.0, 1.1, 0.9, 0.0, 0.0])


class CasesSample:
    """The sample profile of the case system."""

    stream: int = STREAM
    example: Target = {"reisdocumenten_thuisbezorgd": 3000, "geboorteaangiften_digitaal": 500}  # noqa: RUF012 (never changed)
    target_columns: tuple[str, ...] = ("reisdocumenten_thuisbezorgd", "geboorteaangiften_digitaal")
    columns: tuple[str, ...] = COLUMNS
    optional: tuple[str, ...] = OPTIONAL

    def check(self, target: Target, where: str) -> None:
        for name in self.target_columns:
            value = target.get(name)
            if value is None:
                raise ValueError(f"{where}: {name} must be given (0 for none)")
            if value > MAX_CASES:
                raise ValueError(f"{where}: {name} {value} is more than the supported {MAX_CASES}")

    def plan(self, year: int, target: Target) -> YearPlan:
        cases = sum(target.get(c) or 0 for c in self.target_columns)
        # Requests are exported up to three weeks before the year; completions up to 2 January after it.
        return YearPlan(
            first_export=eday(dt.date(year, 1, 1)) - LEAD_MAX_DAYS + 1,
            last_export=eday(dt.date(year + 1, 1, 1)) + 1,
            corrections=2 if cases >= 300 else 0,
        )

    def draw(self, year: int, target: Target, plan: YearPlan, world: World, seed: int) -> pl.DataFrame:
        documents, births = (target[c] for c in self.target_columns)
        assert documents is not None and births is not None  # checked by `check`
        return _cases_for_year(year, documents, births, plan, world, seed)


def _cases_for_year(y: int, documents: int, births: int, plan: YearPlan, world: World, seed: int) -> pl.DataFrame:
    rng = rng_for(seed, y, STREAM)
    tz = world.tz
    cases = _cases(rng, documents, births, world.days(y), tz)
    versions, final_rows = _versions(cases, tz)
    # Correction files: the final version of some completed cases exported up to ten days before,
    # delivered again with the right channel (the regular export said balie); half with the same
    # `gewijzigd`, which the later file name then decides.
    eligible = (cases.kanaal != 0) & (cases.status == 1)
    versions = corrected(rng, versions, final_rows, y, plan.corrections, eligible, 21, _at_the_counter)
    formatted = _formatted(rng, y, cases, versions, tz)
    # Stale re-exports: the request version (the first `total` rows) again 1-3 days after the final version.
    out = with_stale_reexports(rng, formatted, versions["_eday"][final_rows], plan.last_export)
    first = eday(dt.date(y, 1, 1)) + 1
    return finish(out, rng, y, first, CASE_INVALID, _make_invalid_case, cases.kind.size, FREE_TEXT)


@dataclass(frozen=True)
class _Cases:
    """One row per case, completed or withdrawn (codes into the module's tuples)."""

    kind: I64  # an index into KINDS
    zaaktype: I64
    kanaal: I64
    status: I64  # 1 afgerond, 2 ingetrokken
    requested_at: I64
    final_at: I64
    done: I64  # when it was completed; 0 when withdrawn
    citizens: dict[str, pl.Series]  # invented personal data


def _cases(rng: np.random.Generator, documents: int, births: int, days: Days, tz: Tz) -> _Cases:
    office = days.season() * WD_OFFICE[days.weekday] * days.open
    every_day = days.season() + 0.2  # online births are completed by the system, any day

    sizes = [documents, births] + [round(documents * d + births * b) for _, _, d, b in KINDS[2:]]
    kind = np.concatenate([np.full(s, k, np.int64) for k, s in enumerate(sizes)])
    weights = [every_day if k == 1 else office for k in range(len(KINDS))]
    day_idx = np.concatenate([allocate(rng, s, w) for s, w in zip(sizes, weights, strict=True)])
    n = kind.size
    day = days.day[day_idx]
    zaaktype = np.array([z for z, _, _, _ in KINDS], np.int64)[kind]
    kanaal = np.array([k for _, k, _, _ in KINDS], np.int64)[kind]

    # Completion: office hours, or any second of the day for births registered online.
    online = kind == 1
    second = np.where(online, rng.integers(0, DAY, n), rng.integers(9 * 3600, 17 * 3600, n))
    done_at = tz.to_utc(day * DAY + second)
    lead = np.where(kanaal == 0, 0, np.clip(rng.geometric(0.25, n), 1, LEAD_MAX_DAYS))
    requested_at = done_at - lead * DAY - rng.integers(600, 4 * 3600, n)
    # A few more cases are requested and withdrawn (never completed): they count in no figure.
    withdrawn_n = round(n * WITHDRAWN_SHARE)
    w_idx = allocate(rng, withdrawn_n, office)
    w_kind = 2 + rng.integers(0, len(KINDS) - 2, withdrawn_n)
    w_at = tz.to_utc(days.day[w_idx] * DAY + rng.integers(9 * 3600, 17 * 3600, withdrawn_n))
    return _Cases(
        kind=np.concatenate([kind, w_kind]),
        zaaktype=np.concatenate([zaaktype, np.array([z for z, _, _, _ in KINDS], np.int64)[w_kind]]),
        kanaal=np.concatenate([kanaal, np.array([k for _, k, _, _ in KINDS], np.int64)[w_kind]]),
        status=np.concatenate([np.ones(n, np.int64), np.full(withdrawn_n, 2, np.int64)]),
        final_at=np.concatenate([done_at + rng.integers(1, 120, n), w_at]),
        requested_at=np.concatenate([requested_at, w_at - rng.integers(1, 10, withdrawn_n) * DAY]),
        done=np.concatenate([done_at, np.zeros(withdrawn_n, np.int64)]),
        citizens=people(rng, n + withdrawn_n),
    )


def _versions(c: _Cases, tz: Tz) -> tuple[Versions, I64]:
    """Every case's versions: requested, final; and the rows of the final ones."""
    total = c.kind.size
    ids = np.arange(total, dtype=np.int64)
    versions: Versions = {
        "case": np.concatenate([ids, ids]),
        "status": np.concatenate([np.zeros(total, np.int64), c.status]),
        "kanaal": np.concatenate([c.kanaal, c.kanaal]),
        "done": np.concatenate([np.zeros(total, np.int64), c.done]),
        "at": np.concatenate([c.requested_at, c.final_at]),
        "final": np.concatenate([np.zeros(total, np.int64), np.ones(total, np.int64)]),
    }
    versions["_eday"] = tz.local_day(versions["at"]) + 1
    versions["_corr"] = np.zeros(versions["at"].size, np.int64)
    return versions, np.arange(total, 2 * total)


def _at_the_counter(versions: Versions, rows: I64) -> None:
    versions["kanaal"][rows] = 0


def _formatted(rng: np.random.Generator, y: int, c: _Cases, versions: Versions, tz: Tz) -> pl.DataFrame:
    """The versions as the system writes them, with the hooks `finish` needs."""
    m = versions["at"].size
    case = versions["case"]
    done_text = iso_texts(versions["done"], tz.offset(versions["done"]), rng.random(m) < 0.3)
    return pl.DataFrame(
        {
            "zaak_id": f"Z{y}-" + pl.Series(case + 1).cast(pl.String).str.zfill(7),
            "zaaktype": case_variants(texts(ZAAKTYPEN, c.zaaktype[case]), rng, 0.05),
            "kanaal": padded(case_variants(texts(KANALEN, versions["kanaal"]), rng, 0.05), rng, 0.003),
            "status": padded(case_variants(texts(STATUSSEN, versions["status"]), rng, 0.05), rng, 0.003),
            "afgerond_op": done_text.zip_with(pl.Series(versions["status"] == 1), pl.Series([""] * m)),
            "gewijzigd": iso_texts(versions["at"], tz.offset(versions["at"]), rng.random(m) < 0.2),
            "bsn": c.citizens["bsn"].gather(pl.Series(case)),
            "naam": padded(c.citizens["naam"].gather(pl.Series(case)), rng, 0.003),
            "adres": c.citizens["adres"].gather(pl.Series(case)),
            "_eday": versions["_eday"],
            "_corr": versions["_corr"] == 1,
            "_ord": versions["at"],
            "_regular": versions["_corr"] == 0,
            "_kind": ((c.kind[case] < 2) & (versions["final"] == 1)).astype(np.int64),
        }
    )


CASE_INVALID: Final = (
    "zaaktype onbekend",
    "kanaal onbekend",
    "status onbekend",
    "lege id",
    "gewijzigd onleesbaar",
    "afgerond_op onleesbaar",
    "afgerond zonder afgerond_op",
    "afgerond_op bij aanvraag",
    "geboorteaangifte thuisbezorgd",
    *RAGGED,
)


def _make_invalid_case(kind: str, template: dict[str, str], year: int, number: int) -> dict[str, str]:
    row = {
        "zaak_id": f"Z{year}-9{number:07d}",
        "zaaktype": "reisdocument",
        "kanaal": "thuisbezorgd",
        "status": "afgerond",
        "afgerond_op": template["gewijzigd"],
        "gewijzigd": template["gewijzigd"],
        "bsn": "123456782",
        "naam": "Zoë Çelik",
        "adres": "Oudegracht 1, 3511 Utrecht",
    }
    match kind:
        case "zaaktype onbekend":
            row["zaaktype"] = "paspoort"
        case "kanaal onbekend":
            row["kanaal"] = "koerier"
        case "status onbekend":
            row["status"] = "gesloten"
        case "lege id":
            row["zaak_id"] = ""
        case "gewijzigd onleesbaar":
            row["gewijzigd"] = f"{year}-02-30T10:00:00+01:00"
        case "afgerond_op onleesbaar":
            row["afgerond_op"] = f"31-12-{year} 10:00"
        case "afgerond zonder afgerond_op":
            row["afgerond_op"] = ""
        case "afgerond_op bij aanvraag":
            row["status"] = "aangevraagd"
        case "geboorteaangifte thuisbezorgd":
            row["zaaktype"] = "geboorteaangifte"
        case _ if kind in RAGGED:
            pass  # made ragged by invalid_rows
        case _:
            raise AssertionError(kind)
    return row
