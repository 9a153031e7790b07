"""The published tables that no source owns, with every column's Dutch definition and kind.

Each table lists its columns explicitly: a definition is never looked up by a column's name alone,
so a column that means something else in another table (`status`, `reden`, `soort`) has its own
text there, and a column nobody defined stops the run before it writes anything. A source's own
tables are defined in its folder (`Source.view_comments`, `Source.view_columns`); figures where
they are declared (`Figure.definition`, `Figure.kind`). The tables' contents are the queries of
`pipeline/publish/publish.sql`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pipeline.core.ledger_values import DeliveryStatus, IgnoredBecause, NoticeKind, RunKind, RunStatus
from pipeline.kit.contract import Column, Kind
from pipeline.kit.models import PERIODE

TEXT, FLAG, WHOLE, DAY, MOMENT = Kind.TEXT, Kind.FLAG, Kind.WHOLE, Kind.DAY, Kind.MOMENT


def _one_of(values: type[StrEnum]) -> str:
    """The values a column may hold, as its definition lists them."""
    *most, last = list(values)
    return f"{', '.join(most)} of {last}"


@dataclass(frozen=True)
class Table:
    """A published table: its definition and, in order, its columns (None: the figures' columns,
    which the figures' declarations define)."""

    definition: str
    columns: dict[str, Column] | None = None


# The period columns, shared by the figure tables and by the sources' tables that name them.
PERIOD: dict[str, Column] = {
    "datum": Column(PERIODE["datum"], DAY),
    "jaar": Column(PERIODE["jaar"], Kind.PERIOD),
    "maand": Column(PERIODE["maand"], Kind.PERIOD),
}

BRON = Column("Bron van de levering (de map in de landingsmap).", TEXT)
BESTAND = Column("Pad van het geleverde bestand onder de landingsmap.", TEXT)
SHA256 = Column("SHA-256 van de inhoud van het bestand: een levering is bekend aan haar inhoud.", TEXT)
RUN_ID = Column("Kenmerk van de run.", TEXT)
JAAR_VASTGESTELD = Column("Vastgesteld jaar (Nederlandse tijd).", Kind.PERIOD)
CIJFER = Column("Naam van het cijfer: de kolomnaam in kerncijfers.", TEXT)
VASTGESTELD = Column(
    "Waarde van het cijfer zoals vastgesteld, exact op het aantal decimalen van het cijfer (definities).",
    Kind.FIGURE_VALUE,
)
VASTGESTELD_OP = Column("Moment (UTC) waarop de cijfers van het jaar vastgesteld zijn (pipeline freeze).", MOMENT)

TABLES: dict[str, Table] = {
    "kerncijfers": Table(
        "Kerncijfers publieksdienstverlening per jaar: de gepubliceerde cijfers, de afgeleide en de overige. "
        "Percentages staan naast hun teller en noemer (definities: aggregatie)."
    ),
    "kerncijfers_maand": Table(
        "Dezelfde kerncijfers per kalendermaand. Tel aantallen op; bereken een percentage over meer maanden als "
        "100 x som(teller) / som(noemer) (definities), nooit als gemiddelde van percentages."
    ),
    "kerncijfers_dag": Table(
        "Dezelfde kerncijfers per kalenderdag. Een dag zonder gegevens in een maand met gegevens van de bron: 0 "
        "voor aantallen, leeg voor percentages en gemiddelden. Tel aantallen op; bereken een percentage over meer "
        "dagen als 100 x som(teller) / som(noemer) (definities)."
    ),
    "quarantaine": Table(
        "Ongeldige rijen uit leveringen: niet geteld, te herstellen bij de bron. Nooit persoonsgegevens.",
        {
            "bron": BRON,
            "bestand": BESTAND,
            "regel": Column("Regelnummer in het bestand waar de rij begint (de kopregel is regel 1).", WHOLE),
            "kolom": Column(
                "Kolom van de levering waarop de rij afgekeurd is; leeg als de rij als geheel niet klopt.", TEXT
            ),
            "reden": Column("Waarom de rij niet geteld is.", TEXT),
            "waarde": Column(
                "De afgekeurde waarde zoals geleverd; nooit uit een kolom met persoonsgegevens, en een waarde die op "
                "een persoonsgegeven lijkt alleen als soort en sleutel-hash.",
                TEXT,
            ),
        },
    ),
    "leveringen": Table(
        "Elk bestand in de landingsmap en elke inhoud die gelezen is: verwerkt (telt mee), afgewezen, vervangen, "
        "ingetrokken, genegeerd (geen levering) of overgeslagen (niet te lezen), met reden.",
        {
            "bestand": BESTAND,
            "bron": BRON,
            "sha256": SHA256,
            "status": Column(f"Status van de levering: {_one_of(DeliveryStatus)}.", TEXT),
            "rijen": Column("Aantal gegevensrijen in het bestand (zonder kopregel).", WHOLE),
            "ongeldige_rijen": Column("Aantal rijen in quarantaine.", WHOLE),
            "reden": Column(
                "Waarom het bestand afgewezen, overgeslagen of genegeerd is; leeg als het meetelt. Een genegeerd "
                f"bestand: {_one_of(IgnoredBecause)}.",
                TEXT,
            ),
            "extra_kolommen": Column("Onbekende kolommen in het bestand (genegeerd).", TEXT),
            "codering": Column("Tekencodering waarin het bestand gelezen is (utf-8, utf-8-sig, cp1252).", TEXT),
            "grootte_bytes": Column("Grootte van het bestand in bytes.", WHOLE),
            "eerste_dag": Column("Eerste kalenderdag van de geldige records in de levering.", DAY),
            "laatste_dag": Column("Laatste kalenderdag van de geldige records in de levering.", DAY),
            "in_landingsmap": Column(
                "Of het bestand van deze meetellende levering nog in de landingsmap staat; een verdwenen levering "
                "telt mee zoals ze gearchiveerd is.",
                FLAG,
            ),
            "ontbreekt_sinds": Column(
                "Moment (UTC) waarop de pipeline merkte dat het bestand uit de landingsmap verdwenen was.", MOMENT
            ),
            "ingetrokken_op": Column(
                "Moment (UTC) waarop de levering ingetrokken is (pipeline withdraw); ze telt niet meer mee.", MOMENT
            ),
            "gezien_op": Column("Moment (UTC) waarop de pipeline deze levering verwerkte.", MOMENT),
        },
    ),
    "meldingen": Table(
        "Wat elke run in de landingsmap aantrof dat aandacht vraagt: afgewezen leveringen, overgeslagen bestanden, "
        "bestanden die geen levering zijn en meetellende leveringen waarvan het bestand verdwenen is.",
        {
            "run_id": RUN_ID,
            "gestart_op": Column("Begin (UTC) van de run die de melding deed.", MOMENT),
            "soort": Column(f"Soort melding: {_one_of(NoticeKind)}.", TEXT),
            "bestand": BESTAND,
            "reden": Column("Toelichting bij de melding.", TEXT),
        },
    ),
    "runs": Table(
        "Elke run van de pipeline (nachtelijk, herberekening of intrekking) met wat hij deed.",
        {
            "run_id": RUN_ID,
            "soort": Column(f"Soort run: {_one_of(RunKind)}.", TEXT),
            "gestart_op": Column("Begin van de run (UTC).", MOMENT),
            "geeindigd_op": Column("Einde van de run (UTC).", MOMENT),
            "status": Column(f"Status van de run: {_one_of(RunStatus)}.", TEXT),
            "leveringen_verwerkt": Column("Nieuwe leveringen die de run verwerkte.", WHOLE),
            "leveringen_afgewezen": Column("Nieuwe leveringen die de run afwees.", WHOLE),
            "leveringen_genegeerd": Column("Nieuwe bestanden die geen levering zijn.", WHOLE),
            "leveringen_overgeslagen": Column("Bestanden in de landingsmap die de run niet kon of mocht lezen.", WHOLE),
            "rijen_gelezen": Column("Rijen in de nieuwe leveringen.", WHOLE),
            "rijen_geldig": Column("Geldige rijen (versies) uit geaccepteerde leveringen.", WHOLE),
            "rijen_quarantaine": Column("Rijen die in quarantaine gingen.", WHOLE),
            "partities_herberekend": Column("Aantal herberekende dag-, maand- en jaarpartities.", WHOLE),
            "jaren_herberekend": Column("Jaren waarvan de run dag-, maand- of jaarcijfers herberekende.", TEXT),
            "bewaartermijn_dagen": Column(
                "Bewaartermijn van pseudoniemen in staged records die de run toepaste (leeg: geen).", WHOLE
            ),
            "pseudoniemen_gewist": Column(
                "Aantal staged records waarvan de run de sleutel-hash wiste (ouder dan de bewaartermijn).", WHOLE
            ),
            "melding": Column("Toelichting, bij een mislukte run de reden.", TEXT),
        },
    ),
    "ontbrekende_leveringen": Table(
        "Dagen zonder gegevens van een bron terwijl de dienst open was (geen weekend, geen dag waarop de gemeente "
        "gesloten is), tussen de eerste en de laatste dag met gegevens: echte gaten in de leveringen.",
        {
            "bron": BRON,
            "datum": Column("Kalenderdag zonder gegevens van de bron (Nederlandse tijd).", DAY),
            "weekdag": Column("Dag van de week.", TEXT),
        },
    ),
    "versheid": Table(
        "Per bron de laatste dag met gegevens en de laatst verwerkte levering.",
        {
            "bron": BRON,
            "laatste_dag_met_gegevens": Column("Laatste kalenderdag waarvoor de bron records leverde.", DAY),
            "laatste_levering_verwerkt_op": Column(
                "Moment (UTC) waarop de laatste levering van de bron verwerkt werd.", MOMENT
            ),
        },
    ),
    "definities": Table(
        "Wat elk kerncijfer betekent en hoe het opgeteld wordt: label zoals gepubliceerd, definitie, eenheid, "
        "afronding, aggregatie (met teller en noemer van een percentage en een BI-metriek), bronsysteem en het "
        "Global Goals-subdoel (16.6) waaraan het bijdraagt.",
        {
            "cijfer": Column(
                "Naam van het cijfer: de kolomnaam in kerncijfers, kerncijfers_maand en kerncijfers_dag.", TEXT
            ),
            "volgorde": Column("Volgorde waarin het cijfer in de tabel kerncijfers staat.", WHOLE),
            "label": Column(
                "Omschrijving van het cijfer zoals de gemeente het publiceert (of, als het niet gepubliceerd wordt, "
                "in dezelfde stijl).",
                TEXT,
            ),
            "definitie": Column("Definitie: precies wat er geteld of berekend wordt.", TEXT),
            "eenheid": Column(
                "Eenheid van het cijfer: aantal, procent, procentverandering, seconden of aantal per dag.", TEXT
            ),
            "decimalen": Column("Aantal decimalen waarop het cijfer afgerond is (0: een heel getal).", WHOLE),
            "afronding": Column("Hoe het cijfer afgerond is.", TEXT),
            "aggregatie": Column(
                "Hoe het cijfer over meer dagen of maanden samengenomen wordt: som (optellen), verhouding (som van "
                "de teller gedeeld door som van de noemer, nooit een gemiddelde van percentages), niet optelbaar "
                "(zoals een mediaan: alleen zoals gepubliceerd per dag, maand of jaar) of alleen per jaar.",
                TEXT,
            ),
            "teller": Column("Bij een verhouding: het cijfer in de teller (een kolom van dezelfde tabel).", TEXT),
            "noemer": Column("Bij een verhouding: het cijfer in de noemer (een kolom van dezelfde tabel).", TEXT),
            "bi_metriek": Column(
                "SQL-uitdrukking voor een BI-metriek over kerncijfers_dag of kerncijfers_maand (in Superset een "
                "custom SQL metric); leeg als het cijfer niet op te tellen is.",
                TEXT,
            ),
            "bronsysteem": Column("Systeem waarvan de leveringen komen waaruit het cijfer berekend wordt.", TEXT),
            "gepubliceerd_in": Column(
                "Waar de gemeente het cijfer publiceert: de kerncijfertabel of de tekst van het verslag "
                "Publieksdienstverlening; leeg als het alleen in het warehouse staat.",
                TEXT,
            ),
            "sdg_doel": Column(
                "Subdoel van de Sustainable Development Goals (Global Goals) van de VN waaraan het cijfer "
                "bijdraagt, zoals op het Global Goals-dashboard van de gemeente.",
                TEXT,
            ),
            "sdg_omschrijving": Column("Omschrijving van dat subdoel.", TEXT),
        },
    ),
    "vaststellingen": Table(
        "Vastgestelde jaren (pipeline freeze): wanneer, uit hoeveel leveringen (manifest) en met welke code.",
        {
            "jaar": JAAR_VASTGESTELD,
            "vastgesteld_op": VASTGESTELD_OP,
            "aantal_cijfers": Column("Aantal vastgestelde cijfers van het jaar met een waarde.", WHOLE),
            "aantal_leveringen": Column(
                "Aantal verwerkte leveringen waaruit de vastgestelde cijfers berekend zijn.", WHOLE
            ),
            "manifest_sha256": Column(
                "SHA-256 over de regels 'sha256  bestand' van die leveringen (als sha256sum), gesorteerd op bestand.",
                TEXT,
            ),
            "pakketversie": Column("Versie van de pipeline die de vastgestelde cijfers berekende.", TEXT),
            "git_commit": Column(
                "Git-commit van de code die de vastgestelde cijfers berekende; leeg als onbekend.", TEXT
            ),
            "git_gewijzigd": Column(
                "Waar als de code bij het vaststellen afweek van die commit; leeg als onbekend.", FLAG
            ),
        },
    ),
    "vastgestelde_cijfers": Table(
        "De kerncijfers per jaar zoals ze vastgesteld zijn; latere runs veranderen ze niet.",
        {"jaar": JAAR_VASTGESTELD, "cijfer": CIJFER, "vastgesteld": VASTGESTELD, "vastgesteld_op": VASTGESTELD_OP},
    ),
    "vastgestelde_leveringen": Table(
        "De verwerkte leveringen (met SHA-256) waaruit de vastgestelde cijfers berekend zijn.",
        {"jaar": JAAR_VASTGESTELD, "bestand": BESTAND, "bron": BRON, "sha256": SHA256},
    ),
    "verschillen_vastgesteld": Table(
        "Vastgestelde cijfers die de huidige leveringen anders geven: vastgesteld, huidig en het verschil. Leeg "
        "als alles nog klopt.",
        {
            "jaar": JAAR_VASTGESTELD,
            "cijfer": CIJFER,
            "vastgesteld": VASTGESTELD,
            "huidig": Column(
                "Waarde van het cijfer zoals de huidige leveringen het nu geven (leeg als het niet te berekenen is).",
                Kind.FIGURE_VALUE,
            ),
            "verschil": Column("Huidig min vastgesteld; leeg als een van beide leeg is.", Kind.FIGURE_VALUE),
            "vastgesteld_op": VASTGESTELD_OP,
        },
    ),
}

# The view `definities`: every figure with its label as published, its definition, unit and source, and
# the Global Goals target it serves, so that a BI user never has to guess what a figure means.
SDG_DOEL = "16.6"
SDG_OMSCHRIJVING = (
    "Global Goal 16 (vrede, justitie en sterke publieke diensten), subdoel 16.6: ontwikkel op alle niveaus "
    "doeltreffende, verantwoordelijke en transparante instellingen."
)
