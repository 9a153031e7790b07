-- The pipeline's private working database (<warehouse>.state.duckdb), never opened by BI tools.
-- The record of processed deliveries, the list of the staged files that hold their rows
-- (`partities`) and the figures live here together, so that one transaction changes them all. Each
-- source's figure tables (<bron>_dag, ...) and its views <bron>_versies and <bron>_actueel over its
-- staged files are created from its declarations (pipeline/run/state.py, pipeline/run/partitions.py);
-- their grain is stated there.

CREATE TABLE IF NOT EXISTS meta (
    sleutel VARCHAR PRIMARY KEY,   -- e.g. 'hmac_key_fingerprint'
    waarde  VARCHAR NOT NULL
);

-- Grain: one row per delivery (a file's path and content), and one per entry of the landing
-- folder that is not a delivery or could not be read (sha256 '' then). One content per path has
-- status 'verwerkt' and counts; a file re-delivered under the same name with other content is a new
-- delivery that replaces it ('vervangen') when accepted and leaves it counting when rejected.
CREATE TABLE IF NOT EXISTS leveringen (
    bestand          VARCHAR NOT NULL,   -- path below the landing folder, undecodable bytes as \xNN
    sha256           VARCHAR NOT NULL,   -- of the bytes read: the delivery's identity
    bron             VARCHAR,
    status           VARCHAR NOT NULL,   -- verwerkt, afgewezen, vervangen, ingetrokken, genegeerd, overgeslagen
    rijen            BIGINT,
    ongeldige_rijen  BIGINT,
    reden            VARCHAR,
    extra_kolommen   VARCHAR,
    codering         VARCHAR,
    grootte_bytes    BIGINT NOT NULL,    -- with gewijzigd_ns: the file as the landing folder showed it
    gewijzigd_ns     BIGINT NOT NULL,
    eerste_dag       DATE,               -- days of the delivery's valid records
    laatste_dag      DATE,
    in_landingsmap   BOOLEAN,            -- a counted delivery whose file left the landing folder keeps counting
    ontbreekt_sinds  TIMESTAMPTZ,
    ingetrokken_op   TIMESTAMPTZ,        -- withdrawn with `pipeline withdraw`
    archief          VARCHAR,            -- the archive pack holding it (<bron>/<run_id>-<chunk>.parquet)
    archief_sha256   VARCHAR,            -- of that pack's bytes: damage is found and named
    archief_gewist_tot DATE,             -- keyed hashes and sealed values of its days before this erased
    run_id           VARCHAR NOT NULL,
    gezien_op        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bestand, sha256)
);

-- Grain: one row per broken rule of a delivered row (bestand, sha256, regel, kolom, reden).
CREATE TABLE IF NOT EXISTS quarantaine (
    bestand  VARCHAR NOT NULL,
    sha256   VARCHAR NOT NULL,
    regel    BIGINT NOT NULL,
    kolom    VARCHAR,
    reden    VARCHAR NOT NULL,
    waarde   VARCHAR,                    -- never personal data: a value that looks like it is masked
    bron     VARCHAR NOT NULL
);

-- Grain: one row per finding of a run about the landing folder (run_id, soort, bestand): files that
-- are not deliveries, entries skipped, rejected deliveries, counted deliveries whose file is gone.
CREATE TABLE IF NOT EXISTS meldingen (
    run_id   VARCHAR NOT NULL,
    soort    VARCHAR NOT NULL,
    bestand  VARCHAR NOT NULL,
    reden    VARCHAR
);

-- Grain: one row per run of the pipeline.
CREATE TABLE IF NOT EXISTS runs (
    run_id                 VARCHAR PRIMARY KEY,
    soort                  VARCHAR NOT NULL,
    gestart_op             TIMESTAMPTZ NOT NULL,
    geeindigd_op           TIMESTAMPTZ,
    status                 VARCHAR NOT NULL,
    leveringen_verwerkt    BIGINT,
    leveringen_afgewezen   BIGINT,
    leveringen_genegeerd   BIGINT,
    leveringen_overgeslagen BIGINT,
    rijen_gelezen          BIGINT,
    rijen_geldig           BIGINT,
    rijen_quarantaine      BIGINT,
    partities_herberekend  BIGINT,
    jaren_herberekend      VARCHAR,
    bewaartermijn_dagen    BIGINT,
    pseudoniemen_gewist    BIGINT,
    melding                VARCHAR,
    pid                    BIGINT,             -- the process that ran it, on
    host                   VARCHAR             -- this machine
);

-- Grain: one row per staged Parquet file that counts (bestand). The files live below
-- <warehouse>.versies/<bron>/<jaar>/, are named by the run that wrote them and never change; a file
-- this table does not name is removed at the start of the next run.
CREATE TABLE IF NOT EXISTS partities (
    bestand      VARCHAR PRIMARY KEY,  -- <bron>/<jaar>/<run_id>-<label>.parquet
    bron         VARCHAR NOT NULL,
    soort        VARCHAR NOT NULL,     -- versies: every valid row of the deliveries that count;
                                       -- actueel: the version that counts of each record of the year
    jaar         INTEGER NOT NULL,     -- of the local day of its records
    run_id       VARCHAR NOT NULL,
    rijen        BIGINT NOT NULL,
    eerste_dag   DATE,
    laatste_dag  DATE,
    leveringen   VARCHAR[],            -- versies: the deliveries (paths) whose rows it holds
    gewist_tot   DATE                  -- keyed hashes of personal data erased for days before this
);

-- Adopted figures (`pipeline freeze --year`): later runs recompute a year but never overwrite these;
-- the published view verschillen_vastgesteld shows where today's figures differ.
-- Grain: one row per adopted year, with the code that computed its figures.
CREATE TABLE IF NOT EXISTS vaststellingen (
    jaar               INTEGER PRIMARY KEY,
    vastgesteld_op     TIMESTAMPTZ NOT NULL,
    aantal_cijfers     BIGINT NOT NULL,
    aantal_leveringen  BIGINT NOT NULL,
    manifest_sha256    VARCHAR NOT NULL,   -- sha256 over the "sha256  bestand" lines of the deliveries
    pakketversie       VARCHAR NOT NULL,
    git_commit         VARCHAR,
    git_gewijzigd      BOOLEAN             -- tracked files differed from git_commit
);

-- Grain: one row per (jaar, cijfer): the adopted value of a figure of the yearly table.
CREATE TABLE IF NOT EXISTS vastgestelde_cijfers (
    jaar         INTEGER NOT NULL,
    cijfer       VARCHAR NOT NULL,
    volgorde     INTEGER NOT NULL,
    vastgesteld  DOUBLE,
    PRIMARY KEY (jaar, cijfer)
);

-- Grain: one row per (jaar, bestand, sha256): the processed deliveries behind an adopted year.
CREATE TABLE IF NOT EXISTS vastgestelde_leveringen (
    jaar     INTEGER NOT NULL,
    bestand  VARCHAR NOT NULL,
    bron     VARCHAR,
    sha256   VARCHAR NOT NULL,
    PRIMARY KEY (jaar, bestand, sha256)
);
