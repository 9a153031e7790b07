"""Call figures (kpis.md): calls to the municipality, via 14 030, reachability, waiting, repeat callers."""

from __future__ import annotations

import polars as pl

from pipeline.kit.contract import (
    PUBLISHED_TABLE,
    PUBLISHED_TEXT,
    Breakdown,
    Figure,
    Ratio,
    Recomputed,
    Sum,
    Unit,
    YearFigure,
)
from pipeline.kit.figures import change, count, per_day, percentage, round_half_up, within
from schemas import telefonie as schema

REPEAT_WINDOW_DAYS = 7
WITHIN_S = 60


# A call counts for the municipality (telefoontjes_gemeente, and the breakdown's voor_utrecht).
_utrecht = (pl.col("nummer") == schema.NUMMER_030) | pl.col("keuze").is_in(schema.KEUZES_UTRECHT)


def prepare(calls: pl.DataFrame) -> pl.DataFrame:
    """Per call: is it Utrecht's, via 14 030, answered, a repeat of the same caller within 7 x 24 hours.

    `calls` holds the current calls of the periods to compute and of the 7 days before them, so
    that the first calls of a period know their caller's earlier calls.
    """
    flagged = calls.with_columns(
        _utrecht.alias("voor_utrecht"),
        (_utrecht & (pl.col("nummer") == schema.NUMMER_14030)).alias("via_14030"),
        (_utrecht & (pl.col("afhandeling") == "beantwoord")).alias("beantwoord"),
    )
    # A repeat: an Utrecht call whose caller made an earlier Utrecht call in the 7 x 24 hours before.
    # In caller and time order, the latest earlier Utrecht call is the last one carried forward, and
    # it is the same caller's when the caller carried with it is (no window per caller, no join back).
    counted = pl.col("voor_utrecht") & pl.col("beller_hash").is_not_null()
    earlier_start = pl.when(counted).then(pl.col("gestart_op")).shift(1).forward_fill()
    earlier_caller = pl.when(counted).then(pl.col("beller_hash")).shift(1).forward_fill()
    repeat = (
        counted
        & (earlier_caller == pl.col("beller_hash"))
        & (pl.col("gestart_op") - earlier_start <= pl.duration(days=REPEAT_WINDOW_DAYS))
    )
    return flagged.sort("beller_hash", "gestart_op", "gesprek_id").with_columns(
        repeat.fill_null(False).alias("herhaalbeller_7d")
    )


_answered_wait = pl.col("wachttijd_s").filter(pl.col("beantwoord"))
_answered_wait_s = _answered_wait.cast(pl.Float64)  # for the statistics that are not whole seconds


def _wait_statistic(name: str, what: str, label: str, statistic: pl.Expr, order: int, how: str = "") -> Figure:
    """A statistic of the waiting times of answered calls (`what`, computed `how`), in seconds to
    0.1 s: computed again from each period's calls, never from shorter periods."""
    return Figure(
        name,
        label=label,
        definition=f"{what[0].upper()}{what[1:]}{how} van de wachttijd in seconden van beantwoorde "
        "telefoontjes_gemeente, half naar boven afgerond op 0,1 s.",
        unit=Unit.SECONDS,
        aggregation=Recomputed(f"{what} van de wachttijden"),
        expr=round_half_up(statistic, 1),
        order=order,
        decimals=1,
    )


FIGURES = (
    count(
        "telefoontjes_gemeente",
        pl.col("voor_utrecht"),
        label="aantal telefoontjes naar gemeente",
        definition="Aantal telefoontjes naar gemeente: verschillende gesprekken die het Klantcontactcentrum van "
        "Utrecht bereikten: nummer 030-2860000, of 14 030 met keuze Utrecht, Overig of Geen keuze "
        "(doorgeschakeld naar Zeist, Houten, Nieuwegein of IJsselstein telt niet mee).",
        order=10,
        published_in=PUBLISHED_TABLE,
    ),
    count(
        "telefoontjes_14030",
        pl.col("via_14030"),
        label="aantal telefoontjes via 14030",
        definition="Aantal telefoontjes via 14030: het deel van telefoontjes_gemeente dat binnenkwam op 14 030.",
        order=20,
        published_in=PUBLISHED_TABLE,
    ),
    percentage(
        "bereikbaarheid_pct",
        ("telefoontjes_beantwoord", "telefoontjes_gemeente"),
        label="% telefonische bereikbaarheid",
        definition="% telefonische bereikbaarheid: 100 x telefoontjes_beantwoord / telefoontjes_gemeente, "
        "half naar boven afgerond op een heel getal; leeg zonder telefoontjes.",
        order=30,
        published_in=PUBLISHED_TABLE,
    ),
    percentage(
        "aandeel_14030_pct",
        ("telefoontjes_14030", "telefoontjes_gemeente"),
        label="% telefoontjes via 14030",
        definition="Aandeel 14 030: 100 x telefoontjes_14030 / telefoontjes_gemeente, half naar boven afgerond op "
        "een heel getal; leeg zonder telefoontjes.",
        order=40,
        published_in=PUBLISHED_TEXT,
    ),
    count(
        "telefoontjes_0302860000",
        pl.col("voor_utrecht") & ~pl.col("via_14030"),
        label="aantal telefoontjes via 030-2860000",
        definition="Telefoontjes_gemeente die binnenkwamen op 030-2860000.",
        order=100,
    ),
    count(
        "telefoontjes_platform",
        None,
        label="aantal gesprekken op het telefonieplatform",
        definition="Alle gesprekken die het telefonieplatform bereikten, op beide nummers, inclusief doorgeschakelde.",
        order=110,
    ),
    count(
        "telefoontjes_doorgeschakeld",
        pl.col("afhandeling") == "doorgeschakeld",
        label="aantal gesprekken doorgeschakeld naar andere gemeenten",
        definition="Gesprekken op 14 030 die het keuzemenu doorschakelde naar Zeist, Houten, Nieuwegein of "
        "IJsselstein.",
        order=120,
    ),
    count(
        "telefoontjes_beantwoord",
        pl.col("beantwoord"),
        label="aantal beantwoorde telefoontjes",
        definition="Telefoontjes_gemeente beantwoord door een medewerker.",
        order=130,
    ),
    Figure(
        "wachttijd_totaal_s",
        label="totale wachttijd van beantwoorde telefoontjes (seconden)",
        definition="Som van de wachttijd in seconden van beantwoorde telefoontjes_gemeente: de teller van "
        "wachttijd_gemiddeld_s.",
        unit=Unit.SECONDS,
        aggregation=Sum(),
        expr=_answered_wait.sum().cast(pl.Int64),
        order=135,
    ),
    Figure(
        "wachttijd_gemiddeld_s",
        label="gemiddelde wachttijd (seconden)",
        definition="Gemiddelde wachttijd in seconden van beantwoorde telefoontjes_gemeente: wachttijd_totaal_s / "
        "telefoontjes_beantwoord, half naar boven afgerond op 0,1 s; leeg zonder beantwoorde telefoontjes.",
        unit=Unit.SECONDS,
        aggregation=Ratio("wachttijd_totaal_s", "telefoontjes_beantwoord", scale=1),
        order=140,
        decimals=1,
    ),
    _wait_statistic("wachttijd_mediaan_s", "mediaan", "mediane wachttijd (seconden)", _answered_wait_s.median(), 150),
    _wait_statistic(
        "wachttijd_p90_s",
        "90e percentiel",
        "wachttijd waarbinnen 90% beantwoord is (seconden)",
        _answered_wait_s.quantile(0.9, "linear"),
        160,
        how=" (lineair geïnterpoleerd)",
    ),
    count(
        "telefoontjes_binnen_60s",
        pl.col("beantwoord") & (pl.col("wachttijd_s") <= WITHIN_S),
        label="aantal telefoontjes beantwoord binnen 60 seconden",
        definition="Telefoontjes_gemeente beantwoord na hoogstens 60 s wachten.",
        order=165,
    ),
    percentage(
        "beantwoord_binnen_60s_pct",
        ("telefoontjes_binnen_60s", "telefoontjes_gemeente"),
        label="% telefoontjes beantwoord binnen 60 seconden",
        definition="100 x telefoontjes_binnen_60s / telefoontjes_gemeente, half naar boven afgerond op 0,1; "
        "leeg zonder telefoontjes.",
        order=170,
        decimals=1,
    ),
    count(
        "herhaalbellers_7d",
        pl.col("herhaalbeller_7d"),
        label="aantal telefoontjes van herhaalbellers (binnen 7 dagen)",
        definition="Telefoontjes_gemeente van een beller die in de 7 x 24 uur ervoor ook de gemeente belde "
        "(bepaald op de sleutel-hash van het nummer, nooit op het nummer zelf).",
        order=180,
    ),
    count(
        "telefoontjes_bekende_beller",
        pl.col("voor_utrecht") & pl.col("beller_hash").is_not_null(),
        label="aantal telefoontjes met bekende beller",
        definition="Telefoontjes_gemeente waarvan het nummer van de beller geleverd is (niet afgeschermd).",
        order=185,
    ),
    percentage(
        "herhaalbellers_7d_pct",
        ("herhaalbellers_7d", "telefoontjes_bekende_beller"),
        label="% telefoontjes van herhaalbellers (binnen 7 dagen)",
        definition="100 x herhaalbellers_7d / telefoontjes_bekende_beller, half naar boven afgerond op 0,1; leeg "
        "zonder telefoontjes met bekende beller.",
        order=190,
        decimals=1,
    ),
)

YEAR_FIGURES = (
    change(
        "telefoontjes_verandering_pct",
        "telefoontjes_gemeente",
        label="verandering telefoontjes t.o.v. vorig jaar (%)",
        order=50,
        published_in=PUBLISHED_TEXT,
    ),
    YearFigure(
        "telefoontjes_per_dag",
        per_day("telefoontjes_gemeente"),
        label="telefoontjes per dag",
        definition="Telefoontjes_gemeente gedeeld door het aantal dagen van het jaar (365 of 366), half naar boven "
        "afgerond op een heel getal.",
        unit=Unit.COUNT_PER_DAY,
        order=60,
        published_in=PUBLISHED_TEXT,
    ),
)


# Counts that are part of another count cannot exceed it, in any period.
CHECKS = (
    within("telefoontjes_14030", "telefoontjes_gemeente"),
    within("telefoontjes_beantwoord", "telefoontjes_gemeente"),
    within("telefoontjes_binnen_60s", "telefoontjes_beantwoord"),
    within("telefoontjes_bekende_beller", "telefoontjes_gemeente"),
    within("herhaalbellers_7d", "telefoontjes_bekende_beller"),
)

BREAKDOWN = Breakdown(
    keys=("nummer", "keuze", "wachtrij", "afhandeling"),
    free_text=("wachtrij",),
    model=schema.TelefonieUitsplitsingDag,
    flags=(_utrecht.alias("voor_utrecht"),),
    sums=(
        pl.col("wachttijd_s").sum().cast(pl.Int64).alias("wachttijd_s_totaal"),
        pl.col("gespreksduur_s").sum().cast(pl.Int64).alias("gespreksduur_s_totaal"),
    ),
)
