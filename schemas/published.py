"""Definitions of the BI-facing views and columns that no source owns (Dutch, for BI users).

A source's own views and columns are defined in its folder (`Source.view_comments`,
`Source.column_comments`); figures are defined where they are declared (`Figure.definition`).
"""

from __future__ import annotations

VIEW_COMMENTS: dict[str, str] = {
    "kerncijfers": "Kerncijfers publieksdienstverlening per jaar: de gepubliceerde cijfers, de afgeleide en "
    "de overige.",
    "kerncijfers_maand": "Dezelfde kerncijfers per kalendermaand.",
    "kerncijfers_dag": "Dezelfde kerncijfers per kalenderdag (dagen zonder gegevens van een bron: 0 voor aantallen).",
    "quarantaine": "Ongeldige rijen uit leveringen: niet geteld, te herstellen bij de bron. Nooit persoonsgegevens.",
    "leveringen": "Elk bestand in de landingsmap en elke inhoud die gelezen is: verwerkt (telt mee), afgewezen, "
    "vervangen, ingetrokken, genegeerd (geen levering) of overgeslagen (niet te lezen), met reden.",
    "meldingen": "Wat elke run in de landingsmap aantrof dat aandacht vraagt: afgewezen leveringen, overgeslagen "
    "bestanden, bestanden die geen levering zijn en meetellende leveringen waarvan het bestand verdwenen is.",
    "runs": "Elke run van de pipeline (nachtelijk of backfill) met wat hij deed.",
    "ontbrekende_leveringen": "Dagen zonder gegevens van een bron terwijl de dienst open was (geen weekend, "
    "geen dag waarop de gemeente gesloten is), tussen de eerste en de laatste dag met gegevens: echte gaten in "
    "de leveringen.",
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
    "aantal": "Aantal records (laatste versie) in deze combinatie.",
    "status": "Bij leveringen: verwerkt, afgewezen, vervangen, ingetrokken, genegeerd of overgeslagen; bij runs: "
    "voltooid of mislukt.",
    "bron": "Bron van de levering (de map in de landingsmap).",
    "bestand": "Pad van het geleverde bestand onder de landingsmap.",
    "regel": "Regelnummer in het bestand waar de rij begint (de kopregel is regel 1).",
    "kolom": "Kolom van de levering waarop de rij afgekeurd is; leeg als de rij als geheel niet klopt.",
    "reden": "Waarom de rij of het bestand niet geteld is.",
    "waarde": "De afgekeurde waarde zoals geleverd; nooit uit een kolom met persoonsgegevens, en een waarde die "
    "op een persoonsgegeven lijkt alleen als soort en sleutel-hash.",
    "sha256": "SHA-256 van de inhoud van het bestand: een levering is bekend aan haar inhoud.",
    "rijen": "Aantal gegevensrijen in het bestand (zonder kopregel).",
    "ongeldige_rijen": "Aantal rijen in quarantaine.",
    "extra_kolommen": "Onbekende kolommen in het bestand (genegeerd).",
    "codering": "Tekencodering waarin het bestand gelezen is (utf-8, utf-8-sig, cp1252).",
    "grootte_bytes": "Grootte van het bestand in bytes.",
    "gezien_op": "Moment (UTC) waarop de pipeline deze levering verwerkte.",
    "eerste_dag": "Eerste kalenderdag van de geldige records in de levering.",
    "laatste_dag": "Laatste kalenderdag van de geldige records in de levering.",
    "in_landingsmap": "Of het bestand van deze meetellende levering nog in de landingsmap staat; een verdwenen "
    "levering telt mee zoals ze gearchiveerd is.",
    "ontbreekt_sinds": "Moment (UTC) waarop de pipeline merkte dat het bestand uit de landingsmap verdwenen was.",
    "ingetrokken_op": "Moment (UTC) waarop de levering ingetrokken is (pipeline withdraw); ze telt niet meer mee.",
    "leveringen_overgeslagen": "Bestanden in de landingsmap die de run niet kon of mocht lezen.",
    "bewaartermijn_dagen": "Bewaartermijn van pseudoniemen in staged records die de run toepaste (leeg: geen).",
    "pseudoniemen_gewist": "Aantal staged records waarvan de run de sleutel-hash wiste (ouder dan de bewaartermijn).",
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
# Where one column name means something else in one view.
VIEW_COLUMN_COMMENTS: dict[tuple[str, str], str] = {
    ("meldingen", "soort"): "Soort melding: afgewezen, overgeslagen, genegeerd, verdwenen of ingetrokken_aanwezig.",
    ("meldingen", "gestart_op"): "Begin (UTC) van de run die de melding deed.",
}

# The view `definities`: every figure with its label as published, its definition, unit and source, and
# the Global Goals target it serves, so that a BI user never has to guess what a figure means.
SDG_DOEL = "16.6"
SDG_OMSCHRIJVING = (
    "Global Goal 16 (vrede, justitie en sterke publieke diensten), subdoel 16.6: ontwikkel op alle niveaus "
    "doeltreffende, verantwoordelijke en transparante instellingen."
)


def eenheid(name: str) -> str:
    """The unit of a figure, from its name (names carry their unit)."""
    if name.endswith("verandering_pct"):
        return "procentverandering"
    if name.endswith("_pct"):
        return "procent"
    if name.endswith("_s"):
        return "seconden"
    if name.endswith("per_dag"):
        return "aantal per dag"
    return "aantal"
