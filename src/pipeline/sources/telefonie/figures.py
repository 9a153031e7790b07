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
from pipeline.kit.figures import change_pct, per_day, round_half_up
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


_answered_wait = pl.col("wachttijd_s").filter(pl.col("beantwoord"))


def _count(condition: pl.Expr) -> pl.Expr:
    return condition.sum().cast(pl.Int64)


COUNT, SUM = Unit.COUNT, Sum()


FIGURES = (
    Figure(
        "telefoontjes_gemeente",
        label="aantal telefoontjes naar gemeente",
        definition="Aantal telefoontjes naar gemeente: verschillende gesprekken die het Klantcontactcentrum van "
        "Utrecht bereikten: nummer 030-2860000, of 14 030 met keuze Utrecht, Overig of Geen keuze "
        "(doorgeschakeld naar Zeist, Houten, Nieuwegein of IJsselstein telt niet mee).",
        unit=COUNT,
        aggregation=SUM,
        expr=_count(pl.col("voor_utrecht")),
        order=10,
        published_in=PUBLISHED_TABLE,
    ),
    Figure(
        "telefoontjes_14030",
        label="aantal telefoontjes via 14030",
        definition="Aantal telefoontjes via 14030: het deel van telefoontjes_gemeente dat binnenkwam op 14 030.",
        unit=COUNT,
        aggregation=SUM,
        expr=_count(pl.col("via_14030")),
        order=20,
        published_in=PUBLISHED_TABLE,
    ),
    Figure(
        "bereikbaarheid_pct",
        label="% telefonische bereikbaarheid",
        definition="% telefonische bereikbaarheid: 100 x telefoontjes_beantwoord / telefoontjes_gemeente, "
        "half naar boven afgerond op een heel getal; leeg zonder telefoontjes.",
        unit=Unit.PERCENT,
        aggregation=Ratio("telefoontjes_beantwoord", "telefoontjes_gemeente"),
        order=30,
        published_in=PUBLISHED_TABLE,
    ),
    Figure(
        "aandeel_14030_pct",
        label="% telefoontjes via 14030",
        definition="Aandeel 14 030: 100 x telefoontjes_14030 / telefoontjes_gemeente, half naar boven afgerond op "
        "een heel getal; leeg zonder telefoontjes.",
        unit=Unit.PERCENT,
        aggregation=Ratio("telefoontjes_14030", "telefoontjes_gemeente"),
        order=40,
        published_in=PUBLISHED_TEXT,
    ),
    Figure(
        "telefoontjes_0302860000",
        label="aantal telefoontjes via 030-2860000",
        definition="Telefoontjes_gemeente die binnenkwamen op 030-2860000.",
        unit=COUNT,
        aggregation=SUM,
        expr=_count(pl.col("voor_utrecht") & ~pl.col("via_14030")),
        order=100,
    ),
    Figure(
        "telefoontjes_platform",
        label="aantal gesprekken op het telefonieplatform",
        definition="Alle gesprekken die het telefonieplatform bereikten, op beide nummers, inclusief doorgeschakelde.",
        unit=COUNT,
        aggregation=SUM,
        expr=pl.len().cast(pl.Int64),
        order=110,
    ),
    Figure(
        "telefoontjes_doorgeschakeld",
        label="aantal gesprekken doorgeschakeld naar andere gemeenten",
        definition="Gesprekken op 14 030 die het keuzemenu doorschakelde naar Zeist, Houten, Nieuwegein of "
        "IJsselstein.",
        unit=COUNT,
        aggregation=SUM,
        expr=_count(pl.col("afhandeling") == "doorgeschakeld"),
        order=120,
    ),
    Figure(
        "telefoontjes_beantwoord",
        label="aantal beantwoorde telefoontjes",
        definition="Telefoontjes_gemeente beantwoord door een medewerker.",
        unit=COUNT,
        aggregation=SUM,
        expr=_count(pl.col("beantwoord")),
        order=130,
    ),
    Figure(
        "wachttijd_totaal_s",
        label="totale wachttijd van beantwoorde telefoontjes (seconden)",
        definition="Som van de wachttijd in seconden van beantwoorde telefoontjes_gemeente: de teller van "
        "wachttijd_gemiddeld_s.",
        unit=Unit.SECONDS,
        aggregation=SUM,
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
    Figure(
        "wachttijd_mediaan_s",
        label="mediane wachttijd (seconden)",
        definition="Mediaan van de wachttijd in seconden van beantwoorde telefoontjes_gemeente, half naar boven "
        "afgerond op 0,1 s.",
        unit=Unit.SECONDS,
        aggregation=Recomputed("mediaan van de wachttijden"),
        expr=round_half_up(_answered_wait.cast(pl.Float64).median(), 1),
        order=150,
        decimals=1,
    ),
    Figure(
        "wachttijd_p90_s",
        label="wachttijd waarbinnen 90% beantwoord is (seconden)",
        definition="90e percentiel (lineair geïnterpoleerd) van de wachttijd in seconden van beantwoorde "
        "telefoontjes_gemeente, half naar boven afgerond op 0,1 s.",
        unit=Unit.SECONDS,
        aggregation=Recomputed("90e percentiel van de wachttijden"),
        expr=round_half_up(_answered_wait.cast(pl.Float64).quantile(0.9, "linear"), 1),
        order=160,
        decimals=1,
    ),
    Figure(
        "telefoontjes_binnen_60s",
        label="aantal telefoontjes beantwoord binnen 60 seconden",
        definition="Telefoontjes_gemeente beantwoord na hoogstens 60 s wachten.",
        unit=COUNT,
        aggregation=SUM,
        expr=_count(pl.col("beantwoord") & (pl.col("wachttijd_s") <= WITHIN_S)),
        order=165,
    ),
    Figure(
        "beantwoord_binnen_60s_pct",
        label="% telefoontjes beantwoord binnen 60 seconden",
        definition="100 x telefoontjes_binnen_60s / telefoontjes_gemeente, half naar boven afgerond op 0,1; "
        "leeg zonder telefoontjes.",
        unit=Unit.PERCENT,
        aggregation=Ratio("telefoontjes_binnen_60s", "telefoontjes_gemeente"),
        order=170,
        decimals=1,
    ),
    Figure(
        "herhaalbellers_7d",
        label="aantal telefoontjes van herhaalbellers (binnen 7 dagen)",
        definition="Telefoontjes_gemeente van een beller die in de 7 x 24 uur ervoor ook de gemeente belde "
        "(bepaald op de sleutel-hash van het nummer, nooit op het nummer zelf).",
        unit=COUNT,
        aggregation=SUM,
        expr=_count(pl.col("herhaalbeller_7d")),
        order=180,
    ),
    Figure(
        "telefoontjes_bekende_beller",
        label="aantal telefoontjes met bekende beller",
        definition="Telefoontjes_gemeente waarvan het nummer van de beller geleverd is (niet afgeschermd).",
        unit=COUNT,
        aggregation=SUM,
        expr=_count(pl.col("voor_utrecht") & pl.col("beller_hash").is_not_null()),
        order=185,
    ),
    Figure(
        "herhaalbellers_7d_pct",
        label="% telefoontjes van herhaalbellers (binnen 7 dagen)",
        definition="100 x herhaalbellers_7d / telefoontjes_bekende_beller, half naar boven afgerond op 0,1; leeg "
        "zonder telefoontjes met bekende beller.",
        unit=Unit.PERCENT,
        aggregation=Ratio("herhaalbellers_7d", "telefoontjes_bekende_beller"),
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
        unit=Unit.PERCENT_CHANGE,
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


def _within(part: str, whole: str) -> tuple[str, pl.Expr]:
    return f"{part}_binnen_{whole}", (pl.col(part) <= pl.col(whole)).fill_null(True)


# Counts that are part of another count cannot exceed it, in any period.
CHECKS = (
    _within("telefoontjes_14030", "telefoontjes_gemeente"),
    _within("telefoontjes_beantwoord", "telefoontjes_gemeente"),
    _within("telefoontjes_binnen_60s", "telefoontjes_beantwoord"),
    _within("telefoontjes_bekende_beller", "telefoontjes_gemeente"),
    _within("herhaalbellers_7d", "telefoontjes_bekende_beller"),
)

BREAKDOWN = Breakdown(
    keys=("nummer", "keuze", "wachtrij", "afhandeling"),
    free_text=("wachtrij",),
    model=schema.TelefonieUitsplitsingDag,
    sums=(
        pl.col("wachttijd_s").sum().cast(pl.Int64).alias("wachttijd_s_totaal"),
        pl.col("gespreksduur_s").sum().cast(pl.Int64).alias("gespreksduur_s_totaal"),
    ),
)
