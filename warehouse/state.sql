-- The pipeline's private working database (<warehouse>.state.duckdb), never opened by BI tools.
-- The record of processed deliveries and the rows they produced live here together, so that one
-- transaction changes both. Figure tables (telefonie_dag, ...) are created from their Pandera
-- models by the pipeline; their grain is stated there.

CREATE TABLE IF NOT EXISTS meta (
    sleutel VARCHAR PRIMARY KEY,   -- e.g. 'hmac_key_fingerprint'
    waarde  VARCHAR NOT NULL
);

-- Grain: one row per delivery (a file's path and content). A file re-delivered under the same
-- name with other content is a new delivery; the old one becomes 'vervangen'.
CREATE TABLE IF NOT EXISTS leveringen (
    bestand          VARCHAR NOT NULL,
    sha256           VARCHAR NOT NULL,
    bron             VARCHAR,
    status           VARCHAR NOT NULL,
    rijen            BIGINT,
    ongeldige_rijen  BIGINT,
    reden            VARCHAR,
    extra_kolommen   VARCHAR,
    codering         VARCHAR,
    grootte_bytes    BIGINT NOT NULL,
    gewijzigd_ns     BIGINT NOT NULL,
    run_id           VARCHAR NOT NULL,
    gezien_op        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bestand, sha256)
);

-- Grain: one row per broken rule of a delivered row (bestand, regel, kolom, reden).
CREATE TABLE IF NOT EXISTS quarantaine (
    bestand  VARCHAR NOT NULL,
    regel    BIGINT NOT NULL,
    kolom    VARCHAR,
    reden    VARCHAR NOT NULL,
    waarde   VARCHAR,
    bron     VARCHAR NOT NULL
);

-- Grain: one row per valid call row of an accepted delivery (bestand, regel).
CREATE TABLE IF NOT EXISTS gesprek_versies (
    bestand        VARCHAR NOT NULL,
    regel          BIGINT NOT NULL,
    gesprek_id     VARCHAR NOT NULL,
    gestart_op     TIMESTAMPTZ NOT NULL,
    nummer         VARCHAR NOT NULL,
    keuze          VARCHAR,
    wachtrij       VARCHAR,
    afhandeling    VARCHAR NOT NULL,
    wachttijd_s    BIGINT NOT NULL,
    gespreksduur_s BIGINT NOT NULL,
    beller_hash    VARCHAR
);

-- Grain: one row per call (gesprek_id): the version that counts, with its local day. The grain
-- holds by construction (rules.current_versions keeps one version per id) and is reconciled in
-- checks.py; a primary-key index would cost more to keep up on millions of rows than it checks.
CREATE TABLE IF NOT EXISTS gesprekken (
    bestand        VARCHAR NOT NULL,
    regel          BIGINT NOT NULL,
    gesprek_id     VARCHAR NOT NULL,
    gestart_op     TIMESTAMPTZ NOT NULL,
    nummer         VARCHAR NOT NULL,
    keuze          VARCHAR,
    wachtrij       VARCHAR,
    afhandeling    VARCHAR NOT NULL,
    wachttijd_s    BIGINT NOT NULL,
    gespreksduur_s BIGINT NOT NULL,
    beller_hash    VARCHAR,
    datum          DATE NOT NULL
);

-- Grain: one row per valid appointment-version row of an accepted delivery (bestand, regel).
CREATE TABLE IF NOT EXISTS afspraak_versies (
    bestand      VARCHAR NOT NULL,
    regel        BIGINT NOT NULL,
    afspraak_id  VARCHAR NOT NULL,
    locatie      VARCHAR,
    kanaal       VARCHAR NOT NULL,
    product      VARCHAR,
    datum        DATE NOT NULL,
    tijd         TIME NOT NULL,
    status       VARCHAR NOT NULL,
    gewijzigd_op TIMESTAMPTZ NOT NULL
);

-- Grain: one row per appointment (afspraak_id): its final state (see gesprekken for the grain).
CREATE TABLE IF NOT EXISTS afspraken (
    bestand      VARCHAR NOT NULL,
    regel        BIGINT NOT NULL,
    afspraak_id  VARCHAR NOT NULL,
    locatie      VARCHAR,
    kanaal       VARCHAR NOT NULL,
    product      VARCHAR,
    datum        DATE NOT NULL,
    tijd         TIME NOT NULL,
    status       VARCHAR NOT NULL,
    gewijzigd_op TIMESTAMPTZ NOT NULL
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
    rijen_gelezen          BIGINT,
    rijen_geteld           BIGINT,
    rijen_quarantaine      BIGINT,
    rijen_dubbel           BIGINT,
    partities_herberekend  BIGINT,
    jaren_herberekend      VARCHAR,
    melding                VARCHAR
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
