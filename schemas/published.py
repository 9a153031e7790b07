"""Definitions of the columns of the BI-facing views that are not figures (Dutch, for BI users)."""

from __future__ import annotations

from schemas.aggregates import DEFINITIES

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
    "melding": "Toelichting, bij een mislukte run de reden.",
    "weekdag": "Dag van de week.",
    "laatste_dag_met_gegevens": "Laatste kalenderdag waarvoor de bron records leverde.",
    "laatste_levering_verwerkt_op": "Moment (UTC) waarop de laatste levering van de bron verwerkt werd.",
}
