-- What the published tables that no source owns hold (each source adds its own from its folder),
-- as views over the inputs in schema `data` of a scratch database. Publishing materialises each view
-- as a table of the same name in the new file, in the order given here, with the comments declared
-- for it (the figures' declarations and src/pipeline/publish/tables.py, the one place each is written); the
-- file BI tools open holds those tables only. Types are the declared ones (a mismatch is refused).

CREATE VIEW kerncijfers AS SELECT * FROM data.kerncijfers_jaar ORDER BY jaar;
CREATE VIEW kerncijfers_maand AS SELECT * FROM data.kerncijfers_maand ORDER BY jaar, maand;
CREATE VIEW kerncijfers_dag AS SELECT * FROM data.kerncijfers_dag ORDER BY datum;

-- The invalid rows of the deliveries that count or were rejected (not of contents replaced since).
CREATE VIEW quarantaine AS
SELECT q.bron, q.bestand, q.regel, q.kolom, q.reden, q.waarde
FROM data.quarantaine q JOIN data.leveringen l USING (bestand, sha256)
WHERE l.status IN ('verwerkt', 'afgewezen')
ORDER BY q.bestand, q.regel;

CREATE VIEW leveringen AS
SELECT bestand, bron, nullif(sha256, '') AS sha256, status, rijen, ongeldige_rijen, reden, extra_kolommen,
       codering, grootte_bytes, eerste_dag, laatste_dag, in_landingsmap, ontbreekt_sinds, ingetrokken_op, gezien_op
FROM data.leveringen ORDER BY bestand, gezien_op;

CREATE VIEW meldingen AS
SELECT m.run_id, r.gestart_op, m.soort, m.bestand, m.reden
FROM data.meldingen m JOIN data.runs r USING (run_id) ORDER BY r.gestart_op, m.soort, m.bestand;

CREATE VIEW runs AS
SELECT run_id, soort, gestart_op, geeindigd_op, status, leveringen_verwerkt, leveringen_afgewezen,
       leveringen_genegeerd, leveringen_overgeslagen, rijen_gelezen, rijen_geldig,
       rijen_quarantaine, partities_herberekend, jaren_herberekend, bewaartermijn_dagen, pseudoniemen_gewist, melding
FROM data.runs ORDER BY gestart_op;

CREATE VIEW ontbrekende_leveringen AS
SELECT bron, datum, weekdag FROM data.ontbrekende_leveringen ORDER BY bron, datum;

CREATE VIEW versheid AS
SELECT bron, laatste_dag_met_gegevens, laatste_levering_verwerkt_op FROM data.versheid ORDER BY bron;

-- What every figure means and how it adds up: label as published, definition, unit, rounding, aggregation
-- (with numerator, denominator and a BI metric), source and the Global Goals target.
CREATE VIEW definities AS
SELECT cijfer, volgorde, label, definitie, eenheid, decimalen, afronding, aggregatie, teller, noemer, bi_metriek,
       bronsysteem, gepubliceerd_in, sdg_doel, sdg_omschrijving
FROM data.definities ORDER BY volgorde;

-- Adopted figures (pipeline freeze), the deliveries and code behind them, and where today's figures differ.
CREATE VIEW vaststellingen AS
SELECT jaar, vastgesteld_op, aantal_cijfers, aantal_leveringen, manifest_sha256, pakketversie, git_commit,
       git_gewijzigd
FROM data.vaststellingen ORDER BY jaar;

-- An adopted value of any figure, a count or a percentage, exact at the most decimals a figure has.
CREATE VIEW vastgestelde_cijfers AS
SELECT c.jaar, c.cijfer, c.vastgesteld::DECIMAL(18, 1) AS vastgesteld, v.vastgesteld_op
FROM data.vastgestelde_cijfers c JOIN data.vaststellingen v USING (jaar) ORDER BY c.jaar, c.volgorde;

CREATE VIEW vastgestelde_leveringen AS
SELECT jaar, bestand, bron, sha256 FROM data.vastgestelde_leveringen ORDER BY jaar, bestand;

CREATE VIEW verschillen_vastgesteld AS
WITH jaren AS (SELECT jaar, COLUMNS(* EXCLUDE (jaar))::DECIMAL(18, 1) FROM data.kerncijfers_jaar),
     nu AS (SELECT * FROM (UNPIVOT jaren ON COLUMNS(* EXCLUDE (jaar)) INTO NAME cijfer VALUE huidig)),
     c AS (SELECT jaar, cijfer, volgorde, vastgesteld::DECIMAL(18, 1) AS vastgesteld FROM data.vastgestelde_cijfers)
SELECT c.jaar, c.cijfer, c.vastgesteld, nu.huidig, (nu.huidig - c.vastgesteld)::DECIMAL(18, 1) AS verschil,
       v.vastgesteld_op
FROM c
JOIN data.vaststellingen v USING (jaar)
LEFT JOIN nu USING (jaar, cijfer)
WHERE nu.huidig IS DISTINCT FROM c.vastgesteld
ORDER BY c.jaar, c.volgorde;
