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

from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from pipeline.kit import sampling as kit
from pipeline.sources.zaken.parse import PERSONAL, REQUIRED

IDS: Final = kit.RecordIds("zaak_id", "Z")
STREAM: Final = 3  # this source's random stream (rng_for); the registry refuses a clash

COLUMNS: Final = (*REQUIRED, *PERSONAL)
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
    example: kit.Target = {"reisdocumenten_thuisbezorgd": 3000, "geboorteaangiften_digitaal": 500}  # noqa: RUF012 (never changed)
    target_columns: tuple[str, ...] = ("reisdocumenten_thuisbezorgd", "geboorteaangiften_digitaal")
    columns: tuple[str, ...] = COLUMNS
    optional: tuple[str, ...] = OPTIONAL

    def check(self, target: kit.Target, where: str) -> None:
        for name in self.target_columns:
            value = target.get(name)
            if value is None:
                raise ValueError(f"{where}: {name} must be given (0 for none)")
            if value > MAX_CASES:
                raise ValueError(f"{where}: {name} {value} is more than the supported {MAX_CASES}")

    def plan(self, year: int, target: kit.Target) -> kit.YearPlan:
        cases = sum(target.get(c) or 0 for c in self.target_columns)
        # Requests are exported up to three weeks before the year; completions up to 2 January after it.
        return kit.year_plan(year, LEAD_MAX_DAYS, corrections=2 if cases >= 300 else 0)

    def draw(self, year: int, target: kit.Target, plan: kit.YearPlan, world: kit.World, seed: int) -> pl.DataFrame:
        documents, births = (target[c] for c in self.target_columns)
        assert documents is not None and births is not None  # checked by `check`
        return _cases_for_year(year, documents, births, plan, world, seed)


def _cases_for_year(
    y: int, documents: int, births: int, plan: kit.YearPlan, world: kit.World, seed: int
) -> pl.DataFrame:
    rng = kit.rng_for(seed, y, STREAM)
    tz = world.tz
    cases = _cases(rng, documents, births, world.days(y), tz)
    versions, final_rows = _versions(cases, tz)
    # Correction files: the final version of some completed cases exported up to ten days before,
    # delivered again with the right channel (the regular export said balie); half with the same
    # `gewijzigd`, which the later file name then decides.
    eligible = (cases.kanaal != 0) & (cases.status == 1)
    versions = kit.corrected(rng, versions, final_rows, y, plan.corrections, eligible, 21, _at_the_counter)
    formatted = _formatted(rng, y, cases, versions, tz)
    # Stale re-exports: the request version (the first `total` rows) again 1-3 days after the final version.
    out = kit.with_stale_reexports(rng, formatted, versions["_eday"][final_rows], plan.last_export)
    return kit.finish(out, rng, y, INVALID, cases.kind.size, FREE_TEXT)


@dataclass(frozen=True)
class _Cases:
    """One row per case, completed or withdrawn (codes into the module's tuples)."""

    kind: kit.I64  # an index into KINDS
    zaaktype: kit.I64
    kanaal: kit.I64
    status: kit.I64  # 1 afgerond, 2 ingetrokken
    requested_at: kit.I64
    final_at: kit.I64
    done: kit.I64  # when it was completed; 0 when withdrawn
    citizens: dict[str, pl.Series]  # invented personal data


def _cases(rng: np.random.Generator, documents: int, births: int, days: kit.Days, tz: kit.Tz) -> _Cases:
    office = days.season() * WD_OFFICE[days.weekday] * days.open
    every_day = days.season() + 0.2  # online births are completed by the system, any day

    sizes = [documents, births] + [round(documents * d + births * b) for _, _, d, b in KINDS[2:]]
    kind = np.concatenate([np.full(s, k, np.int64) for k, s in enumerate(sizes)])
    weights = [every_day if k == 1 else office for k in range(len(KINDS))]
    day_idx = np.concatenate([kit.allocate(rng, s, w) for s, w in zip(sizes, weights, strict=True)])
    n = kind.size
    day = days.day[day_idx]
    zaaktype = np.array([z for z, _, _, _ in KINDS], np.int64)[kind]
    kanaal = np.array([k for _, k, _, _ in KINDS], np.int64)[kind]

    # Completion: office hours, or any second of the day for births registered online.
    online = kind == 1
    second = np.where(online, rng.integers(0, kit.DAY, n), rng.integers(9 * 3600, 17 * 3600, n))
    done_at = tz.to_utc(day * kit.DAY + second)
    lead = np.where(kanaal == 0, 0, np.clip(rng.geometric(0.25, n), 1, LEAD_MAX_DAYS))
    requested_at = done_at - lead * kit.DAY - rng.integers(600, 4 * 3600, n)
    # A few more cases are requested and withdrawn (never completed): they count in no figure.
    withdrawn_n = round(n * WITHDRAWN_SHARE)
    w_idx = kit.allocate(rng, withdrawn_n, office)
    w_kind = 2 + rng.integers(0, len(KINDS) - 2, withdrawn_n)
    w_at = tz.to_utc(days.day[w_idx] * kit.DAY + rng.integers(9 * 3600, 17 * 3600, withdrawn_n))
    return _Cases(
        kind=np.concatenate([kind, w_kind]),
        zaaktype=np.concatenate([zaaktype, np.array([z for z, _, _, _ in KINDS], np.int64)[w_kind]]),
        kanaal=np.concatenate([kanaal, np.array([k for _, k, _, _ in KINDS], np.int64)[w_kind]]),
        status=np.concatenate([np.ones(n, np.int64), np.full(withdrawn_n, 2, np.int64)]),
        final_at=np.concatenate([done_at + rng.integers(1, 120, n), w_at]),
        requested_at=np.concatenate([requested_at, w_at - rng.integers(1, 10, withdrawn_n) * kit.DAY]),
        done=np.concatenate([done_at, np.zeros(withdrawn_n, np.int64)]),
        citizens=kit.people(rng, n + withdrawn_n),
    )


def _versions(c: _Cases, tz: kit.Tz) -> tuple[kit.Versions, kit.I64]:
    """Every case's versions: requested, final; and the rows of the final ones."""
    total = c.kind.size
    ids = np.arange(total, dtype=np.int64)
    versions: kit.Versions = {
        "case": np.concatenate([ids, ids]),
        "status": np.concatenate([np.zeros(total, np.int64), c.status]),
        "kanaal": np.concatenate([c.kanaal, c.kanaal]),
        "done": np.concatenate([np.zeros(total, np.int64), c.done]),
        "at": np.concatenate([c.requested_at, c.final_at]),
        "final": np.concatenate([np.zeros(total, np.int64), np.ones(total, np.int64)]),
    }
    return kit.exported_next_day(versions, tz.local_day(versions["at"])), np.arange(total, 2 * total)


def _at_the_counter(versions: kit.Versions, rows: kit.I64) -> None:
    versions["kanaal"][rows] = 0


def _formatted(rng: np.random.Generator, y: int, c: _Cases, versions: kit.Versions, tz: kit.Tz) -> pl.DataFrame:
    """The versions as the system writes them, with the hooks `finish` needs."""
    m = versions["at"].size
    case = versions["case"]
    done_text = kit.moment_texts(rng, tz, versions["done"], 0.3)
    return pl.DataFrame(
        {
            "zaak_id": IDS.drawn(y, case + 1),
            "zaaktype": kit.case_variants(kit.texts(ZAAKTYPEN, c.zaaktype[case]), rng, 0.05),
            "kanaal": kit.padded(kit.case_variants(kit.texts(KANALEN, versions["kanaal"]), rng, 0.05), rng, 0.003),
            "status": kit.padded(kit.case_variants(kit.texts(STATUSSEN, versions["status"]), rng, 0.05), rng, 0.003),
            "afgerond_op": done_text.zip_with(pl.Series(versions["status"] == 1), pl.Series([""] * m)),
            "gewijzigd": kit.moment_texts(rng, tz, versions["at"], 0.2),
            **kit.personal_texts(c.citizens, case, PERSONAL, rng),
            **kit.hooks(versions, versions["at"], ((c.kind[case] < 2) & (versions["final"] == 1)).astype(np.int64)),
        }
    )


INVALID: Final = kit.InvalidRows(
    IDS,
    PERSONAL,
    valid=lambda template, _: {
        "zaaktype": "reisdocument",
        "kanaal": "thuisbezorgd",
        "status": "afgerond",
        "afgerond_op": template["gewijzigd"],
    },
    kinds={
        "zaaktype onbekend": {"zaaktype": "paspoort"},
        "kanaal onbekend": {"kanaal": "koerier"},
        "status onbekend": {"status": "gesloten"},
        "lege id": {"zaak_id": ""},
        "gewijzigd onleesbaar": lambda _, year: {"gewijzigd": f"{year}-02-30T10:00:00+01:00"},
        "afgerond_op onleesbaar": lambda _, year: {"afgerond_op": f"31-12-{year} 10:00"},
        "afgerond zonder afgerond_op": {"afgerond_op": ""},
        "afgerond_op bij aanvraag": {"status": "aangevraagd"},
        "geboorteaangifte thuisbezorgd": {"zaaktype": "geboorteaangifte"},
        **kit.RAGGED_ROWS,
    },
)
