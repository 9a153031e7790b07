"""Models of the figure tables the warehouse publishes. Descriptions are the Dutch definitions
BI users read as column comments; each model's `unique` is its grain and is enforced."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

TELEFONIE_GETALLEN: dict[str, str] = {
    "telefoontjes_gemeente": "Aantal telefoontjes naar gemeente: verschillende gesprekken die het "
    "Klantcontactcentrum van Utrecht bereikten: nummer 030-2860000, of 14 030 met keuze Utrecht, Overig of "
    "Geen keuze (doorgeschakeld naar Zeist, Houten, Nieuwegein of IJsselstein telt niet mee).",
    "telefoontjes_14030": "Aantal telefoontjes via 14030: het deel van telefoontjes_gemeente dat binnenkwam op 14 030.",
    "bereikbaarheid_pct": "% telefonische bereikbaarheid: 100 x beantwoorde telefoontjes_gemeente / "
    "telefoontjes_gemeente, half naar boven afgerond op een heel getal; leeg zonder telefoontjes.",
    "aandeel_14030_pct": "Aandeel 14 030: 100 x telefoontjes_14030 / telefoontjes_gemeente, half naar boven "
    "afgerond op een heel getal.",
    "telefoontjes_0302860000": "Telefoontjes_gemeente die binnenkwamen op 030-2860000.",
    "telefoontjes_platform": "Alle gesprekken die het telefonieplatform bereikten, op beide nummers, "
    "inclusief doorgeschakelde.",
    "telefoontjes_doorgeschakeld": "Gesprekken op 14 030 die het keuzemenu doorschakelde naar Zeist, "
    "Houten, Nieuwegein of IJsselstein.",
    "telefoontjes_beantwoord": "Telefoontjes_gemeente beantwoord door een medewerker.",
    "wachttijd_gemiddeld_s": "Gemiddelde wachttijd in seconden van beantwoorde telefoontjes_gemeente, "
    "op 0,1 s afgerond.",
    "wachttijd_mediaan_s": "Mediaan van de wachttijd in seconden van beantwoorde telefoontjes_gemeente.",
    "wachttijd_p90_s": "90e percentiel (lineair geïnterpoleerd) van de wachttijd in seconden van "
    "beantwoorde telefoontjes_gemeente.",
    "beantwoord_binnen_60s_pct": "100 x telefoontjes_gemeente beantwoord na hoogstens 60 s wachten / "
    "telefoontjes_gemeente, op 0,1 afgerond.",
    "herhaalbellers_7d": "Telefoontjes_gemeente van een beller die in de 7 x 24 uur ervoor ook de gemeente "
    "belde (bepaald op de sleutel-hash van het nummer, nooit op het nummer zelf).",
    "herhaalbellers_7d_pct": "100 x herhaalbellers_7d / telefoontjes_gemeente met bekende beller, op 0,1 afgerond.",
}
AFSPRAKEN_GETALLEN: dict[str, str] = {
    "baliebezoeken_met_afspraak": "Aantal baliebezoeken met afspraak: afspraken waarvan de laatste versie "
    "de status verschenen heeft, met kanaal balie, bij het Stadskantoor of Wijkservicecentrum Vleuten-De "
    "Meern, geteld op de datum van de afspraak.",
    "balie_niet_verschenen": "Baliebezoeken met afspraak (zelfde locaties en kanaal) waarvan de laatste "
    "versie de status niet verschenen heeft.",
    "no_show_pct": "100 x balie_niet_verschenen / (baliebezoeken_met_afspraak + balie_niet_verschenen), "
    "op 0,1 afgerond.",
    "afspraken_totaal": "Alle afspraken (laatste versie) op die datum, alle locaties, kanalen en statussen.",
    "afspraken_geannuleerd": "Afspraken waarvan de laatste versie de status geannuleerd heeft.",
    "videoafspraken_verschenen": "Afspraken met kanaal video en status verschenen (alle locaties).",
    "telefoonafspraken_verschenen": "Afspraken met kanaal telefoon en status verschenen (alle locaties).",
}
JAAR_AFGELEID: dict[str, str] = {
    "baliebezoeken_verandering_pct": "Verandering van baliebezoeken_met_afspraak ten opzichte van het jaar "
    "ervoor in %, half naar boven afgerond op een heel getal, met teken; leeg zonder vorig jaar.",
    "telefoontjes_verandering_pct": "Verandering van telefoontjes_gemeente ten opzichte van het jaar ervoor "
    "in %, half naar boven afgerond op een heel getal, met teken; leeg zonder vorig jaar.",
    "telefoontjes_per_dag": "Telefoontjes_gemeente gedeeld door het aantal dagen van het jaar (365 of 366), "
    "half naar boven afgerond.",
}
PERIODE: dict[str, str] = {
    "jaar": "Kalenderjaar in Nederlandse tijd (Europe/Amsterdam).",
    "maand": "Kalendermaand (1-12) in Nederlandse tijd.",
    "datum": "Kalenderdag in Nederlandse tijd (Europe/Amsterdam); een gesprek om 23:30 UTC op 31 december "
    "hoort bij 1 januari.",
}
INT_COLUMNS = {
    "telefoontjes_gemeente",
    "telefoontjes_14030",
    "bereikbaarheid_pct",
    "aandeel_14030_pct",
    "telefoontjes_0302860000",
    "telefoontjes_platform",
    "telefoontjes_doorgeschakeld",
    "telefoontjes_beantwoord",
    "herhaalbellers_7d",
    "baliebezoeken_met_afspraak",
    "balie_niet_verschenen",
    "afspraken_totaal",
    "afspraken_geannuleerd",
    "videoafspraken_verschenen",
    "telefoonafspraken_verschenen",
    "baliebezoeken_verandering_pct",
    "telefoontjes_verandering_pct",
    "telefoontjes_per_dag",
}
DEFINITIES: dict[str, str] = {**PERIODE, **AFSPRAKEN_GETALLEN, **TELEFONIE_GETALLEN, **JAAR_AFGELEID}
# Counts of one source that add up from days to months to years; percentages, wait times and
# per-day averages do not.
ADDITIVE_COUNTS: dict[str, tuple[str, ...]] = {
    source: tuple(c for c in figures if c in INT_COLUMNS and not c.endswith("_pct"))
    for source, figures in (("afspraken", AFSPRAKEN_GETALLEN), ("telefonie", TELEFONIE_GETALLEN))
}
PUBLISHED_FIRST = (
    "baliebezoeken_met_afspraak",
    "telefoontjes_gemeente",
    "telefoontjes_14030",
    "bereikbaarheid_pct",
)


def _field(name: str) -> object:
    if name.endswith("verandering_pct"):
        return pa.Field(nullable=True, description=DEFINITIES[name])
    if name.endswith("_pct"):
        return pa.Field(nullable=True, ge=0, le=100, description=DEFINITIES[name])
    return pa.Field(nullable=True, ge=0, description=DEFINITIES[name])


class _Getallen(pa.DataFrameModel):
    """Every figure of one period; counts are null only where the source has no data at all."""

    baliebezoeken_met_afspraak: int = _field("baliebezoeken_met_afspraak")  # type: ignore[assignment]
    telefoontjes_gemeente: int = _field("telefoontjes_gemeente")  # type: ignore[assignment]
    telefoontjes_14030: int = _field("telefoontjes_14030")  # type: ignore[assignment]
    bereikbaarheid_pct: int = _field("bereikbaarheid_pct")  # type: ignore[assignment]
    aandeel_14030_pct: int = _field("aandeel_14030_pct")  # type: ignore[assignment]
    telefoontjes_0302860000: int = _field("telefoontjes_0302860000")  # type: ignore[assignment]
    telefoontjes_platform: int = _field("telefoontjes_platform")  # type: ignore[assignment]
    telefoontjes_doorgeschakeld: int = _field("telefoontjes_doorgeschakeld")  # type: ignore[assignment]
    telefoontjes_beantwoord: int = _field("telefoontjes_beantwoord")  # type: ignore[assignment]
    wachttijd_gemiddeld_s: float = _field("wachttijd_gemiddeld_s")  # type: ignore[assignment]
    wachttijd_mediaan_s: float = _field("wachttijd_mediaan_s")  # type: ignore[assignment]
    wachttijd_p90_s: float = _field("wachttijd_p90_s")  # type: ignore[assignment]
    beantwoord_binnen_60s_pct: float = _field("beantwoord_binnen_60s_pct")  # type: ignore[assignment]
    herhaalbellers_7d: int = _field("herhaalbellers_7d")  # type: ignore[assignment]
    herhaalbellers_7d_pct: float = _field("herhaalbellers_7d_pct")  # type: ignore[assignment]
    balie_niet_verschenen: int = _field("balie_niet_verschenen")  # type: ignore[assignment]
    no_show_pct: float = _field("no_show_pct")  # type: ignore[assignment]
    afspraken_totaal: int = _field("afspraken_totaal")  # type: ignore[assignment]
    afspraken_geannuleerd: int = _field("afspraken_geannuleerd")  # type: ignore[assignment]
    videoafspraken_verschenen: int = _field("videoafspraken_verschenen")  # type: ignore[assignment]
    telefoonafspraken_verschenen: int = _field("telefoonafspraken_verschenen")  # type: ignore[assignment]

    @pa.dataframe_check(name="beantwoord_binnen_gemeente")
    def _answered_within_total(cls, data: pa.PolarsData) -> object:
        import polars as pl

        return data.lazyframe.select(
            (
                (pl.col("telefoontjes_14030") <= pl.col("telefoontjes_gemeente"))
                & (pl.col("telefoontjes_beantwoord") <= pl.col("telefoontjes_gemeente"))
            ).fill_null(True)
        )


class KerncijfersJaar(_Getallen):
    """Kerncijfers per jaar. Grain: one row per jaar."""

    jaar: int = pa.Field(ge=1900, le=2200, description=PERIODE["jaar"])
    baliebezoeken_verandering_pct: int = _field("baliebezoeken_verandering_pct")  # type: ignore[assignment]
    telefoontjes_verandering_pct: int = _field("telefoontjes_verandering_pct")  # type: ignore[assignment]
    telefoontjes_per_dag: int = _field("telefoontjes_per_dag")  # type: ignore[assignment]

    class Config:
        unique = ("jaar",)
        strict = True


class KerncijfersMaand(_Getallen):
    """Kerncijfers per maand. Grain: one row per (jaar, maand)."""

    jaar: int = pa.Field(ge=1900, le=2200, description=PERIODE["jaar"])
    maand: int = pa.Field(ge=1, le=12, description=PERIODE["maand"])

    class Config:
        unique = ("jaar", "maand")
        strict = True


class KerncijfersDag(_Getallen):
    """Kerncijfers per dag. Grain: one row per datum."""

    datum: dt.date = pa.Field(description=PERIODE["datum"])
    jaar: int = pa.Field(ge=1900, le=2200, description=PERIODE["jaar"])
    maand: int = pa.Field(ge=1, le=12, description=PERIODE["maand"])

    class Config:
        unique = ("datum",)
        strict = True


def column_order(model: type[pa.DataFrameModel]) -> list[str]:
    """Period columns first, then the four published figures, the derived ones, the rest."""
    names = list(model.to_schema().columns)
    period = [c for c in ("jaar", "maand", "datum") if c in names]
    derived = [c for c in ("aandeel_14030_pct", *JAAR_AFGELEID) if c in names]
    rest = [c for c in names if c not in {*period, *PUBLISHED_FIRST, *derived}]
    return [*period, *PUBLISHED_FIRST, *derived, *rest]


class TelefonieUitsplitsingDag(pa.DataFrameModel):
    """Calls per day and combination. Grain: (datum, nummer, keuze, wachtrij, afhandeling)."""

    datum: dt.date = pa.Field(description=PERIODE["datum"])
    nummer: str = pa.Field(isin=["14030", "0302860000"], description="Gekozen nummer, genormaliseerd")
    keuze: str = pa.Field(nullable=True, description="Keuze in het 14 030-menu; leeg bij 030")
    wachtrij: str = pa.Field(nullable=True, description="Wachtrij van het Klantcontactcentrum")
    afhandeling: str = pa.Field(isin=["beantwoord", "verbroken", "doorgeschakeld"], description="Afloop")
    aantal: int = pa.Field(ge=1, description="Aantal gesprekken")
    wachttijd_s_totaal: int = pa.Field(ge=0, description="Som van de wachttijd in seconden")
    gespreksduur_s_totaal: int = pa.Field(ge=0, description="Som van de gespreksduur in seconden")

    class Config:
        unique = ("datum", "nummer", "keuze", "wachtrij", "afhandeling")
        strict = True


class AfsprakenUitsplitsingDag(pa.DataFrameModel):
    """Appointments (final state) per day and combination. Grain: (datum, locatie, kanaal, product, status)."""

    datum: dt.date = pa.Field(description=PERIODE["datum"])
    locatie: str = pa.Field(nullable=True, description="Locatie")
    kanaal: str = pa.Field(isin=["balie", "video", "telefoon"], description="Kanaal")
    product: str = pa.Field(nullable=True, description="Product")
    status: str = pa.Field(
        isin=["gepland", "verschenen", "niet verschenen", "geannuleerd"], description="Laatste status"
    )
    aantal: int = pa.Field(ge=1, description="Aantal afspraken")

    class Config:
        unique = ("datum", "locatie", "kanaal", "product", "status")
        strict = True


PER_GRAIN: dict[str, type[pa.DataFrameModel]] = {
    "dag": KerncijfersDag,
    "maand": KerncijfersMaand,
    "jaar": KerncijfersJaar,
}
BREAKDOWNS: dict[str, type[pa.DataFrameModel]] = {
    "telefonie_uitsplitsing_dag": TelefonieUitsplitsingDag,
    "afspraken_uitsplitsing_dag": AfsprakenUitsplitsingDag,
}


def validate_partition(table: str, grain: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Validate one source's figure rows against the model of their table (its own columns only)."""
    if table in BREAKDOWNS:
        return BREAKDOWNS[table].validate(frame)
    schema = PER_GRAIN[grain].to_schema()
    keys: list[str] = [c for c in ("datum", "jaar", "maand") if c in frame.columns]
    partial = schema.select_columns(list(frame.columns))
    partial.unique = keys
    partial.checks = []  # checks across columns need both sources; they run on the joined tables
    return partial.validate(frame)
