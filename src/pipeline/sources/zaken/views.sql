-- Cases (final state) per day of completion (or of the last change, for cases not completed),
-- case type, channel and status.
CREATE VIEW zaken_uitsplitsing AS
SELECT datum, year(datum)::INTEGER AS jaar, month(datum)::INTEGER AS maand,
       zaaktype, kanaal, status, zonder_balie, aantal
FROM data.zaken_uitsplitsing_dag ORDER BY datum;
