-- qonversion-etl schema, version 7 (PostgreSQL): the trend views read tables that each run keeps
-- up to date, so their cost follows the rows they show rather than the years stored.
-- sql/sqlite/007_trend_tables.sql builds the same tables and views, with the same results.
--
-- The views of version 3 ranked every row of customer_metrics on each query. Now:
-- customer_metrics_days: one row per series and UTC day, a copy of that day's last row with its
--   changes against one and seven days before; customer_metrics_daily is this table. Its primary
--   key (series, day) serves one series over time, the index on day a range of days.
-- customer_metrics_newest: one row per series, a copy of its newest day's row;
--   customer_metrics_latest is this table.
-- When a run that stored rows ends (also when a later run finds it dead and marks it
-- interrupted), the job calls customer_metrics_refresh_day() for its snapshot's day: the day is
-- computed again from customer_metrics, with the changes of the next day and of the day a week
-- later that compare with it, and the series' newest rows. A resumed, sharded or re-run
-- snapshot therefore ends as a single run would. It runs after the run's own record is stored,
-- in its own transaction, so a failure there never costs the record (the job logs it, and
-- `migrate --rebuild` repairs the tables). customer_metrics itself has no trigger: the nightly
-- upsert costs what it did. The views show a run's rows when it ends; rows written by other
-- means show after `qonversion-etl migrate --rebuild` (sql/postgres/derived/rebuild.sql), which
-- recomputes both tables, as this migration does for the history so far.
--
-- A series is (project, environment, window_name, segment, window_kind, cohort_key); cohort_key
-- is the cohort's UTC date for cohort windows and 'infinity' otherwise (the views show it as
-- cohort_date, NULL for fixed and rolling windows). The dimension columns follow from segment
-- and come with the row. A day's row is its last snapshot_at, then the later fetched_at, then the
-- later window_from, as in the views of version 3.

CREATE TABLE customer_metrics_days (
    day                          date             NOT NULL,
    environment                  smallint         NOT NULL,
    cohort_key                   date             NOT NULL,
    snapshot_at                  timestamptz      NOT NULL,
    window_from                  timestamptz      NOT NULL,
    window_to                    timestamptz      NOT NULL,
    fetched_at                   timestamptz      NOT NULL,
    clients_with_event           bigint           NOT NULL,
    active_subscribers           bigint           NOT NULL,
    active_trials                bigint           NOT NULL,
    billing_retry                bigint           NOT NULL,
    churned_subscribers          double precision NOT NULL,
    canceled_trials              double precision NOT NULL,
    clients_with_event_change_1d bigint,
    clients_with_event_change_7d bigint,
    active_subscribers_change_1d bigint,
    active_subscribers_change_7d bigint,
    active_trials_change_1d      bigint,
    active_trials_change_7d      bigint,
    billing_retry_change_1d      bigint,
    billing_retry_change_7d      bigint,
    project                      text             NOT NULL,
    window_name                  text             NOT NULL,
    segment                      text             NOT NULL,
    window_kind                  text             NOT NULL,
    avg_payment_count            numeric          NOT NULL,
    avg_price                    numeric          NOT NULL,
    sales                        numeric          NOT NULL,
    run_id                       text             NOT NULL,
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
    CONSTRAINT customer_metrics_days_pkey
        PRIMARY KEY (project, environment, window_name, segment, window_kind, cohort_key, day)
);

-- A range of days (the rows of a day are written together, so a range is a few pages).
CREATE INDEX customer_metrics_days_day_idx ON customer_metrics_days (day);

-- A trend question reads a few thousand rows through an index: starting parallel workers for
-- it costs more than they save (measured: a 90-day aggregate took 4 x as long with them).
ALTER TABLE customer_metrics_days SET (parallel_workers = 0);

CREATE TABLE customer_metrics_newest (
    day                          date             NOT NULL,
    environment                  smallint         NOT NULL,
    cohort_key                   date             NOT NULL,
    snapshot_at                  timestamptz      NOT NULL,
    window_from                  timestamptz      NOT NULL,
    window_to                    timestamptz      NOT NULL,
    fetched_at                   timestamptz      NOT NULL,
    clients_with_event           bigint           NOT NULL,
    active_subscribers           bigint           NOT NULL,
    active_trials                bigint           NOT NULL,
    billing_retry                bigint           NOT NULL,
    churned_subscribers          double precision NOT NULL,
    canceled_trials              double precision NOT NULL,
    project                      text             NOT NULL,
    window_name                  text             NOT NULL,
    segment                      text             NOT NULL,
    window_kind                  text             NOT NULL,
    avg_payment_count            numeric          NOT NULL,
    avg_price                    numeric          NOT NULL,
    sales                        numeric          NOT NULL,
    run_id                       text             NOT NULL,
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
    CONSTRAINT customer_metrics_newest_pkey
        PRIMARY KEY (project, environment, window_name, segment, window_kind, cohort_key)
);


COMMENT ON TABLE customer_metrics_days IS
    'Derived from customer_metrics (query customer_metrics_daily instead): one row per series and UTC day, the day''s last row with its changes. A snapshot''s day is recomputed when a run of it ends; migrate --rebuild recomputes it all.';
COMMENT ON COLUMN customer_metrics_days.day IS
    'UTC calendar day of the row: the day whose last snapshot it is.';
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
    'For cohort windows the UTC date the cohort bucket starts; infinity for fixed and rolling windows (the views show it as cohort_date, NULL for those). Part of the series key.';
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
    'clients_with_event minus its value seven days before; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_days.active_subscribers_change_1d IS
    'active_subscribers minus its value on the previous day; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_days.active_subscribers_change_7d IS
    'active_subscribers minus its value seven days before; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_days.active_trials_change_1d IS
    'active_trials minus its value on the previous day; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_days.active_trials_change_7d IS
    'active_trials minus its value seven days before; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_days.billing_retry_change_1d IS
    'billing_retry minus its value on the previous day; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_days.billing_retry_change_7d IS
    'billing_retry minus its value seven days before; NULL when the series has no row that day.';


COMMENT ON TABLE customer_metrics_newest IS
    'Derived from customer_metrics (query customer_metrics_latest instead): one row per series, a copy of its newest row in customer_metrics_days. Kept with customer_metrics_days; migrate --rebuild recomputes it.';
COMMENT ON COLUMN customer_metrics_newest.day IS
    'UTC calendar day of the row: the series'' newest day in customer_metrics_days.';
COMMENT ON COLUMN customer_metrics_newest.project IS
    'Project name from the qonversion-etl config (never the API key).';
COMMENT ON COLUMN customer_metrics_newest.environment IS
    'Qonversion environment: 0 = sandbox, 1 = production.';
COMMENT ON COLUMN customer_metrics_newest.window_name IS
    'Name of the configured first-seen window, e.g. all_time, last_7_days, daily_cohorts.';
COMMENT ON COLUMN customer_metrics_newest.segment IS
    'Canonical text of the filters applied, e.g. country=US;target_platform=iOS; "all" when unfiltered. Part of the series key.';
COMMENT ON COLUMN customer_metrics_newest.window_kind IS
    'fixed = [from, snapshot); rolling = [snapshot - length, snapshot); cohort = one calendar-aligned bucket before the snapshot.';
COMMENT ON COLUMN customer_metrics_newest.cohort_key IS
    'For cohort windows the UTC date the cohort bucket starts; infinity for fixed and rolling windows (the views show it as cohort_date, NULL for those). Part of the series key.';
COMMENT ON COLUMN customer_metrics_newest.snapshot_at IS
    'Logical snapshot time (UTC) of the customer_metrics row copied here: the series'' newest snapshot.';
COMMENT ON COLUMN customer_metrics_newest.window_from IS
    'Start (inclusive, UTC) of the first-seen range asked for: customers first seen at or after this time.';
COMMENT ON COLUMN customer_metrics_newest.window_to IS
    'End (exclusive, UTC) of the first-seen range asked for.';
COMMENT ON COLUMN customer_metrics_newest.status IS
    'Subscription status filter (1-4) the row was fetched with; NULL = not filtered on status.';
COMMENT ON COLUMN customer_metrics_newest.target_platform IS
    'Platform filter (iOS, Android, Stripe) or group name; NULL = all platforms.';
COMMENT ON COLUMN customer_metrics_newest.country IS
    'Country filter (ISO 3166 alpha-2) or name of a configured country group such as EU; NULL = all countries.';
COMMENT ON COLUMN customer_metrics_newest.product_id IS
    'Product identifier filter or group name; NULL = all products.';
COMMENT ON COLUMN customer_metrics_newest.purchase_currency IS
    'Purchase currency filter (ISO 4217) or group name; NULL = all currencies.';
COMMENT ON COLUMN customer_metrics_newest.locale IS
    'Device locale filter or group name; NULL = all locales.';
COMMENT ON COLUMN customer_metrics_newest.model IS
    'Device model filter or group name; NULL = all models.';
COMMENT ON COLUMN customer_metrics_newest.os_version IS
    'OS version filter or group name; NULL = all OS versions.';
COMMENT ON COLUMN customer_metrics_newest.app_version IS
    'App version filter or group name; NULL = all app versions.';
COMMENT ON COLUMN customer_metrics_newest.sdk_version IS
    'Qonversion SDK version filter or group name; NULL = all SDK versions.';
COMMENT ON COLUMN customer_metrics_newest.media_source_name IS
    'Attribution media source filter or group name; NULL = all media sources.';
COMMENT ON COLUMN customer_metrics_newest.campaign_name IS
    'Attribution campaign filter or group name; NULL = all campaigns.';
COMMENT ON COLUMN customer_metrics_newest.ad_set_name IS
    'Attribution ad set filter or group name; NULL = all ad sets.';
COMMENT ON COLUMN customer_metrics_newest.ad_name IS
    'Attribution ad filter or group name; NULL = all ads.';
COMMENT ON COLUMN customer_metrics_newest.experiment_uid IS
    'A/B experiment identifier filter or group name; NULL = not filtered on experiment.';
COMMENT ON COLUMN customer_metrics_newest.experiment_group_uid IS
    'A/B experiment group identifier filter or group name; NULL = not filtered on experiment group.';
COMMENT ON COLUMN customer_metrics_newest.search IS
    'Free-text universal search filter sent to the API; NULL = no search.';
COMMENT ON COLUMN customer_metrics_newest.clients_with_event IS
    'Customers first seen in the window (and matching the filters) that have at least one event, as of the snapshot.';
COMMENT ON COLUMN customer_metrics_newest.active_subscribers IS
    'Of those customers, how many had an active paid subscription at snapshot time.';
COMMENT ON COLUMN customer_metrics_newest.active_trials IS
    'Of those customers, how many were in an active trial at snapshot time.';
COMMENT ON COLUMN customer_metrics_newest.billing_retry IS
    'Of those customers, how many were in billing retry (renewal payment failing) at snapshot time.';
COMMENT ON COLUMN customer_metrics_newest.churned_subscribers IS
    'Percentage (0-100) of subscribers that churned, exactly as the API answered it.';
COMMENT ON COLUMN customer_metrics_newest.canceled_trials IS
    'Percentage (0-100) of trials that were canceled, exactly as the API answered it.';
COMMENT ON COLUMN customer_metrics_newest.avg_payment_count IS
    'Average number of payments per paying customer; stored exactly as the API sent it (never rounded).';
COMMENT ON COLUMN customer_metrics_newest.avg_price IS
    'Average price paid; stored exactly as the API sent it (never rounded).';
COMMENT ON COLUMN customer_metrics_newest.sales IS
    'Total sales (revenue) of those customers; stored exactly as the API sent it (never rounded).';
COMMENT ON COLUMN customer_metrics_newest.fetched_at IS
    'When the API answer for this row arrived (UTC).';
COMMENT ON COLUMN customer_metrics_newest.run_id IS
    'The qonversion-etl run that last wrote this row (see etl_runs.run_id).';

-- Computes one day again from customer_metrics, and what depends on it: the changes of the next
-- day and of the day a week later, and the newest row of each series. Each statement reads the
-- day's few thousand rows through an index and joins them by hashing: nested loops of index
-- lookups (or a merge along the primary key) into a table of years would touch a page per
-- series. Refreshes of one schema run one at a time: two shards ending together would
-- otherwise both insert the day.
CREATE FUNCTION customer_metrics_refresh_day(p_day date) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_nestloop = off SET enable_mergejoin = off AS $$
BEGIN
    LOCK TABLE customer_metrics_days IN SHARE ROW EXCLUSIVE MODE;

    DELETE FROM customer_metrics_days WHERE day = p_day;

    INSERT INTO customer_metrics_days (
        day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at, window_from,
        window_to, status, target_platform, country, product_id, purchase_currency, locale, model,
        os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name,
        experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers, active_trials,
        billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales,
        fetched_at, run_id, clients_with_event_change_1d, clients_with_event_change_7d,
        active_subscribers_change_1d, active_subscribers_change_7d, active_trials_change_1d,
        active_trials_change_7d, billing_retry_change_1d, billing_retry_change_7d)
    SELECT r.day, r.project, r.environment, r.window_name, r.segment, r.window_kind, r.cohort_key, r.snapshot_at,
           r.window_from, r.window_to, r.status, r.target_platform, r.country, r.product_id,
           r.purchase_currency, r.locale, r.model, r.os_version, r.app_version, r.sdk_version,
           r.media_source_name, r.campaign_name, r.ad_set_name, r.ad_name, r.experiment_uid,
           r.experiment_group_uid, r.search, r.clients_with_event, r.active_subscribers, r.active_trials,
           r.billing_retry, r.churned_subscribers, r.canceled_trials, r.avg_payment_count, r.avg_price,
           r.sales, r.fetched_at, r.run_id,
           r.clients_with_event - d1.clients_with_event, r.clients_with_event - d7.clients_with_event,
           r.active_subscribers - d1.active_subscribers, r.active_subscribers - d7.active_subscribers,
           r.active_trials - d1.active_trials, r.active_trials - d7.active_trials,
           r.billing_retry - d1.billing_retry, r.billing_retry - d7.billing_retry
    FROM (
        SELECT (m.snapshot_at AT TIME ZONE 'UTC')::date AS day,
               CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date
                    ELSE 'infinity' END AS cohort_key,
               m.*,
               row_number() OVER (
                   PARTITION BY m.project, m.environment, m.window_name, m.segment, m.window_kind,
                                CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date
                                     ELSE 'infinity' END,
                                (m.snapshot_at AT TIME ZONE 'UTC')::date
                   ORDER BY m.snapshot_at DESC, m.fetched_at DESC, m.window_from DESC) AS nth_newest_of_day
        FROM customer_metrics m
        WHERE m.snapshot_at >= ((p_day)::timestamp AT TIME ZONE 'UTC')
          AND m.snapshot_at < ((p_day + 1)::timestamp AT TIME ZONE 'UTC')) r
    LEFT JOIN (SELECT * FROM customer_metrics_days WHERE day = p_day - 1) d1
           ON d1.project = r.project AND d1.environment = r.environment
              AND d1.window_name = r.window_name AND d1.segment = r.segment
              AND d1.window_kind = r.window_kind AND d1.cohort_key = r.cohort_key
    LEFT JOIN (SELECT * FROM customer_metrics_days WHERE day = p_day - 7) d7
           ON d7.project = r.project AND d7.environment = r.environment
              AND d7.window_name = r.window_name AND d7.segment = r.segment
              AND d7.window_kind = r.window_kind AND d7.cohort_key = r.cohort_key
    WHERE r.nth_newest_of_day = 1
    ORDER BY r.project, r.environment, r.window_name, r.segment, r.window_kind, r.cohort_key;

    -- The days that compare with it: the next one and a week later (no rows on a normal night).
    UPDATE customer_metrics_days n
    SET (clients_with_event_change_1d, active_subscribers_change_1d, active_trials_change_1d,
         billing_retry_change_1d)
      = (SELECT n.clients_with_event - p.clients_with_event,
                n.active_subscribers - p.active_subscribers,
                n.active_trials - p.active_trials,
                n.billing_retry - p.billing_retry
         FROM customer_metrics_days p
         WHERE p.day = p_day
           AND p.project = n.project AND p.environment = n.environment
               AND p.window_name = n.window_name AND p.segment = n.segment
               AND p.window_kind = n.window_kind AND p.cohort_key = n.cohort_key)
    WHERE n.day = p_day + 1;
    UPDATE customer_metrics_days n
    SET (clients_with_event_change_7d, active_subscribers_change_7d, active_trials_change_7d,
         billing_retry_change_7d)
      = (SELECT n.clients_with_event - p.clients_with_event,
                n.active_subscribers - p.active_subscribers,
                n.active_trials - p.active_trials,
                n.billing_retry - p.billing_retry
         FROM customer_metrics_days p
         WHERE p.day = p_day
           AND p.project = n.project AND p.environment = n.environment
               AND p.window_name = n.window_name AND p.segment = n.segment
               AND p.window_kind = n.window_kind AND p.cohort_key = n.cohort_key)
    WHERE n.day = p_day + 7;

    -- Each series' newest row: the day's, unless the series has a later day.
    INSERT INTO customer_metrics_newest AS s (
        day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at, window_from,
        window_to, status, target_platform, country, product_id, purchase_currency, locale, model,
        os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name,
        experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers, active_trials,
        billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales,
        fetched_at, run_id)
    SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at,
           window_from, window_to, status, target_platform, country, product_id, purchase_currency, locale,
           model, os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name,
           ad_name, experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers,
           active_trials, billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price,
           sales, fetched_at, run_id
    FROM customer_metrics_days
    WHERE day = p_day
    ON CONFLICT (project, environment, window_name, segment, window_kind, cohort_key)
    DO UPDATE SET
        day = excluded.day, snapshot_at = excluded.snapshot_at, window_from = excluded.window_from,
        window_to = excluded.window_to, status = excluded.status,
        target_platform = excluded.target_platform, country = excluded.country,
        product_id = excluded.product_id, purchase_currency = excluded.purchase_currency,
        locale = excluded.locale, model = excluded.model, os_version = excluded.os_version,
        app_version = excluded.app_version, sdk_version = excluded.sdk_version,
        media_source_name = excluded.media_source_name, campaign_name = excluded.campaign_name,
        ad_set_name = excluded.ad_set_name, ad_name = excluded.ad_name,
        experiment_uid = excluded.experiment_uid, experiment_group_uid = excluded.experiment_group_uid,
        search = excluded.search, clients_with_event = excluded.clients_with_event,
        active_subscribers = excluded.active_subscribers, active_trials = excluded.active_trials,
        billing_retry = excluded.billing_retry, churned_subscribers = excluded.churned_subscribers,
        canceled_trials = excluded.canceled_trials, avg_payment_count = excluded.avg_payment_count,
        avg_price = excluded.avg_price, sales = excluded.sales, fetched_at = excluded.fetched_at,
        run_id = excluded.run_id
    WHERE excluded.day >= s.day;

    -- A series whose newest day this was but which has no row that day any more (its window
    -- changed kind, or rows were deleted): its newest row is now an earlier day's, or none.
    IF EXISTS (SELECT 1 FROM customer_metrics_newest s
               WHERE s.day = p_day
                 AND NOT EXISTS (SELECT 1 FROM customer_metrics_days d
                                 WHERE d.day = p_day
                                   AND d.project = s.project AND d.environment = s.environment
                                       AND d.window_name = s.window_name AND d.segment = s.segment
                                       AND d.window_kind = s.window_kind AND d.cohort_key = s.cohort_key)) THEN
        PERFORM customer_metrics_renew_newest(p_day);
    END IF;
END
$$;

-- The rare part of a refresh: series that lost their newest day. Few rows, each by its index
-- (its caller's planner settings would hash the whole table).
CREATE FUNCTION customer_metrics_renew_newest(p_day date) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_nestloop = on SET enable_mergejoin = on AS $$
BEGIN
    WITH lost AS (
        DELETE FROM customer_metrics_newest s
        WHERE s.day = p_day
          AND NOT EXISTS (SELECT 1 FROM customer_metrics_days d
                          WHERE d.day = p_day
                            AND d.project = s.project AND d.environment = s.environment
                                AND d.window_name = s.window_name AND d.segment = s.segment
                                AND d.window_kind = s.window_kind AND d.cohort_key = s.cohort_key)
        RETURNING project, environment, window_name, segment, window_kind, cohort_key)
    INSERT INTO customer_metrics_newest (
        day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at, window_from,
        window_to, status, target_platform, country, product_id, purchase_currency, locale, model,
        os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name,
        experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers, active_trials,
        billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales,
        fetched_at, run_id)
    SELECT DISTINCT ON (d.project, d.environment, d.window_name, d.segment, d.window_kind, d.cohort_key)
           d.day, d.project, d.environment, d.window_name, d.segment, d.window_kind, d.cohort_key,
           d.snapshot_at, d.window_from, d.window_to, d.status, d.target_platform, d.country, d.product_id,
           d.purchase_currency, d.locale, d.model, d.os_version, d.app_version, d.sdk_version,
           d.media_source_name, d.campaign_name, d.ad_set_name, d.ad_name, d.experiment_uid,
           d.experiment_group_uid, d.search, d.clients_with_event, d.active_subscribers, d.active_trials,
           d.billing_retry, d.churned_subscribers, d.canceled_trials, d.avg_payment_count, d.avg_price,
           d.sales, d.fetched_at, d.run_id
    FROM lost
    JOIN customer_metrics_days d
      ON d.project = lost.project AND d.environment = lost.environment
         AND d.window_name = lost.window_name AND d.segment = lost.segment
         AND d.window_kind = lost.window_kind AND d.cohort_key = lost.cohort_key
    ORDER BY d.project, d.environment, d.window_name, d.segment, d.window_kind, d.cohort_key, d.day DESC;
END
$$;

-- Computes both tables from the whole of customer_metrics (migrate --rebuild, and this migration).
CREATE FUNCTION customer_metrics_rebuild_days() RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    TRUNCATE customer_metrics_days, customer_metrics_newest;

    INSERT INTO customer_metrics_days (
        day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at, window_from,
        window_to, status, target_platform, country, product_id, purchase_currency, locale, model,
        os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name,
        experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers, active_trials,
        billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales,
        fetched_at, run_id, clients_with_event_change_1d, clients_with_event_change_7d,
        active_subscribers_change_1d, active_subscribers_change_7d, active_trials_change_1d,
        active_trials_change_7d, billing_retry_change_1d, billing_retry_change_7d)
    SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at,
           window_from, window_to, status, target_platform, country, product_id, purchase_currency, locale,
           model, os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name,
           ad_name, experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers,
           active_trials, billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price,
           sales, fetched_at, run_id,
           clients_with_event - first_value(clients_with_event) OVER day_before,
           clients_with_event - first_value(clients_with_event) OVER week_before,
           active_subscribers - first_value(active_subscribers) OVER day_before,
           active_subscribers - first_value(active_subscribers) OVER week_before,
           active_trials - first_value(active_trials) OVER day_before,
           active_trials - first_value(active_trials) OVER week_before,
           billing_retry - first_value(billing_retry) OVER day_before,
           billing_retry - first_value(billing_retry) OVER week_before
    FROM (
        SELECT (m.snapshot_at AT TIME ZONE 'UTC')::date AS day,
               CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date
                    ELSE 'infinity' END AS cohort_key,
               m.*,
               row_number() OVER (
                   PARTITION BY m.project, m.environment, m.window_name, m.segment, m.window_kind,
                                CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date
                                     ELSE 'infinity' END,
                                (m.snapshot_at AT TIME ZONE 'UTC')::date
                   ORDER BY m.snapshot_at DESC, m.fetched_at DESC, m.window_from DESC) AS nth_newest_of_day
        FROM customer_metrics m) last_of_day
    WHERE nth_newest_of_day = 1
    WINDOW series AS (PARTITION BY project, environment, window_name, segment, window_kind, cohort_key
                      ORDER BY day),
           day_before AS (series RANGE BETWEEN INTERVAL '1 day' PRECEDING AND INTERVAL '1 day' PRECEDING),
           week_before AS (series RANGE BETWEEN INTERVAL '7 days' PRECEDING AND INTERVAL '7 days' PRECEDING)
    ORDER BY day, project, environment, window_name, segment, window_kind, cohort_key;

    INSERT INTO customer_metrics_newest (
        day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at, window_from,
        window_to, status, target_platform, country, product_id, purchase_currency, locale, model,
        os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name,
        experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers, active_trials,
        billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales,
        fetched_at, run_id)
    SELECT DISTINCT ON (project, environment, window_name, segment, window_kind, cohort_key)
           day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at,
           window_from, window_to, status, target_platform, country, product_id, purchase_currency, locale,
           model, os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name,
           ad_name, experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers,
           active_trials, billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price,
           sales, fetched_at, run_id
    FROM customer_metrics_days
    ORDER BY project, environment, window_name, segment, window_kind, cohort_key, day DESC;

    -- Statistics now, so that the next query plans with them rather than defaults.
    ANALYZE customer_metrics_days;
    ANALYZE customer_metrics_newest;
END
$$;


-- The history so far.
SELECT customer_metrics_rebuild_days();

CREATE OR REPLACE VIEW customer_metrics_latest AS
SELECT snapshot_at, project, environment, window_name, window_kind, window_from, window_to,
       NULLIF(cohort_key, 'infinity') AS cohort_date, segment,
       status, target_platform, country, product_id, purchase_currency, locale, model, os_version, app_version,
       sdk_version, media_source_name, campaign_name, ad_set_name, ad_name, experiment_uid,
       experiment_group_uid, search, clients_with_event, active_subscribers, active_trials, billing_retry,
       churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at, run_id
FROM customer_metrics_newest;

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
FROM customer_metrics_days;
