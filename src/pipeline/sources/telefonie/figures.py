"""Call figures (kpis.md): calls to the municipality, via 14 030, reachability, waiting, repeat callers."""

from __future__ import annotations

import polars as pl

from pipeline.core.contract import PUBLISHED_TABLE, PUBLISHED_TEXT, Breakdown, Figure, YearFigure
from pipeline.core.figures import change_pct, pct, per_day, round_half_up
from schemas import telefonie as schema

REPEAT_WINDOW_DAYS = 7
WITHIN_S = 60


def prepare(calls: pl.DataFrame) -> pl.DataFrame:
    """Per call: is it Utrecht's, via 14 030, answered, a repeat of the same caller within 7 x 24 hours.

    `calls` holds the current calls of the periods to compute and of the 7 days before them, so
    that the first calls of a period know their caller's earlier calls.
    """
    utrecht = (pl.col("nummer") == schema.NUMMER_030) | pl.col("keuze").is_in(schema.KEUZES_UTRECHT)
    flagged = calls.with_columns(
        utrecht.alias("voor_utrecht"),
        (utrecht & (pl.col("nummer") == schema.NUMMER_14030)).alias("via_14030"),
        (utrecht & (pl.col("afhandeling") == "beantwoord")).alias("beantwoord"),
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


_gemeente = pl.col("voor_utrecht").sum().cast(pl.Int64)
_beantwoord = pl.col("beantwoord").sum().cast(pl.Int64)
_answered_wait = pl.col("wachttijd_s").filter(pl.col("beantwoord")).cast(pl.Float64)
_known_caller = (pl.col("voor_utrecht") & pl.col("beller_hash").is_not_null()).sum()
_repeats = pl.col("herhaalbeller_7d").sum().cast(pl.Int64)


def _count(condition: pl.Expr) -> pl.Expr:
    return condition.sum().cast(pl.Int64)


FIGURES = (
    Figure(
        "telefoontjes_gemeente",
        _gemeente,
        label="aantal telefoontjes naar gemeente",
        definition="Aantal telefoontjes naar gemeente: verschillende gesprekken die het Klantcontactcentrum van "
        "Utrecht bereikten: nummer 030-2860000, of 14 030 met keuze Utrecht, Overig of Geen keuze "
        "(doorgeschakeld naar Zeist, Houten, Nieuwegein of IJsselstein telt niet mee).",
        order=20,
        additive=True,
        published_in=PUBLISHED_TABLE,
    ),
    Figure(
        "telefoontjes_14030",
        _count(pl.col("via_14030")),
        label="aantal telefoontjes via 14030",
        definition="Aantal telefoontjes via 14030: het deel van telefoontjes_gemeente dat binnenkwam op 14 030.",
        order=30,
        additive=True,
        published_in=PUBLISHED_TABLE,
    ),
    Figure(
        "bereikbaarheid_pct",
        pct(_beantwoord, _gemeente).cast(pl.Int64),
        label="% telefonische bereikbaarheid",
        definition="% telefonische bereikbaarheid: 100 x beantwoorde telefoontjes_gemeente / telefoontjes_gemeente, "
        "half naar boven afgerond op een heel getal; leeg zonder telefoontjes.",
        order=40,
        published_in=PUBLISHED_TABLE,
    ),
    Figure(
        "aandeel_14030_pct",
        pct(pl.col("via_14030").sum(), _gemeente).cast(pl.Int64),
        label="% telefoontjes via 14030",
        definition="Aandeel 14 030: 100 x telefoontjes_14030 / telefoontjes_gemeente, half naar boven afgerond op "
        "een heel getal.",
        order=50,
        published_in=PUBLISHED_TEXT,
    ),
    Figure(
        "telefoontjes_0302860000",
        _count(pl.col("voor_utrecht") & ~pl.col("via_14030")),
        label="aantal telefoontjes via 030-2860000",
        definition="Telefoontjes_gemeente die binnenkwamen op 030-2860000.",
        order=100,
        additive=True,
    ),
    Figure(
        "telefoontjes_platform",
        pl.len().cast(pl.Int64),
        label="aantal gesprekken op het telefonieplatform",
        definition="Alle gesprekken die het telefonieplatform bereikten, op beide nummers, inclusief doorgeschakelde.",
        order=110,
        additive=True,
    ),
    Figure(
        "telefoontjes_doorgeschakeld",
        _count(pl.col("afhandeling") == "doorgeschakeld"),
        label="aantal gesprekken doorgeschakeld naar andere gemeenten",
        definition="Gesprekken op 14 030 die het keuzemenu doorschakelde naar Zeist, Houten, Nieuwegein of "
        "IJsselstein.",
        order=120,
        additive=True,
    ),
    Figure(
        "telefoontjes_beantwoord",
        _beantwoord,
        label="aantal beantwoorde telefoontjes",
        definition="Telefoontjes_gemeente beantwoord door een medewerker.",
        order=130,
        additive=True,
    ),
    Figure(
        "wachttijd_gemiddeld_s",
        round_half_up(_answered_wait.mean(), 1),
        label="gemiddelde wachttijd (seconden)",
        definition="Gemiddelde wachttijd in seconden van beantwoorde telefoontjes_gemeente, op 0,1 s afgerond.",
        order=140,
        decimals=1,
    ),
    Figure(
        "wachttijd_mediaan_s",
        round_half_up(_answered_wait.median(), 1),
        label="mediane wachttijd (seconden)",
        definition="Mediaan van de wachttijd in seconden van beantwoorde telefoontjes_gemeente.",
        order=150,
        decimals=1,
    ),
    Figure(
        "wachttijd_p90_s",
        round_half_up(_answered_wait.quantile(0.9, "linear"), 1),
        label="wachttijd waarbinnen 90% beantwoord is (seconden)",
        definition="90e percentiel (lineair geïnterpoleerd) van de wachttijd in seconden van beantwoorde "
        "telefoontjes_gemeente.",
        order=160,
        decimals=1,
    ),
    Figure(
        "beantwoord_binnen_60s_pct",
        pct(_count(pl.col("beantwoord") & (pl.col("wachttijd_s") <= WITHIN_S)), _gemeente, 1),
        label="% telefoontjes beantwoord binnen 60 seconden",
        definition="100 x telefoontjes_gemeente beantwoord na hoogstens 60 s wachten / telefoontjes_gemeente, op 0,1 "
        "afgerond.",
        order=170,
        decimals=1,
    ),
    Figure(
        "herhaalbellers_7d",
        _repeats,
        label="aantal telefoontjes van herhaalbellers (binnen 7 dagen)",
        definition="Telefoontjes_gemeente van een beller die in de 7 x 24 uur ervoor ook de gemeente belde "
        "(bepaald op de sleutel-hash van het nummer, nooit op het nummer zelf).",
        order=180,
        additive=True,
    ),
    Figure(
        "herhaalbellers_7d_pct",
        pct(_repeats, _known_caller, 1),
        label="% telefoontjes van herhaalbellers (binnen 7 dagen)",
        definition="100 x herhaalbellers_7d / telefoontjes_gemeente met bekende beller, op 0,1 afgerond.",
        order=190,
        decimals=1,
    ),
)

YEAR_FIGURES = (
    YearFigure(
        "telefoontjes_verandering_pct",
        change_pct("telefoontjes_gemeente"),
        label="verandering telefoontjes t.o.v. vorig jaar (%)",
        definition="Verandering van telefoontjes_gemeente ten opzichte van het jaar ervoor in %, half naar boven "
        "afgerond op een heel getal, met teken; leeg zonder vorig jaar.",
        order=70,
        published_in=PUBLISHED_TEXT,
    ),
    YearFigure(
        "telefoontjes_per_dag",
        per_day("telefoontjes_gemeente"),
        label="telefoontjes per dag",
        definition="Telefoontjes_gemeente gedeeld door het aantal dagen van het jaar (365 of 366), half naar boven "
        "afgerond.",
        order=80,
        published_in=PUBLISHED_TEXT,
    ),
)

# Counts that are part of another count cannot exceed it, in any period.
CHECKS = (
    ("14030_binnen_gemeente", (pl.col("telefoontjes_14030") <= pl.col("telefoontjes_gemeente")).fill_null(True)),
    (
        "beantwoord_binnen_gemeente",
        (pl.col("telefoontjes_beantwoord") <= pl.col("telefoontjes_gemeente")).fill_null(True),
    ),
)

BREAKDOWN = Breakdown(
    table="telefonie_uitsplitsing_dag",
    keys=("nummer", "keuze", "wachtrij", "afhandeling"),
    free_text=("wachtrij",),
    model=schema.TelefonieUitsplitsingDag,
    sums=(
        pl.col("wachttijd_s").sum().cast(pl.Int64).alias("wachttijd_s_totaal"),
        pl.col("gespreksduur_s").sum().cast(pl.Int64).alias("gespreksduur_s_totaal"),
    ),
)
