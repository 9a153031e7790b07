-- Calls per day and combination (also those the 14 030 menu sent on to other municipalities).
CREATE VIEW telefonie_uitsplitsing AS
SELECT datum, year(datum)::INTEGER AS jaar, month(datum)::INTEGER AS maand,
       nummer, keuze, wachtrij, afhandeling, voor_utrecht, aantal, wachttijd_s_totaal, gespreksduur_s_totaal
FROM data.telefonie_uitsplitsing_dag ORDER BY datum;
