-- qonversion-etl schema, version 7 (PostgreSQL): the trend views read tables that follow the
-- runs, so their cost follows the rows they show rather than the years stored.
-- sql/sqlite/007_trend_tables.sql builds the same tables and views, with the same results.
--
-- The views of version 3 ranked every row of customer_metrics on each query: their cost grew with
-- the history. Now:
-- customer_metrics_days: one row per series and closed UTC day (every day before the open one),
--   a copy of that day's last customer_metrics row with its changes against one and seven days
--   before, computed once when the day is closed. Its primary key starts with the day, so a range
--   of days is one index range; customer_metrics_days_series_idx serves one series over time.
-- customer_metrics_series: each series' newest closed day, which customer_metrics_latest joins
--   back to its row.
-- customer_metrics_open_day: one row, the open day. The views read it and any later day straight
--   from customer_metrics (a range of customer_metrics_snapshot_idx): the night's snapshot, while
--   it is being loaded, resumed, sharded or re-run, costs no more than before.
-- The runs move the open day (triggers on etl_runs): a run of a later snapshot closes the days
-- before its own when it starts (their rows are computed in one statement); a run of an earlier
-- snapshot (a backfill, a late --resume) reopens its day when it starts, and the days are closed
-- again when it ends. customer_metrics itself has no trigger: the nightly upsert is unchanged.
-- Rows written into a closed day by other means are seen by the views after
-- `qonversion-etl migrate --rebuild` (sql/postgres/derived/rebuild.sql).
--
-- A series is (project, environment, window_name, segment, window_kind, cohort_key); cohort_key is
-- the cohort's UTC date for cohort windows and 'infinity' otherwise (the views show it as
-- cohort_date, NULL for fixed and rolling windows). The dimension columns follow from segment and
-- come with the row. A day's row is its last snapshot_at, then the later fetched_at, then the later
-- window_from, as in the views of version 3.

CREATE TABLE customer_metrics_days (
    day                          date             NOT NULL,
    project                      text             NOT NULL,
    environment                  smallint         NOT NULL,
    window_name                  text             NOT NULL,
    segment                      text             NOT NULL,
    window_kind                  text             NOT NULL,
    cohort_key                   date             NOT NULL,
    snapshot_at                  timestamptz      NOT NULL,
    window_from                  timestamptz      NOT NULL,
    window_to                    timestamptz      NOT NULL,
    status                       text,
    target_platform              text,
    country                      text,
    product_id                   text,
    purchase_currency            text,
    locale                       text,
    model                        text,
    os_version                   text,
    app_version                  text,
    sdk_version                  text,
    media_source_name            text,
    campaign_name                text,
    ad_set_name                  text,
    ad_name                      text,
    experiment_uid               text,
    experiment_group_uid         text,
    search                       text,
    clients_with_event           bigint           NOT NULL,
    active_subscribers           bigint           NOT NULL,
    active_trials                bigint           NOT NULL,
    billing_retry                bigint           NOT NULL,
    churned_subscribers          double precision NOT NULL,
    canceled_trials              double precision NOT NULL,
    avg_payment_count            numeric          NOT NULL,
    avg_price                    numeric          NOT NULL,
    sales                        numeric          NOT NULL,
    fetched_at                   timestamptz      NOT NULL,
    run_id                       text             NOT NULL,
    clients_with_event_change_1d bigint,
    clients_with_event_change_7d bigint,
    active_subscribers_change_1d bigint,
    active_subscribers_change_7d bigint,
    active_trials_change_1d      bigint,
    active_trials_change_7d      bigint,
    billing_retry_change_1d      bigint,
    billing_retry_change_7d      bigint,
    CONSTRAINT customer_metrics_days_pkey
        PRIMARY KEY (day, project, environment, window_name, segment, window_kind, cohort_key)
);

-- One series over a range of days.
CREATE INDEX customer_metrics_days_series_idx
    ON customer_metrics_days (project, environment, window_name, segment, day);

CREATE TABLE customer_metrics_series (
    project     text     NOT NULL,
    environment smallint NOT NULL,
    window_name text     NOT NULL,
    segment     text     NOT NULL,
    window_kind text     NOT NULL,
    cohort_key  date     NOT NULL,
    day         date     NOT NULL,
    CONSTRAINT customer_metrics_series_pkey
        PRIMARY KEY (project, environment, window_name, segment, window_kind, cohort_key)
);

CREATE TABLE customer_metrics_open_day (
    day date NOT NULL
);

COMMENT ON TABLE customer_metrics_days IS
    'Derived from customer_metrics (read customer_metrics_daily instead): one row per series and closed UTC day, the day''s last row with its changes, computed when qonversion-etl closes the day. migrate --rebuild recomputes it.';
COMMENT ON COLUMN customer_metrics_days.day IS
    'UTC calendar day this row stands for (a closed day: before customer_metrics_open_day.day).';
COMMENT ON COLUMN customer_metrics_days.project IS
    'Project name from the qonversion-etl config (never the API key).';
COMMENT ON COLUMN customer_metrics_days.environment IS
    'Qonversion environment: 0 = sandbox, 1 = production.';
COMMENT ON COLUMN customer_metrics_days.window_name IS
    'Name of the configured first-seen window, e.g. all_time, last_7_days, daily_cohorts.';
COMMENT ON COLUMN customer_metrics_days.segment IS
    'Canonical text of the filters applied, e.g. country=US;target_platform=iOS; "all" when unfiltered. Part of the series key.';
COMMENT ON COLUMN customer_metrics_days.window_kind IS
    'fixed = [from, snapshot); rolling = [snapshot - length, snapshot); cohort = one calendar-aligned bucket before the snapshot.';
COMMENT ON COLUMN customer_metrics_days.cohort_key IS
    'For cohort windows the UTC date the cohort bucket starts; infinity for fixed and rolling windows (customer_metrics_daily shows it as cohort_date, NULL for those).';
COMMENT ON COLUMN customer_metrics_days.snapshot_at IS
    'Logical snapshot time (UTC) of the customer_metrics row copied here: the day''s last snapshot of the series.';
COMMENT ON COLUMN customer_metrics_days.window_from IS
    'Start (inclusive, UTC) of the first-seen range asked for: customers first seen at or after this time.';
COMMENT ON COLUMN customer_metrics_days.window_to IS
    'End (exclusive, UTC) of the first-seen range asked for.';
COMMENT ON COLUMN customer_metrics_days.status IS
    'Subscription status filter (1-4) the row was fetched with; NULL = not filtered on status.';
COMMENT ON COLUMN customer_metrics_days.target_platform IS
    'Platform filter (iOS, Android, Stripe) or group name; NULL = all platforms.';
COMMENT ON COLUMN customer_metrics_days.country IS
    'Country filter (ISO 3166 alpha-2) or name of a configured country group such as EU; NULL = all countries.';
COMMENT ON COLUMN customer_metrics_days.product_id IS
    'Product identifier filter or group name; NULL = all products.';
COMMENT ON COLUMN customer_metrics_days.purchase_currency IS
    'Purchase currency filter (ISO 4217) or group name; NULL = all currencies.';
COMMENT ON COLUMN customer_metrics_days.locale IS
    'Device locale filter or group name; NULL = all locales.';
COMMENT ON COLUMN customer_metrics_days.model IS
    'Device model filter or group name; NULL = all models.';
COMMENT ON COLUMN customer_metrics_days.os_version IS
    'OS version filter or group name; NULL = all OS versions.';
COMMENT ON COLUMN customer_metrics_days.app_version IS
    'App version filter or group name; NULL = all app versions.';
COMMENT ON COLUMN customer_metrics_days.sdk_version IS
    'Qonversion SDK version filter or group name; NULL = all SDK versions.';
COMMENT ON COLUMN customer_metrics_days.media_source_name IS
    'Attribution media source filter or group name; NULL = all media sources.';
COMMENT ON COLUMN customer_metrics_days.campaign_name IS
    'Attribution campaign filter or group name; NULL = all campaigns.';
COMMENT ON COLUMN customer_metrics_days.ad_set_name IS
    'Attribution ad set filter or group name; NULL = all ad sets.';
COMMENT ON COLUMN customer_metrics_days.ad_name IS
    'Attribution ad filter or group name; NULL = all ads.';
COMMENT ON COLUMN customer_metrics_days.experiment_uid IS
    'A/B experiment identifier filter or group name; NULL = not filtered on experiment.';
COMMENT ON COLUMN customer_metrics_days.experiment_group_uid IS
    'A/B experiment group identifier filter or group name; NULL = not filtered on experiment group.';
COMMENT ON COLUMN customer_metrics_days.search IS
    'Free-text universal search filter sent to the API; NULL = no search.';
COMMENT ON COLUMN customer_metrics_days.clients_with_event IS
    'Customers first seen in the window (and matching the filters) that have at least one event, as of the snapshot.';
COMMENT ON COLUMN customer_metrics_days.active_subscribers IS
    'Of those customers, how many had an active paid subscription at snapshot time.';
COMMENT ON COLUMN customer_metrics_days.active_trials IS
    'Of those customers, how many were in an active trial at snapshot time.';
COMMENT ON COLUMN customer_metrics_days.billing_retry IS
    'Of those customers, how many were in billing retry (renewal payment failing) at snapshot time.';
COMMENT ON COLUMN customer_metrics_days.churned_subscribers IS
    'Percentage (0-100) of subscribers that churned, exactly as the API answered it.';
COMMENT ON COLUMN customer_metrics_days.canceled_trials IS
    'Percentage (0-100) of trials that were canceled, exactly as the API answered it.';
COMMENT ON COLUMN customer_metrics_days.avg_payment_count IS
    'Average number of payments per paying customer; stored exactly as the API sent it (never rounded).';
COMMENT ON COLUMN customer_metrics_days.avg_price IS
    'Average price paid; stored exactly as the API sent it (never rounded).';
COMMENT ON COLUMN customer_metrics_days.sales IS
    'Total sales (revenue) of those customers; stored exactly as the API sent it (never rounded).';
COMMENT ON COLUMN customer_metrics_days.fetched_at IS
    'When the API answer for this row arrived (UTC).';
COMMENT ON COLUMN customer_metrics_days.run_id IS
    'The qonversion-etl run that last wrote this row (see etl_runs.run_id).';
COMMENT ON COLUMN customer_metrics_days.clients_with_event_change_1d IS
    'clients_with_event minus its value on the previous day; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_days.clients_with_event_change_7d IS
    'clients_with_event minus its value on seven days before; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_days.active_subscribers_change_1d IS
    'active_subscribers minus its value on the previous day; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_days.active_subscribers_change_7d IS
    'active_subscribers minus its value on seven days before; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_days.active_trials_change_1d IS
    'active_trials minus its value on the previous day; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_days.active_trials_change_7d IS
    'active_trials minus its value on seven days before; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_days.billing_retry_change_1d IS
    'billing_retry minus its value on the previous day; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_days.billing_retry_change_7d IS
    'billing_retry minus its value on seven days before; NULL when the series has no row that day.';

COMMENT ON TABLE customer_metrics_series IS
    'Derived from customer_metrics (read customer_metrics_latest instead): every series and its newest closed day in customer_metrics_days.';
COMMENT ON COLUMN customer_metrics_series.project IS
    'Project name from the qonversion-etl config (never the API key).';
COMMENT ON COLUMN customer_metrics_series.environment IS
    'Qonversion environment: 0 = sandbox, 1 = production.';
COMMENT ON COLUMN customer_metrics_series.window_name IS
    'Name of the configured first-seen window, e.g. all_time, last_7_days, daily_cohorts.';
COMMENT ON COLUMN customer_metrics_series.segment IS
    'Canonical text of the filters applied, e.g. country=US;target_platform=iOS; "all" when unfiltered. Part of the series key.';
COMMENT ON COLUMN customer_metrics_series.window_kind IS
    'fixed = [from, snapshot); rolling = [snapshot - length, snapshot); cohort = one calendar-aligned bucket before the snapshot.';
COMMENT ON COLUMN customer_metrics_series.cohort_key IS
    'For cohort windows the UTC date the cohort bucket starts; infinity for fixed and rolling windows (customer_metrics_daily shows it as cohort_date, NULL for those).';
COMMENT ON COLUMN customer_metrics_series.day IS
    'The newest day of the series in customer_metrics_days (before the open day).';

COMMENT ON TABLE customer_metrics_open_day IS
    'One row: the open day. The trend views read it and later days from customer_metrics directly and the days before it from customer_metrics_days; runs move it (triggers on etl_runs).';
COMMENT ON COLUMN customer_metrics_open_day.day IS
    'First UTC day not yet copied into customer_metrics_days; -infinity while customer_metrics is empty.';

-- Closes the days [from_day, to_day): their rows are computed again from customer_metrics.
CREATE FUNCTION customer_metrics_close_days(from_day date, to_day date) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM customer_metrics_days WHERE day >= from_day AND day < to_day;

    INSERT INTO customer_metrics_days (
        day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at, window_from,
        window_to, status, target_platform, country, product_id, purchase_currency, locale, model, os_version,
        app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name, experiment_uid,
        experiment_group_uid, search, clients_with_event, active_subscribers, active_trials, billing_retry,
        churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at, run_id,
        clients_with_event_change_1d, clients_with_event_change_7d, active_subscribers_change_1d,
        active_subscribers_change_7d, active_trials_change_1d, active_trials_change_7d, billing_retry_change_1d,
        billing_retry_change_7d)
    SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at, window_from,
           window_to, status, target_platform, country, product_id, purchase_currency, locale, model,
           os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name,
           experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers, active_trials,
           billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at,
           run_id, clients_with_event_change_1d, clients_with_event_change_7d, active_subscribers_change_1d,
           active_subscribers_change_7d, active_trials_change_1d, active_trials_change_7d,
           billing_retry_change_1d, billing_retry_change_7d
    FROM (
        SELECT c.*,
               clients_with_event - first_value(clients_with_event) OVER day_before AS clients_with_event_change_1d,
               clients_with_event - first_value(clients_with_event) OVER week_before AS clients_with_event_change_7d,
               active_subscribers - first_value(active_subscribers) OVER day_before AS active_subscribers_change_1d,
               active_subscribers - first_value(active_subscribers) OVER week_before AS active_subscribers_change_7d,
               active_trials - first_value(active_trials) OVER day_before AS active_trials_change_1d,
               active_trials - first_value(active_trials) OVER week_before AS active_trials_change_7d,
               billing_retry - first_value(billing_retry) OVER day_before AS billing_retry_change_1d,
               billing_retry - first_value(billing_retry) OVER week_before AS billing_retry_change_7d
        FROM (
            -- the week before: what the first days compare with
            SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at,
                   window_from, window_to, status, target_platform, country, product_id, purchase_currency,
                   locale, model, os_version, app_version, sdk_version, media_source_name, campaign_name,
                   ad_set_name, ad_name, experiment_uid, experiment_group_uid, search, clients_with_event,
                   active_subscribers, active_trials, billing_retry, churned_subscribers, canceled_trials,
                   avg_payment_count, avg_price, sales, fetched_at, run_id, false AS is_new
            FROM customer_metrics_days
            WHERE day >= from_day - 7 AND day < from_day
            UNION ALL
            SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at,
                   window_from, window_to, status, target_platform, country, product_id, purchase_currency,
                   locale, model, os_version, app_version, sdk_version, media_source_name, campaign_name,
                   ad_set_name, ad_name, experiment_uid, experiment_group_uid, search, clients_with_event,
                   active_subscribers, active_trials, billing_retry, churned_subscribers, canceled_trials,
                   avg_payment_count, avg_price, sales, fetched_at, run_id, true
            FROM (
                SELECT (m.snapshot_at AT TIME ZONE 'UTC')::date AS day, CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date ELSE 'infinity' END AS cohort_key, m.*,
                       row_number() OVER (
                           PARTITION BY m.project, m.environment, m.window_name, m.segment, m.window_kind,
                                        CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date ELSE 'infinity' END, (m.snapshot_at AT TIME ZONE 'UTC')::date
                           ORDER BY m.snapshot_at DESC, m.fetched_at DESC, m.window_from DESC) AS nth_newest_of_day
                FROM customer_metrics m
                WHERE m.snapshot_at >= (from_day::timestamp AT TIME ZONE 'UTC') AND m.snapshot_at < (to_day::timestamp AT TIME ZONE 'UTC')) last_of_day
            WHERE nth_newest_of_day = 1) c
        WINDOW series AS (PARTITION BY project, environment, window_name, segment, window_kind, cohort_key ORDER BY day),
               day_before AS (series RANGE BETWEEN INTERVAL '1 day' PRECEDING AND INTERVAL '1 day' PRECEDING),
               week_before AS (series RANGE BETWEEN INTERVAL '7 days' PRECEDING AND INTERVAL '7 days' PRECEDING)) w
    WHERE is_new
    ORDER BY day, project, environment, window_name, segment, window_kind, cohort_key;

    INSERT INTO customer_metrics_series AS s (project, environment, window_name, segment, window_kind, cohort_key, day)
    SELECT project, environment, window_name, segment, window_kind, cohort_key, max(day)
    FROM customer_metrics_days
    WHERE day >= from_day AND day < to_day
    GROUP BY project, environment, window_name, segment, window_kind, cohort_key
    ON CONFLICT (project, environment, window_name, segment, window_kind, cohort_key)
    DO UPDATE SET day = EXCLUDED.day WHERE EXCLUDED.day > s.day;
END
$$;

-- Reopens the days from from_day on: their customer_metrics_days rows are ignored until they are
-- closed again, and a series whose newest closed day was reopened falls back on an earlier one.
CREATE FUNCTION customer_metrics_reopen_days(from_day date) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM customer_metrics_series s
    WHERE s.day >= from_day
      AND NOT EXISTS (SELECT 1 FROM customer_metrics_days d
                      WHERE d.project = s.project AND d.environment = s.environment AND d.window_name = s.window_name
                        AND d.segment = s.segment AND d.window_kind = s.window_kind AND d.cohort_key = s.cohort_key
                        AND d.day < from_day);

    UPDATE customer_metrics_series s
    SET day = (SELECT max(d.day) FROM customer_metrics_days d
               WHERE d.project = s.project AND d.environment = s.environment AND d.window_name = s.window_name
                 AND d.segment = s.segment AND d.window_kind = s.window_kind AND d.cohort_key = s.cohort_key
                 AND d.day < from_day)
    WHERE s.day >= from_day;
END
$$;

-- Moving the open day forward closes the days before it; moving it back reopens days.
CREATE FUNCTION customer_metrics_open_day_moved() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.day > OLD.day THEN
        PERFORM customer_metrics_close_days(OLD.day, NEW.day);
    ELSIF NEW.day < OLD.day THEN
        PERFORM customer_metrics_reopen_days(NEW.day);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER customer_metrics_open_day_moved AFTER UPDATE OF day ON customer_metrics_open_day
FOR EACH ROW EXECUTE FUNCTION customer_metrics_open_day_moved();

-- A run of a later snapshot closes the days before its own; a run of an earlier one (a backfill,
-- a late --resume) reopens its day, so that the views read what it stores, however it ends.
CREATE FUNCTION etl_runs_open_day() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customer_metrics_open_day SET day = (NEW.snapshot_at AT TIME ZONE 'UTC')::date
    WHERE day <> (NEW.snapshot_at AT TIME ZONE 'UTC')::date;
    RETURN NULL;
END
$$;

CREATE TRIGGER etl_runs_open_day AFTER INSERT ON etl_runs
FOR EACH ROW EXECUTE FUNCTION etl_runs_open_day();

-- A run that ends closes every day before the newest one. When its own day was closed meanwhile
-- (it outlasted the start of a later run) and it stored rows, that day is taken again with them.
CREATE FUNCTION etl_runs_close_days() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customer_metrics_open_day SET day = (NEW.snapshot_at AT TIME ZONE 'UTC')::date
    WHERE day > (NEW.snapshot_at AT TIME ZONE 'UTC')::date
      AND EXISTS (SELECT 1 FROM customer_metrics m
                  WHERE m.snapshot_at = NEW.snapshot_at AND m.run_id = NEW.run_id);

    UPDATE customer_metrics_open_day o SET day = n.day
    FROM (SELECT (max(snapshot_at) AT TIME ZONE 'UTC')::date AS day FROM customer_metrics) n
    WHERE o.day < n.day;
    RETURN NULL;
END
$$;

CREATE TRIGGER etl_runs_close_days AFTER UPDATE OF status ON etl_runs
FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status <> 'running')
EXECUTE FUNCTION etl_runs_close_days();

-- The history so far: every day before the newest is closed (rebuild.sql does the same).
INSERT INTO customer_metrics_open_day (day) VALUES ('-infinity');
UPDATE customer_metrics_open_day o SET day = n.day
FROM (SELECT (max(snapshot_at) AT TIME ZONE 'UTC')::date AS day FROM customer_metrics) n
WHERE n.day IS NOT NULL;

-- Each series' newest row: from its newest closed day, or from the open day and after. The
-- bounds on snapshot_at are both taken from single rows, so the planner reads that range through
-- customer_metrics_snapshot_idx rather than scanning the table.
CREATE OR REPLACE VIEW customer_metrics_latest AS
SELECT snapshot_at, project, environment, window_name, window_kind, window_from, window_to,
       NULLIF(cohort_key, 'infinity') AS cohort_date, segment,
       status, target_platform, country, product_id, purchase_currency, locale, model, os_version, app_version,
       sdk_version, media_source_name, campaign_name, ad_set_name, ad_name, experiment_uid,
       experiment_group_uid, search,
       clients_with_event, active_subscribers, active_trials, billing_retry, churned_subscribers,
       canceled_trials, avg_payment_count, avg_price, sales, fetched_at, run_id
FROM (
    SELECT r.*, row_number() OVER (
               PARTITION BY project, environment, window_name, segment, window_kind, cohort_key
               ORDER BY snapshot_at DESC, fetched_at DESC, window_from DESC) AS nth_newest
    FROM (
        SELECT d.snapshot_at, s.project, s.environment, s.window_name, s.window_kind, d.window_from, d.window_to,
               s.cohort_key, s.segment,
               d.status, d.target_platform, d.country, d.product_id, d.purchase_currency, d.locale, d.model,
               d.os_version, d.app_version, d.sdk_version, d.media_source_name, d.campaign_name, d.ad_set_name,
               d.ad_name, d.experiment_uid, d.experiment_group_uid, d.search, d.clients_with_event,
               d.active_subscribers, d.active_trials, d.billing_retry, d.churned_subscribers, d.canceled_trials,
               d.avg_payment_count, d.avg_price, d.sales, d.fetched_at, d.run_id
        FROM customer_metrics_series s
        JOIN customer_metrics_days d
          ON d.day = s.day AND d.project = s.project AND d.environment = s.environment AND d.window_name = s.window_name
         AND d.segment = s.segment AND d.window_kind = s.window_kind AND d.cohort_key = s.cohort_key
        UNION ALL
        SELECT m.snapshot_at, m.project, m.environment, m.window_name, m.window_kind, m.window_from, m.window_to,
               CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date ELSE 'infinity' END, m.segment,
               m.status, m.target_platform, m.country, m.product_id, m.purchase_currency, m.locale, m.model,
               m.os_version, m.app_version, m.sdk_version, m.media_source_name, m.campaign_name, m.ad_set_name,
               m.ad_name, m.experiment_uid, m.experiment_group_uid, m.search, m.clients_with_event,
               m.active_subscribers, m.active_trials, m.billing_retry, m.churned_subscribers, m.canceled_trials,
               m.avg_payment_count, m.avg_price, m.sales, m.fetched_at, m.run_id
        FROM customer_metrics_open_day o
        CROSS JOIN (SELECT max(snapshot_at) AS newest FROM customer_metrics) n
        JOIN customer_metrics m ON m.snapshot_at >= (o.day::timestamp AT TIME ZONE 'UTC') AND m.snapshot_at <= n.newest) r) ranked
WHERE nth_newest = 1;

-- One row per series and day: the closed days as stored, then the open day and after.
CREATE OR REPLACE VIEW customer_metrics_daily AS
SELECT day, snapshot_at, project, environment, window_name, window_kind, window_from, window_to,
       NULLIF(cohort_key, 'infinity') AS cohort_date, segment,
       status, target_platform, country, product_id, purchase_currency, locale, model, os_version, app_version,
       sdk_version, media_source_name, campaign_name, ad_set_name, ad_name, experiment_uid,
       experiment_group_uid, search,
       clients_with_event, active_subscribers, active_trials, billing_retry, churned_subscribers,
       canceled_trials, avg_payment_count, avg_price, sales,
       clients_with_event_change_1d, clients_with_event_change_7d, active_subscribers_change_1d,
       active_subscribers_change_7d, active_trials_change_1d, active_trials_change_7d, billing_retry_change_1d,
       billing_retry_change_7d
FROM customer_metrics_days
WHERE day < (SELECT day FROM customer_metrics_open_day)
UNION ALL
SELECT day, snapshot_at, project, environment, window_name, window_kind, window_from, window_to,
       NULLIF(cohort_key, 'infinity'), segment,
       status, target_platform, country, product_id, purchase_currency, locale, model, os_version, app_version,
       sdk_version, media_source_name, campaign_name, ad_set_name, ad_name, experiment_uid,
       experiment_group_uid, search,
       clients_with_event, active_subscribers, active_trials, billing_retry, churned_subscribers,
       canceled_trials, avg_payment_count, avg_price, sales,
       clients_with_event_change_1d, clients_with_event_change_7d, active_subscribers_change_1d,
       active_subscribers_change_7d, active_trials_change_1d, active_trials_change_7d, billing_retry_change_1d,
       billing_retry_change_7d
FROM (
    SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at, window_from,
           window_to, status, target_platform, country, product_id, purchase_currency, locale, model,
           os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name,
           experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers, active_trials,
           billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at,
           run_id, clients_with_event_change_1d, clients_with_event_change_7d, active_subscribers_change_1d,
           active_subscribers_change_7d, active_trials_change_1d, active_trials_change_7d,
           billing_retry_change_1d, billing_retry_change_7d
    FROM (
        SELECT c.*,
               clients_with_event - first_value(clients_with_event) OVER day_before AS clients_with_event_change_1d,
               clients_with_event - first_value(clients_with_event) OVER week_before AS clients_with_event_change_7d,
               active_subscribers - first_value(active_subscribers) OVER day_before AS active_subscribers_change_1d,
               active_subscribers - first_value(active_subscribers) OVER week_before AS active_subscribers_change_7d,
               active_trials - first_value(active_trials) OVER day_before AS active_trials_change_1d,
               active_trials - first_value(active_trials) OVER week_before AS active_trials_change_7d,
               billing_retry - first_value(billing_retry) OVER day_before AS billing_retry_change_1d,
               billing_retry - first_value(billing_retry) OVER week_before AS billing_retry_change_7d
        FROM (
            -- the week before: what the first days compare with
            SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at,
                   window_from, window_to, status, target_platform, country, product_id, purchase_currency,
                   locale, model, os_version, app_version, sdk_version, media_source_name, campaign_name,
                   ad_set_name, ad_name, experiment_uid, experiment_group_uid, search, clients_with_event,
                   active_subscribers, active_trials, billing_retry, churned_subscribers, canceled_trials,
                   avg_payment_count, avg_price, sales, fetched_at, run_id, false AS is_new
            FROM customer_metrics_days
            WHERE day >= (SELECT day FROM customer_metrics_open_day) - 7 AND day < (SELECT day FROM customer_metrics_open_day)
            UNION ALL
            SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at,
                   window_from, window_to, status, target_platform, country, product_id, purchase_currency,
                   locale, model, os_version, app_version, sdk_version, media_source_name, campaign_name,
                   ad_set_name, ad_name, experiment_uid, experiment_group_uid, search, clients_with_event,
                   active_subscribers, active_trials, billing_retry, churned_subscribers, canceled_trials,
                   avg_payment_count, avg_price, sales, fetched_at, run_id, true
            FROM (
                SELECT (m.snapshot_at AT TIME ZONE 'UTC')::date AS day, CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date ELSE 'infinity' END AS cohort_key, m.*,
                       row_number() OVER (
                           PARTITION BY m.project, m.environment, m.window_name, m.segment, m.window_kind,
                                        CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date ELSE 'infinity' END, (m.snapshot_at AT TIME ZONE 'UTC')::date
                           ORDER BY m.snapshot_at DESC, m.fetched_at DESC, m.window_from DESC) AS nth_newest_of_day
                FROM customer_metrics_open_day o
                CROSS JOIN (SELECT max(snapshot_at) AS newest FROM customer_metrics) n
                JOIN customer_metrics m ON m.snapshot_at >= (o.day::timestamp AT TIME ZONE 'UTC') AND m.snapshot_at <= n.newest) last_of_day
            WHERE nth_newest_of_day = 1) c
        WINDOW series AS (PARTITION BY project, environment, window_name, segment, window_kind, cohort_key ORDER BY day),
               day_before AS (series RANGE BETWEEN INTERVAL '1 day' PRECEDING AND INTERVAL '1 day' PRECEDING),
               week_before AS (series RANGE BETWEEN INTERVAL '7 days' PRECEDING AND INTERVAL '7 days' PRECEDING)) w
    WHERE is_new) open_days;
