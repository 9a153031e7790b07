"""Figures per local day, month and year, from the current version of every call and appointment.

Each function takes the current records of the partitions a change touched (whole years, so year
figures can be recomputed) and returns only the partitions in `parts`: day rows for its days,
month rows for its months, year rows for its years. Nothing here reads another partition's
result, so partitions can be recomputed in any order and any number of times.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.periods import Partitions
from schemas import afspraken as afspraken_schema
from schemas import telefonie as telefonie_schema
from schemas.aggregates import validate_partition

REPEAT_WINDOW_DAYS = 7
WITHIN_S = 60


@dataclass(frozen=True)
class Partitioned:
    """Rows of one figure table for a set of partitions; `grain` is the partition key.

    The rows are checked against the table's Pandera model (its grain is unique) on the way in.
    """

    table: str
    grain: str  # "dag", "maand" or "jaar"
    frame: pl.DataFrame

    def __post_init__(self) -> None:
        validate_partition(self.table, self.grain, self.frame)


def pct(numerator: pl.Expr, denominator: pl.Expr, decimals: int = 0) -> pl.Expr:
    """100 x n / d rounded half up (exact integer arithmetic); null when d is 0 or null."""
    scale = 10**decimals
    n, d = numerator.cast(pl.Int64), denominator.cast(pl.Int64)
    rounded = (200 * scale * n + d) // (2 * d)
    # The last .round() picks one float for 958/10, whichever kernel Polars chose to divide with.
    value = rounded if decimals == 0 else (rounded / scale).round(decimals)
    return pl.when(d > 0).then(value)


def round_half_up(value: pl.Expr, decimals: int = 0) -> pl.Expr:
    """Half up on a float figure (wait times), away from the float's representation error."""
    scale = 10**decimals
    return ((value * scale + 0.5 + 1e-9).floor() / scale).round(decimals)


def _period_columns(day: pl.Expr) -> list[pl.Expr]:
    return [day.dt.year().cast(pl.Int64).alias("jaar"), day.dt.month().cast(pl.Int64).alias("maand")]


def _split(
    records: pl.DataFrame, parts: Partitions, prefix: str, metrics: list[pl.Expr], breakdown: list[str]
) -> list[Partitioned]:
    frame = records.with_columns(_period_columns(pl.col("datum")))
    days = sorted(parts.days)
    months = sorted(y * 100 + m for y, m in parts.months)
    years = sorted(parts.years)
    month_key = pl.col("jaar") * 100 + pl.col("maand")
    in_days = frame.filter(pl.col("datum").is_in(days))
    return [
        Partitioned(f"{prefix}_dag", "dag", in_days.group_by("datum").agg(metrics).sort("datum")),
        Partitioned(
            f"{prefix}_maand",
            "maand",
            frame.filter(month_key.is_in(months)).group_by("jaar", "maand").agg(metrics).sort("jaar", "maand"),
        ),
        Partitioned(
            f"{prefix}_jaar",
            "jaar",
            frame.filter(pl.col("jaar").is_in(years)).group_by("jaar").agg(metrics).sort("jaar"),
        ),
        Partitioned(
            f"{prefix}_uitsplitsing_dag",
            "dag",
            in_days.group_by("datum", *breakdown)
            .agg(pl.len().cast(pl.Int64).alias("aantal"), *_breakdown_extras(prefix))
            .sort("datum", *breakdown, nulls_last=True),
        ),
    ]


def _breakdown_extras(prefix: str) -> list[pl.Expr]:
    if prefix == "telefonie":
        return [
            pl.col("wachttijd_s").sum().cast(pl.Int64).alias("wachttijd_s_totaal"),
            pl.col("gespreksduur_s").sum().cast(pl.Int64).alias("gespreksduur_s_totaal"),
        ]
    return []


def flag_calls(calls: pl.DataFrame) -> pl.DataFrame:
    """Per call: is it Utrecht's, via 14 030, answered, a repeat of the same caller within 7 days."""
    utrecht = (pl.col("nummer") == telefonie_schema.NUMMER_030) | pl.col("keuze").is_in(telefonie_schema.KEUZES_UTRECHT)
    flagged = calls.with_columns(
        utrecht.alias("voor_utrecht"),
        (utrecht & (pl.col("nummer") == telefonie_schema.NUMMER_14030)).alias("via_14030"),
        (utrecht & (pl.col("afhandeling") == "beantwoord")).alias("beantwoord"),
    )
    # A repeat: an Utrecht call whose caller made an earlier Utrecht call in the 7 x 24 hours before.
    mine = flagged.filter(pl.col("voor_utrecht") & pl.col("beller_hash").is_not_null()).sort(
        "beller_hash", "gestart_op", "gesprek_id"
    )
    previous = pl.col("gestart_op").shift(1).over("beller_hash")
    repeats = mine.select(
        "gesprek_id",
        (previous.is_not_null() & (pl.col("gestart_op") - previous <= pl.duration(days=REPEAT_WINDOW_DAYS))).alias(
            "herhaalbeller_7d"
        ),
    )
    return flagged.join(repeats, on="gesprek_id", how="left").with_columns(pl.col("herhaalbeller_7d").fill_null(False))


def telefonie_figures(calls: pl.DataFrame, parts: Partitions) -> list[Partitioned]:
    """Call figures; `calls` holds the current calls of the touched years and the week before them."""
    flagged = flag_calls(calls)
    gemeente = pl.col("voor_utrecht").sum().cast(pl.Int64)
    beantwoord = pl.col("beantwoord").sum().cast(pl.Int64)
    answered_wait = pl.col("wachttijd_s").filter(pl.col("beantwoord")).cast(pl.Float64)
    known_caller = (pl.col("voor_utrecht") & pl.col("beller_hash").is_not_null()).sum()
    repeats = (pl.col("herhaalbeller_7d")).sum().cast(pl.Int64)
    metrics = [
        pl.len().cast(pl.Int64).alias("telefoontjes_platform"),
        gemeente.alias("telefoontjes_gemeente"),
        pl.col("via_14030").sum().cast(pl.Int64).alias("telefoontjes_14030"),
        (pl.col("voor_utrecht") & ~pl.col("via_14030")).sum().cast(pl.Int64).alias("telefoontjes_0302860000"),
        (pl.col("afhandeling") == "doorgeschakeld").sum().cast(pl.Int64).alias("telefoontjes_doorgeschakeld"),
        beantwoord.alias("telefoontjes_beantwoord"),
        pct(beantwoord, gemeente).cast(pl.Int64).alias("bereikbaarheid_pct"),
        pct(pl.col("via_14030").sum(), gemeente).cast(pl.Int64).alias("aandeel_14030_pct"),
        round_half_up(answered_wait.mean(), 1).alias("wachttijd_gemiddeld_s"),
        round_half_up(answered_wait.median(), 1).alias("wachttijd_mediaan_s"),
        round_half_up(answered_wait.quantile(0.9, "linear"), 1).alias("wachttijd_p90_s"),
        pct((pl.col("beantwoord") & (pl.col("wachttijd_s") <= WITHIN_S)).sum(), gemeente, 1).alias(
            "beantwoord_binnen_60s_pct"
        ),
        repeats.alias("herhaalbellers_7d"),
        pct(repeats, known_caller, 1).alias("herhaalbellers_7d_pct"),
    ]
    in_scope = flagged.filter(pl.col("datum").dt.year().is_in(sorted(parts.years)))
    return _split(in_scope, parts, "telefonie", metrics, ["nummer", "keuze", "wachtrij", "afhandeling"])


def afspraken_figures(appointments: pl.DataFrame, parts: Partitions) -> list[Partitioned]:
    """Appointment figures, from the final state of every appointment of the touched years."""
    counted_place = pl.col("locatie").is_in(afspraken_schema.LOCATIES_GETELD) & (pl.col("kanaal") == "balie")
    verschenen = (counted_place & (pl.col("status") == "verschenen")).sum().cast(pl.Int64)
    no_show = (counted_place & (pl.col("status") == "niet verschenen")).sum().cast(pl.Int64)
    metrics = [
        verschenen.alias("baliebezoeken_met_afspraak"),
        no_show.alias("balie_niet_verschenen"),
        pct(no_show, verschenen + no_show, 1).alias("no_show_pct"),
        pl.len().cast(pl.Int64).alias("afspraken_totaal"),
        (pl.col("status") == "geannuleerd").sum().cast(pl.Int64).alias("afspraken_geannuleerd"),
        ((pl.col("kanaal") == "video") & (pl.col("status") == "verschenen"))
        .sum()
        .cast(pl.Int64)
        .alias("videoafspraken_verschenen"),
        ((pl.col("kanaal") == "telefoon") & (pl.col("status") == "verschenen"))
        .sum()
        .cast(pl.Int64)
        .alias("telefoonafspraken_verschenen"),
    ]
    return _split(appointments, parts, "afspraken", metrics, ["locatie", "kanaal", "product", "status"])
