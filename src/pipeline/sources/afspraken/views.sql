-- Appointments (final state) per day, location, channel, product and status.
CREATE VIEW afspraken_uitsplitsing AS
SELECT datum, year(datum)::INTEGER AS jaar, month(datum)::INTEGER AS maand,
       locatie, kanaal, product, status, aantal
FROM data.afspraken_uitsplitsing_dag ORDER BY datum;
