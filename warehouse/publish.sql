-- Views BI tools read in the published warehouse file. The tables behind them live in schema
-- `data`; the pipeline writes a new file and switches it in atomically, so readers never wait.
-- Column comments come from the Pandera models (schemas/), the one place definitions are written.

CREATE VIEW kerncijfers AS SELECT * FROM data.kerncijfers_jaar ORDER BY jaar;
CREATE VIEW kerncijfers_maand AS SELECT * FROM data.kerncijfers_maand ORDER BY jaar, maand;
CREATE VIEW kerncijfers_dag AS SELECT * FROM data.kerncijfers_dag ORDER BY datum;

CREATE VIEW telefoontjes_uitsplitsing AS
SELECT datum, year(datum)::INTEGER AS jaar, month(datum)::INTEGER AS maand,
       nummer, keuze, wachtrij, afhandeling,
       (nummer = '0302860000' OR keuze IN ('Utrecht', 'Overig', 'Geen keuze')) AS voor_utrecht,
       aantal, wachttijd_s_totaal, gespreksduur_s_totaal
FROM data.telefonie_uitsplitsing_dag ORDER BY datum;

CREATE VIEW afspraken_uitsplitsing AS
SELECT datum, year(datum)::INTEGER AS jaar, month(datum)::INTEGER AS maand,
       locatie, kanaal, product, status, aantal
FROM data.afspraken_uitsplitsing_dag ORDER BY datum;

CREATE VIEW quarantaine AS
SELECT bron, bestand, regel, kolom, reden, waarde FROM data.quarantaine ORDER BY bestand, regel;

CREATE VIEW leveringen AS
SELECT bestand, bron, sha256, status, rijen, ongeldige_rijen, reden, extra_kolommen, codering,
       grootte_bytes, gezien_op
FROM data.leveringen ORDER BY bestand;

CREATE VIEW runs AS
SELECT run_id, soort, gestart_op, geeindigd_op, status, leveringen_verwerkt, leveringen_afgewezen,
       leveringen_genegeerd, rijen_gelezen, rijen_geteld AS rijen_geldig, rijen_quarantaine,
       partities_herberekend, melding
FROM data.runs ORDER BY gestart_op;

CREATE VIEW ontbrekende_leveringen AS
SELECT bron, datum, weekdag FROM data.ontbrekende_leveringen ORDER BY bron, datum;

CREATE VIEW versheid AS
SELECT bron, laatste_dag_met_gegevens, laatste_levering_verwerkt_op FROM data.versheid ORDER BY bron;
