-- qonversion-etl schema, version 1 (PostgreSQL).
-- Runs inside one transaction with search_path set to the configured schema, so every object
-- is created unqualified in that schema. The migrator records the version in schema_migrations.

CREATE TABLE customer_metrics (
    snapshot_at           timestamptz      NOT NULL,
    project               text             NOT NULL,
    environment           smallint         NOT NULL CHECK (environment IN (0, 1)),
    window_name           text             NOT NULL,
    window_kind           text             NOT NULL CHECK (window_kind IN ('fixed', 'rolling', 'cohort')),
    window_from           timestamptz      NOT NULL,
    window_to             timestamptz      NOT NULL,
    segment               text             NOT NULL,
    status                text,
    target_platform       text,
    country               text,
    product_id            text,
    purchase_currency     text,
    locale                text,
    model                 text,
    os_version            text,
    app_version           text,
    sdk_version           text,
    media_source_name     text,
    campaign_name         text,
    ad_set_name           text,
    ad_name               text,
    experiment_uid        text,
    experiment_group_uid  text,
    search                text,
    clients_with_event    bigint           NOT NULL,
    active_subscribers    bigint           NOT NULL,
    active_trials         bigint           NOT NULL,
    billing_retry         bigint           NOT NULL,
    churned_subscribers   double precision NOT NULL,
    canceled_trials       double precision NOT NULL,
    avg_payment_count     numeric          NOT NULL,
    avg_price             numeric          NOT NULL,
    sales                 numeric          NOT NULL,
    fetched_at            timestamptz      NOT NULL,
    run_id                text             NOT NULL,
    CONSTRAINT customer_metrics_pkey
        PRIMARY KEY (project, environment, snapshot_at, window_name, window_from, segment)
);

-- One series over a time range: WHERE project = .. AND environment = .. AND window_name = ..
-- AND segment = .. AND snapshot_at BETWEEN ..
CREATE INDEX customer_metrics_series_idx
    ON customer_metrics (project, environment, window_name, segment, snapshot_at);
-- Everything of one snapshot (resume after a partial run, "latest snapshot" queries).
CREATE INDEX customer_metrics_snapshot_idx ON customer_metrics (snapshot_at);

COMMENT ON TABLE customer_metrics IS
    'Qonversion customer metrics, one row per snapshot and cell (project, environment, first-seen window, filter segment). Written by qonversion-etl; a re-run of the same snapshot updates its rows in place.';
COMMENT ON COLUMN customer_metrics.snapshot_at IS
    'Logical snapshot time (UTC), truncated to the configured grain (day or hour). All rows of one nightly run share it.';
COMMENT ON COLUMN customer_metrics.project IS
    'Project name from the qonversion-etl config (never the API key).';
COMMENT ON COLUMN customer_metrics.environment IS
    'Qonversion environment: 0 = sandbox, 1 = production.';
COMMENT ON COLUMN customer_metrics.window_name IS
    'Name of the configured first-seen window, e.g. all_time, last_7_days, daily_cohorts.';
COMMENT ON COLUMN customer_metrics.window_kind IS
    'fixed = [from, snapshot); rolling = [snapshot - length, snapshot); cohort = one calendar-aligned bucket before the snapshot.';
COMMENT ON COLUMN customer_metrics.window_from IS
    'Start (inclusive, UTC) of the first-seen range asked for: customers first seen at or after this time.';
COMMENT ON COLUMN customer_metrics.window_to IS
    'End (exclusive, UTC) of the first-seen range asked for.';
COMMENT ON COLUMN customer_metrics.segment IS
    'Canonical text of the filters applied, e.g. country=US;target_platform=iOS; "all" when unfiltered. Part of the series key.';
COMMENT ON COLUMN customer_metrics.status IS
    'Subscription status filter (1-4) the row was fetched with; NULL = not filtered on status.';
COMMENT ON COLUMN customer_metrics.target_platform IS
    'Platform filter (iOS, Android, Stripe) or group name; NULL = all platforms.';
COMMENT ON COLUMN customer_metrics.country IS
    'Country filter (ISO 3166 alpha-2) or name of a configured country group such as EU; NULL = all countries.';
COMMENT ON COLUMN customer_metrics.product_id IS
    'Product identifier filter or group name; NULL = all products.';
COMMENT ON COLUMN customer_metrics.purchase_currency IS
    'Purchase currency filter (ISO 4217) or group name; NULL = all currencies.';
COMMENT ON COLUMN customer_metrics.locale IS
    'Device locale filter or group name; NULL = all locales.';
COMMENT ON COLUMN customer_metrics.model IS
    'Device model filter or group name; NULL = all models.';
COMMENT ON COLUMN customer_metrics.os_version IS
    'OS version filter or group name; NULL = all OS versions.';
COMMENT ON COLUMN customer_metrics.app_version IS
    'App version filter or group name; NULL = all app versions.';
COMMENT ON COLUMN customer_metrics.sdk_version IS
    'Qonversion SDK version filter or group name; NULL = all SDK versions.';
COMMENT ON COLUMN customer_metrics.media_source_name IS
    'Attribution media source filter or group name; NULL = all media sources.';
COMMENT ON COLUMN customer_metrics.campaign_name IS
    'Attribution campaign filter or group name; NULL = all campaigns.';
COMMENT ON COLUMN customer_metrics.ad_set_name IS
    'Attribution ad set filter or group name; NULL = all ad sets.';
COMMENT ON COLUMN customer_metrics.ad_name IS
    'Attribution ad filter or group name; NULL = all ads.';
COMMENT ON COLUMN customer_metrics.experiment_uid IS
    'A/B experiment identifier filter or group name; NULL = not filtered on experiment.';
COMMENT ON COLUMN customer_metrics.experiment_group_uid IS
    'A/B experiment group identifier filter or group name; NULL = not filtered on experiment group.';
COMMENT ON COLUMN customer_metrics.search IS
    'Free-text universal search filter sent to the API; NULL = no search.';
COMMENT ON COLUMN customer_metrics.clients_with_event IS
    'Customers first seen in the window (and matching the filters) that have at least one event, as of the snapshot.';
COMMENT ON COLUMN customer_metrics.active_subscribers IS
    'Of those customers, how many had an active paid subscription at snapshot time.';
COMMENT ON COLUMN customer_metrics.active_trials IS
    'Of those customers, how many were in an active trial at snapshot time.';
COMMENT ON COLUMN customer_metrics.billing_retry IS
    'Of those customers, how many were in billing retry (renewal payment failing) at snapshot time.';
COMMENT ON COLUMN customer_metrics.churned_subscribers IS
    'Percentage (0-100) of subscribers that churned, exactly as the API answered it.';
COMMENT ON COLUMN customer_metrics.canceled_trials IS
    'Percentage (0-100) of trials that were canceled, exactly as the API answered it.';
COMMENT ON COLUMN customer_metrics.avg_payment_count IS
    'Average number of payments per paying customer; stored exactly as the API sent it (never rounded).';
COMMENT ON COLUMN customer_metrics.avg_price IS
    'Average price paid; stored exactly as the API sent it (never rounded).';
COMMENT ON COLUMN customer_metrics.sales IS
    'Total sales (revenue) of those customers; stored exactly as the API sent it (never rounded).';
COMMENT ON COLUMN customer_metrics.fetched_at IS
    'When the API answer for this row arrived (UTC).';
COMMENT ON COLUMN customer_metrics.run_id IS
    'The qonversion-etl run that last wrote this row (see etl_runs.run_id).';

CREATE TABLE etl_runs (
    run_id          text        NOT NULL PRIMARY KEY,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    snapshot_at     timestamptz NOT NULL,
    status          text        NOT NULL
        CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'interrupted')),
    cells_planned   bigint      NOT NULL DEFAULT 0,
    cells_succeeded bigint      NOT NULL DEFAULT 0,
    cells_failed    bigint      NOT NULL DEFAULT 0,
    rows_upserted   bigint      NOT NULL DEFAULT 0,
    requests_sent   bigint      NOT NULL DEFAULT 0,
    version         text        NOT NULL,
    config_sha256   text        NOT NULL,
    host            text        NOT NULL,
    message         text        NOT NULL DEFAULT ''
);
CREATE INDEX etl_runs_snapshot_idx ON etl_runs (snapshot_at);

COMMENT ON TABLE etl_runs IS
    'One row per qonversion-etl run: when it ran, for which snapshot, how it ended and how much it did.';
COMMENT ON COLUMN etl_runs.run_id IS 'Unique identifier of the run.';
COMMENT ON COLUMN etl_runs.started_at IS 'When the run started (UTC).';
COMMENT ON COLUMN etl_runs.finished_at IS 'When the run ended (UTC); NULL while running or if the process died.';
COMMENT ON COLUMN etl_runs.snapshot_at IS 'Logical snapshot time the run loaded (customer_metrics.snapshot_at).';
COMMENT ON COLUMN etl_runs.status IS
    'running, succeeded (every cell loaded), partial (some cells failed), failed, or interrupted (SIGTERM/SIGINT).';
COMMENT ON COLUMN etl_runs.cells_planned IS 'Cells (requests to make) planned for this run.';
COMMENT ON COLUMN etl_runs.cells_succeeded IS 'Cells fetched and loaded.';
COMMENT ON COLUMN etl_runs.cells_failed IS 'Cells that failed for good (see etl_cell_failures).';
COMMENT ON COLUMN etl_runs.rows_upserted IS 'customer_metrics rows inserted or updated by the run.';
COMMENT ON COLUMN etl_runs.requests_sent IS 'HTTP requests sent to the Qonversion API, retries included.';
COMMENT ON COLUMN etl_runs.version IS 'qonversion-etl version that ran.';
COMMENT ON COLUMN etl_runs.config_sha256 IS 'SHA-256 of the config file used, to tell which configuration produced the data.';
COMMENT ON COLUMN etl_runs.host IS 'Host name the run executed on.';
COMMENT ON COLUMN etl_runs.message IS 'Summary or the error that ended the run; empty when there is nothing to say.';

CREATE TABLE etl_cell_failures (
    run_id           text        NOT NULL,
    project          text        NOT NULL,
    environment      smallint    NOT NULL,
    window_name      text        NOT NULL,
    window_from      timestamptz NOT NULL,
    segment          text        NOT NULL,
    attempts         integer     NOT NULL,
    last_http_status integer,
    error            text        NOT NULL,
    CONSTRAINT etl_cell_failures_pkey
        PRIMARY KEY (run_id, project, environment, window_name, window_from, segment)
);

COMMENT ON TABLE etl_cell_failures IS
    'Cells that failed for good in a run (after all retries): what was asked and why it failed.';
COMMENT ON COLUMN etl_cell_failures.run_id IS 'The run in which the cell failed (etl_runs.run_id).';
COMMENT ON COLUMN etl_cell_failures.project IS 'Project name from the config.';
COMMENT ON COLUMN etl_cell_failures.environment IS 'Qonversion environment: 0 = sandbox, 1 = production.';
COMMENT ON COLUMN etl_cell_failures.window_name IS 'Name of the configured first-seen window.';
COMMENT ON COLUMN etl_cell_failures.window_from IS 'Start (UTC) of the first-seen range of the failed cell.';
COMMENT ON COLUMN etl_cell_failures.segment IS 'Canonical filter text of the failed cell ("all" when unfiltered).';
COMMENT ON COLUMN etl_cell_failures.attempts IS 'Requests made for the cell, first try included.';
COMMENT ON COLUMN etl_cell_failures.last_http_status IS
    'HTTP status of the last attempt; NULL when no answer arrived (timeout, connection error).';
COMMENT ON COLUMN etl_cell_failures.error IS 'Why the last attempt failed (API key and passwords masked).';

CREATE TABLE schema_migrations (
    version    integer     NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE schema_migrations IS
    'Schema migrations applied by qonversion-etl; the highest version is the schema version of this warehouse.';
COMMENT ON COLUMN schema_migrations.version IS 'Migration number (the NNN of sql/postgres/NNN_name.sql).';
COMMENT ON COLUMN schema_migrations.name IS 'Migration name (the name part of the file name).';
COMMENT ON COLUMN schema_migrations.applied_at IS 'When the migration was applied (UTC).';
