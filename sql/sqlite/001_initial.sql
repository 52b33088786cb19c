-- qonversion-etl schema, version 1 (SQLite).
-- Same tables and columns as sql/postgres/001_initial.sql. Timestamps are UTC text
-- 'YYYY-MM-DD HH:MM:SS'. The decimal metrics have NUMERIC affinity; the CHECKs on them reject
-- text that is not a number, as PostgreSQL's numeric type would. Runs inside one transaction;
-- the migrator records the version in schema_migrations.

CREATE TABLE customer_metrics (
    snapshot_at           TEXT    NOT NULL,
    project               TEXT    NOT NULL,
    environment           INTEGER NOT NULL CHECK (environment IN (0, 1)),
    window_name           TEXT    NOT NULL,
    window_kind           TEXT    NOT NULL CHECK (window_kind IN ('fixed', 'rolling', 'cohort')),
    window_from           TEXT    NOT NULL,
    window_to             TEXT    NOT NULL,
    segment               TEXT    NOT NULL,
    status                TEXT,
    target_platform       TEXT,
    country               TEXT,
    product_id            TEXT,
    purchase_currency     TEXT,
    locale                TEXT,
    model                 TEXT,
    os_version            TEXT,
    app_version           TEXT,
    sdk_version           TEXT,
    media_source_name     TEXT,
    campaign_name         TEXT,
    ad_set_name           TEXT,
    ad_name               TEXT,
    experiment_uid        TEXT,
    experiment_group_uid  TEXT,
    search                TEXT,
    clients_with_event    INTEGER NOT NULL,
    active_subscribers    INTEGER NOT NULL,
    active_trials         INTEGER NOT NULL,
    billing_retry         INTEGER NOT NULL,
    churned_subscribers   REAL    NOT NULL,
    canceled_trials       REAL    NOT NULL,
    avg_payment_count     NUMERIC NOT NULL CHECK (typeof(avg_payment_count) IN ('integer', 'real')),
    avg_price             NUMERIC NOT NULL CHECK (typeof(avg_price) IN ('integer', 'real')),
    sales                 NUMERIC NOT NULL CHECK (typeof(sales) IN ('integer', 'real')),
    fetched_at            TEXT    NOT NULL,
    run_id                TEXT    NOT NULL,
    PRIMARY KEY (project, environment, snapshot_at, window_name, window_from, segment)
);

-- One series over a time range.
CREATE INDEX customer_metrics_series_idx
    ON customer_metrics (project, environment, window_name, segment, snapshot_at);
-- Everything of one snapshot (resume after a partial run, "latest snapshot" queries).
CREATE INDEX customer_metrics_snapshot_idx ON customer_metrics (snapshot_at);

CREATE TABLE etl_runs (
    run_id          TEXT    NOT NULL PRIMARY KEY,
    started_at      TEXT    NOT NULL,
    finished_at     TEXT,
    snapshot_at     TEXT    NOT NULL,
    status          TEXT    NOT NULL
        CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'interrupted')),
    cells_planned   INTEGER NOT NULL DEFAULT 0,
    cells_succeeded INTEGER NOT NULL DEFAULT 0,
    cells_failed    INTEGER NOT NULL DEFAULT 0,
    rows_upserted   INTEGER NOT NULL DEFAULT 0,
    requests_sent   INTEGER NOT NULL DEFAULT 0,
    version         TEXT    NOT NULL,
    config_sha256   TEXT    NOT NULL,
    host            TEXT    NOT NULL,
    message         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX etl_runs_snapshot_idx ON etl_runs (snapshot_at);

CREATE TABLE etl_cell_failures (
    run_id           TEXT    NOT NULL,
    project          TEXT    NOT NULL,
    environment      INTEGER NOT NULL,
    window_name      TEXT    NOT NULL,
    window_from      TEXT    NOT NULL,
    segment          TEXT    NOT NULL,
    attempts         INTEGER NOT NULL,
    last_http_status INTEGER,
    error            TEXT    NOT NULL,
    PRIMARY KEY (run_id, project, environment, window_name, window_from, segment)
);

CREATE TABLE schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S', 'now'))
);
