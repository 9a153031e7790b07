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

-- Grain: one row per call (gesprek_id): the version that counts, with its local day.
CREATE TABLE IF NOT EXISTS gesprekken (
    bestand        VARCHAR NOT NULL,
    regel          BIGINT NOT NULL,
    gesprek_id     VARCHAR PRIMARY KEY,
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

-- Grain: one row per appointment (afspraak_id): its final state.
CREATE TABLE IF NOT EXISTS afspraken (
    bestand      VARCHAR NOT NULL,
    regel        BIGINT NOT NULL,
    afspraak_id  VARCHAR PRIMARY KEY,
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
    melding                VARCHAR
);
