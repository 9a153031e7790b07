"""Definitions of the columns of the BI-facing views that are not figures (Dutch, for BI users)."""

from __future__ import annotations

from schemas.aggregates import AFSPRAKEN_GETALLEN, DEFINITIES, PERIODE, KerncijfersJaar, column_order

VIEW_COMMENTS: dict[str, str] = {
    "kerncijfers": "Kerncijfers publieksdienstverlening per jaar: de vier gepubliceerde cijfers en de afgeleide.",
    "kerncijfers_maand": "Dezelfde kerncijfers per kalendermaand.",
    "kerncijfers_dag": "Dezelfde kerncijfers per kalenderdag (dagen zonder gegevens van een bron: 0 voor aantallen).",
    "telefoontjes_uitsplitsing": "Gesprekken per dag, nummer, menukeuze, wachtrij en afhandeling "
    "(ook doorgeschakelde).",
    "afspraken_uitsplitsing": "Afspraken (laatste versie) per dag, locatie, kanaal, product en status.",
    "quarantaine": "Ongeldige rijen uit leveringen: niet geteld, te herstellen bij de bron. Nooit persoonsgegevens.",
    "leveringen": "Elk bestand in de landingsmap: verwerkt, afgewezen, genegeerd of vervangen, met reden.",
    "runs": "Elke run van de pipeline (nachtelijk of backfill) met wat hij deed.",
    "ontbrekende_leveringen": "Dagen zonder gegevens van een bron terwijl de dienst open was (geen weekend, "
    "geen feestdag), tussen de eerste en de laatste dag met gegevens: echte gaten in de leveringen.",
    "versheid": "Per bron de laatste dag met gegevens en de laatst verwerkte levering.",
    "definities": "Wat elk kerncijfer betekent: label zoals gepubliceerd, definitie, eenheid, bronsysteem en het "
    "Global Goals-subdoel (16.6) waaraan het bijdraagt.",
    "vaststellingen": "Vastgestelde jaren (pipeline freeze): wanneer, uit hoeveel leveringen (manifest) en met "
    "welke code.",
    "vastgestelde_cijfers": "De kerncijfers per jaar zoals ze vastgesteld zijn; latere runs veranderen ze niet.",
    "vastgestelde_leveringen": "De verwerkte leveringen (met SHA-256) waaruit de vastgestelde cijfers berekend zijn.",
    "verschillen_vastgesteld": "Vastgestelde cijfers die de huidige leveringen anders geven: vastgesteld, huidig "
    "en het verschil. Leeg als alles nog klopt.",
}

COLUMN_COMMENTS: dict[str, str] = {
    **DEFINITIES,
    "nummer": "Gekozen nummer, genormaliseerd: 14030 of 0302860000.",
    "keuze": "Keuze in het 14 030-menu (Utrecht, Zeist, Houten, Nieuwegein, IJsselstein, Overig, Geen keuze); "
    "leeg bij 030.",
    "wachtrij": "Wachtrij van het Klantcontactcentrum; leeg als niet geleverd.",
    "afhandeling": "Afloop: beantwoord, verbroken of doorgeschakeld (naar een andere gemeente).",
    "voor_utrecht": "Waar als het gesprek meetelt in telefoontjes_gemeente.",
    "aantal": "Aantal gesprekken of afspraken in deze combinatie.",
    "wachttijd_s_totaal": "Som van de wachttijd in seconden (voor gemiddelden over een eigen selectie).",
    "gespreksduur_s_totaal": "Som van de gespreksduur in seconden.",
    "locatie": "Locatie van de afspraak zoals geleverd.",
    "kanaal": "Kanaal van de afspraak: balie, video of telefoon.",
    "product": "Product (dienst) van de afspraak zoals geleverd.",
    "status": "Status: bij afspraken de laatste status; bij leveringen verwerkt, afgewezen, genegeerd of vervangen; "
    "bij runs voltooid of mislukt.",
    "bron": "Bron van de levering: telefonie of afspraken.",
    "bestand": "Pad van het geleverde bestand onder de landingsmap.",
    "regel": "Regelnummer in het bestand waar de rij begint (de kopregel is regel 1).",
    "kolom": "Kolom van de levering waarop de rij afgekeurd is; leeg als de rij als geheel niet klopt.",
    "reden": "Waarom de rij of het bestand niet geteld is.",
    "waarde": "De afgekeurde waarde zoals geleverd (nooit uit een kolom met persoonsgegevens).",
    "sha256": "SHA-256 van de inhoud van het bestand: een levering is bekend aan haar inhoud.",
    "rijen": "Aantal gegevensrijen in het bestand (zonder kopregel).",
    "ongeldige_rijen": "Aantal rijen in quarantaine.",
    "extra_kolommen": "Onbekende kolommen in het bestand (genegeerd).",
    "codering": "Tekencodering waarin het bestand gelezen is (utf-8, utf-8-sig, cp1252).",
    "grootte_bytes": "Grootte van het bestand in bytes.",
    "gezien_op": "Moment (UTC) waarop de pipeline deze levering verwerkte.",
    "run_id": "Kenmerk van de run.",
    "soort": "Soort run: nightly of backfill.",
    "gestart_op": "Begin van de run (UTC).",
    "geeindigd_op": "Einde van de run (UTC).",
    "leveringen_verwerkt": "Nieuwe leveringen die de run verwerkte.",
    "leveringen_afgewezen": "Nieuwe leveringen die de run afwees.",
    "leveringen_genegeerd": "Nieuwe bestanden die geen levering zijn.",
    "rijen_gelezen": "Rijen in de nieuwe leveringen.",
    "rijen_geldig": "Geldige rijen (versies) uit geaccepteerde leveringen.",
    "rijen_quarantaine": "Rijen die in quarantaine gingen.",
    "partities_herberekend": "Aantal herberekende dag-, maand- en jaarpartities.",
    "jaren_herberekend": "Jaren waarvan de run dag-, maand- of jaarcijfers herberekende.",
    "melding": "Toelichting, bij een mislukte run de reden.",
    "weekdag": "Dag van de week.",
    "laatste_dag_met_gegevens": "Laatste kalenderdag waarvoor de bron records leverde.",
    "laatste_levering_verwerkt_op": "Moment (UTC) waarop de laatste levering van de bron verwerkt werd.",
    # definities
    "cijfer": "Naam van het cijfer: de kolomnaam in kerncijfers, kerncijfers_maand en kerncijfers_dag.",
    "volgorde": "Volgorde waarin het cijfer in de tabel kerncijfers staat.",
    "label": "Omschrijving van het cijfer zoals de gemeente het publiceert (of, als het niet gepubliceerd "
    "wordt, in dezelfde stijl).",
    "definitie": "Definitie: precies wat er geteld of berekend wordt.",
    "eenheid": "Eenheid van het cijfer: aantal, procent, procentverandering, seconden of aantal per dag.",
    "bronsysteem": "Systeem waarvan de leveringen komen waaruit het cijfer berekend wordt.",
    "gepubliceerd_in": "Waar de gemeente het cijfer publiceert: de kerncijfertabel of de tekst van het "
    "verslag Publieksdienstverlening; leeg als het alleen in het warehouse staat.",
    "sdg_doel": "Subdoel van de Sustainable Development Goals (Global Goals) van de VN waaraan het cijfer "
    "bijdraagt, zoals op het Global Goals-dashboard van de gemeente.",
    "sdg_omschrijving": "Omschrijving van dat subdoel.",
    # vastgestelde cijfers (pipeline freeze)
    "vastgesteld_op": "Moment (UTC) waarop de cijfers van het jaar vastgesteld zijn (pipeline freeze).",
    "vastgesteld": "Waarde van het cijfer zoals vastgesteld.",
    "huidig": "Waarde van het cijfer zoals de huidige leveringen het nu geven (leeg als het niet te berekenen is).",
    "verschil": "Huidig min vastgesteld; leeg als een van beide leeg is.",
    "aantal_cijfers": "Aantal vastgestelde cijfers van het jaar met een waarde.",
    "aantal_leveringen": "Aantal verwerkte leveringen waaruit de vastgestelde cijfers berekend zijn.",
    "manifest_sha256": "SHA-256 over de regels 'sha256  bestand' van die leveringen (als sha256sum), "
    "gesorteerd op bestand.",
    "pakketversie": "Versie van de pipeline die de vastgestelde cijfers berekende.",
    "git_commit": "Git-commit van de code die de vastgestelde cijfers berekende; leeg als onbekend.",
    "git_gewijzigd": "Waar als de code bij het vaststellen afweek van die commit; leeg als onbekend.",
}

# The view `definities`: every figure with its label as published, its definition, unit and source, and
# the Global Goals target it serves, so that a BI user never has to guess what a figure means.
SDG_DOEL = "16.6"
SDG_OMSCHRIJVING = (
    "Global Goal 16 (vrede, justitie en sterke publieke diensten), subdoel 16.6: ontwikkel op alle niveaus "
    "doeltreffende, verantwoordelijke en transparante instellingen."
)
LABELS: dict[str, str] = {
    # as printed in the key-figures table and the text of the municipality's report
    "baliebezoeken_met_afspraak": "aantal baliebezoeken met afspraak",
    "telefoontjes_gemeente": "aantal telefoontjes naar gemeente",
    "telefoontjes_14030": "aantal telefoontjes via 14030",
    "bereikbaarheid_pct": "% telefonische bereikbaarheid",
    "aandeel_14030_pct": "% telefoontjes via 14030",
    "baliebezoeken_verandering_pct": "verandering baliebezoeken t.o.v. vorig jaar (%)",
    "telefoontjes_verandering_pct": "verandering telefoontjes t.o.v. vorig jaar (%)",
    "telefoontjes_per_dag": "telefoontjes per dag",
    # not published by the municipality; labelled in the same style
    "telefoontjes_0302860000": "aantal telefoontjes via 030-2860000",
    "telefoontjes_platform": "aantal gesprekken op het telefonieplatform",
    "telefoontjes_doorgeschakeld": "aantal gesprekken doorgeschakeld naar andere gemeenten",
    "telefoontjes_beantwoord": "aantal beantwoorde telefoontjes",
    "wachttijd_gemiddeld_s": "gemiddelde wachttijd (seconden)",
    "wachttijd_mediaan_s": "mediane wachttijd (seconden)",
    "wachttijd_p90_s": "wachttijd waarbinnen 90% beantwoord is (seconden)",
    "beantwoord_binnen_60s_pct": "% telefoontjes beantwoord binnen 60 seconden",
    "herhaalbellers_7d": "aantal telefoontjes van herhaalbellers (binnen 7 dagen)",
    "herhaalbellers_7d_pct": "% telefoontjes van herhaalbellers (binnen 7 dagen)",
    "balie_niet_verschenen": "aantal baliebezoeken met afspraak niet verschenen",
    "no_show_pct": "% niet verschenen bij baliebezoeken met afspraak",
    "afspraken_totaal": "aantal afspraken",
    "afspraken_geannuleerd": "aantal geannuleerde afspraken",
    "videoafspraken_verschenen": "aantal videoafspraken",
    "telefoonafspraken_verschenen": "aantal telefonische afspraken",
}
GEPUBLICEERD_IN: dict[str, str] = {
    **dict.fromkeys(
        ("baliebezoeken_met_afspraak", "telefoontjes_gemeente", "telefoontjes_14030", "bereikbaarheid_pct"),
        "kerncijfertabel",
    ),
    **dict.fromkeys(
        ("aandeel_14030_pct", "baliebezoeken_verandering_pct", "telefoontjes_verandering_pct", "telefoontjes_per_dag"),
        "tekst van het verslag",
    ),
}
BRONSYSTEMEN = {
    "afspraken": "afspraken: afsprakensysteem Burgerzaken (afspraken_*.csv)",
    "telefonie": "telefonie: telefonieplatform van het Klantcontactcentrum (telefonie_*.csv)",
}


def _eenheid(name: str) -> str:
    if name.endswith("verandering_pct"):
        return "procentverandering"
    if name.endswith("_pct"):
        return "procent"
    if name.endswith("_s"):
        return "seconden"
    if name.endswith("per_dag"):
        return "aantal per dag"
    return "aantal"


def definities() -> list[dict[str, object]]:
    """One row per figure of the yearly table, in its order: the contents of the view `definities`."""
    figures = [c for c in column_order(KerncijfersJaar) if c not in PERIODE]
    afspraken = {*AFSPRAKEN_GETALLEN, "baliebezoeken_verandering_pct"}
    return [
        {
            "cijfer": name,
            "volgorde": position,
            "label": LABELS[name],
            "definitie": DEFINITIES[name],
            "eenheid": _eenheid(name),
            "bronsysteem": BRONSYSTEMEN["afspraken" if name in afspraken else "telefonie"],
            "gepubliceerd_in": GEPUBLICEERD_IN.get(name),
            "sdg_doel": SDG_DOEL,
            "sdg_omschrijving": SDG_OMSCHRIJVING,
        }
        for position, name in enumerate(figures, 1)
    ]
