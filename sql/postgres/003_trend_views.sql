-- qonversion-etl schema, version 3 (PostgreSQL): views for trend queries and BI tools.
-- sql/sqlite/003_trend_views.sql defines the same views, with the same columns and results.
--
-- A series is what a trend follows: (project, environment, window_name, segment) for fixed and
-- rolling windows (a rolling window's window_from moves with every snapshot); a cohort window
-- adds its bucket (cohort_date), so each cohort is its own series and can be watched maturing.
--
-- Both views rank rows inside a series with window functions partitioned by the series. A WHERE
-- on a PARTITION BY column is pushed below the window functions, so a query for one series reads
-- it through customer_metrics_series_idx instead of ranking the whole table. The dimension
-- columns are in the partitions too: they follow from segment, so they split nothing, but
-- a filter such as target_platform = 'iOS' is then pushed down as well.
-- The day-1 and day-7 values come from RANGE frames over the day (exactly that day, or an empty
-- frame and NULL after a gap), which needs one sort where self-joins would scan the table three
-- times.
-- Ties on snapshot_at inside a series (possible only when a fixed or rolling window's bounds were
-- changed and the same snapshot loaded again) go to the later fetched_at, then the later
-- window_from, so each view holds exactly one row per series (and day).

CREATE VIEW customer_metrics_latest AS
SELECT snapshot_at, project, environment, window_name, window_kind, window_from, window_to, cohort_date, segment,
       status, target_platform, country, product_id, purchase_currency, locale, model, os_version, app_version,
       sdk_version, media_source_name, campaign_name, ad_set_name, ad_name, experiment_uid, experiment_group_uid,
       search,
       clients_with_event, active_subscribers, active_trials, billing_retry, churned_subscribers, canceled_trials,
       avg_payment_count, avg_price, sales, fetched_at, run_id
FROM (
    SELECT m.*,
           CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date END AS cohort_date,
           row_number() OVER (
               PARTITION BY m.project, m.environment, m.window_name, m.segment, m.window_kind,
                            CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date END,
                            m.status, m.target_platform, m.country, m.product_id, m.purchase_currency, m.locale,
                            m.model, m.os_version, m.app_version, m.sdk_version, m.media_source_name,
                            m.campaign_name, m.ad_set_name, m.ad_name, m.experiment_uid, m.experiment_group_uid,
                            m.search
               ORDER BY m.snapshot_at DESC, m.fetched_at DESC, m.window_from DESC) AS nth_newest
    FROM customer_metrics m) ranked
WHERE nth_newest = 1;

CREATE VIEW customer_metrics_daily AS
SELECT day, snapshot_at, project, environment, window_name, window_kind, window_from, window_to, cohort_date, segment,
       status, target_platform, country, product_id, purchase_currency, locale, model, os_version, app_version,
       sdk_version, media_source_name, campaign_name, ad_set_name, ad_name, experiment_uid, experiment_group_uid,
       search,
       clients_with_event, active_subscribers, active_trials, billing_retry, churned_subscribers, canceled_trials,
       avg_payment_count, avg_price, sales,
       clients_with_event - first_value(clients_with_event) OVER day_before AS clients_with_event_change_1d,
       clients_with_event - first_value(clients_with_event) OVER week_before AS clients_with_event_change_7d,
       active_subscribers - first_value(active_subscribers) OVER day_before AS active_subscribers_change_1d,
       active_subscribers - first_value(active_subscribers) OVER week_before AS active_subscribers_change_7d,
       active_trials - first_value(active_trials) OVER day_before AS active_trials_change_1d,
       active_trials - first_value(active_trials) OVER week_before AS active_trials_change_7d,
       billing_retry - first_value(billing_retry) OVER day_before AS billing_retry_change_1d,
       billing_retry - first_value(billing_retry) OVER week_before AS billing_retry_change_7d
FROM (
    SELECT (m.snapshot_at AT TIME ZONE 'UTC')::date AS day, m.*,
           CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date END AS cohort_date,
           row_number() OVER (
               PARTITION BY m.project, m.environment, m.window_name, m.segment, m.window_kind,
                            CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date END,
                            m.status, m.target_platform, m.country, m.product_id, m.purchase_currency, m.locale,
                            m.model, m.os_version, m.app_version, m.sdk_version, m.media_source_name,
                            m.campaign_name, m.ad_set_name, m.ad_name, m.experiment_uid, m.experiment_group_uid,
                            m.search,
                            (m.snapshot_at AT TIME ZONE 'UTC')::date
               ORDER BY m.snapshot_at DESC, m.fetched_at DESC, m.window_from DESC) AS nth_newest_of_day
    FROM customer_metrics m) last_of_day
WHERE nth_newest_of_day = 1
WINDOW series AS (
           PARTITION BY project, environment, window_name, segment, window_kind, cohort_date,
                        status, target_platform, country, product_id, purchase_currency, locale, model, os_version,
                        app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name,
                        experiment_uid, experiment_group_uid, search
           ORDER BY day),
       day_before AS (series RANGE BETWEEN INTERVAL '1 day' PRECEDING AND INTERVAL '1 day' PRECEDING),
       week_before AS (series RANGE BETWEEN INTERVAL '7 days' PRECEDING AND INTERVAL '7 days' PRECEDING);

COMMENT ON VIEW customer_metrics_latest IS
    'The newest row of every series: one row per project, environment, window and segment (per cohort bucket for cohort windows), from its latest snapshot. A series the job no longer fetches keeps its last row here: compare snapshot_at with the newest snapshot to see only current ones.';
COMMENT ON VIEW customer_metrics_daily IS
    'One row per UTC day and series (project, environment, window, segment; plus cohort_date for cohort windows): that day''s last snapshot, with the change of each count metric against exactly one day and seven days before (NULL when the series has no row on that day). Start here for trend charts.';

COMMENT ON COLUMN customer_metrics_latest.snapshot_at IS
    'Logical snapshot time (UTC) of the newest row of this series.';
COMMENT ON COLUMN customer_metrics_latest.project IS
    'Project name from the qonversion-etl config. Part of the series key.';
COMMENT ON COLUMN customer_metrics_latest.environment IS
    'Qonversion environment: 0 = sandbox, 1 = production. Part of the series key.';
COMMENT ON COLUMN customer_metrics_latest.window_name IS
    'Name of the configured first-seen window, e.g. all_time, last_7_days, daily_cohorts. Part of the series key.';
COMMENT ON COLUMN customer_metrics_latest.window_kind IS
    'fixed = [from, snapshot); rolling = [snapshot - length, snapshot); cohort = one calendar-aligned bucket before the snapshot.';
COMMENT ON COLUMN customer_metrics_latest.window_from IS
    'Start (inclusive, UTC) of the first-seen range of this row.';
COMMENT ON COLUMN customer_metrics_latest.window_to IS
    'End (exclusive, UTC) of the first-seen range of this row.';
COMMENT ON COLUMN customer_metrics_latest.cohort_date IS
    'For cohort windows, the UTC date the cohort bucket starts (part of the series key); NULL for fixed and rolling windows.';
COMMENT ON COLUMN customer_metrics_latest.segment IS
    'Canonical text of the filters applied, e.g. country=US;target_platform=iOS; "all" when unfiltered. Part of the series key.';
COMMENT ON COLUMN customer_metrics_latest.status IS
    'Subscription status filter (1-4); NULL = not filtered on status.';
COMMENT ON COLUMN customer_metrics_latest.target_platform IS
    'Platform filter (iOS, Android, Stripe) or group name; NULL = all platforms.';
COMMENT ON COLUMN customer_metrics_latest.country IS
    'Country filter (ISO 3166 alpha-2) or name of a configured country group such as EU; NULL = all countries.';
COMMENT ON COLUMN customer_metrics_latest.product_id IS
    'Product identifier filter or group name; NULL = all products.';
COMMENT ON COLUMN customer_metrics_latest.purchase_currency IS
    'Purchase currency filter (ISO 4217) or group name; NULL = all currencies.';
COMMENT ON COLUMN customer_metrics_latest.locale IS
    'Device locale filter or group name; NULL = all locales.';
COMMENT ON COLUMN customer_metrics_latest.model IS
    'Device model filter or group name; NULL = all models.';
COMMENT ON COLUMN customer_metrics_latest.os_version IS
    'OS version filter or group name; NULL = all OS versions.';
COMMENT ON COLUMN customer_metrics_latest.app_version IS
    'App version filter or group name; NULL = all app versions.';
COMMENT ON COLUMN customer_metrics_latest.sdk_version IS
    'Qonversion SDK version filter or group name; NULL = all SDK versions.';
COMMENT ON COLUMN customer_metrics_latest.media_source_name IS
    'Attribution media source filter or group name; NULL = all media sources.';
COMMENT ON COLUMN customer_metrics_latest.campaign_name IS
    'Attribution campaign filter or group name; NULL = all campaigns.';
COMMENT ON COLUMN customer_metrics_latest.ad_set_name IS
    'Attribution ad set filter or group name; NULL = all ad sets.';
COMMENT ON COLUMN customer_metrics_latest.ad_name IS
    'Attribution ad filter or group name; NULL = all ads.';
COMMENT ON COLUMN customer_metrics_latest.experiment_uid IS
    'A/B experiment identifier filter or group name; NULL = not filtered on experiment.';
COMMENT ON COLUMN customer_metrics_latest.experiment_group_uid IS
    'A/B experiment group identifier filter or group name; NULL = not filtered on experiment group.';
COMMENT ON COLUMN customer_metrics_latest.search IS
    'Free-text universal search filter sent to the API; NULL = no search.';
COMMENT ON COLUMN customer_metrics_latest.clients_with_event IS
    'Customers first seen in the window (and matching the filters) that have at least one event, as of the snapshot.';
COMMENT ON COLUMN customer_metrics_latest.active_subscribers IS
    'Of those customers, how many had an active paid subscription at snapshot time.';
COMMENT ON COLUMN customer_metrics_latest.active_trials IS
    'Of those customers, how many were in an active trial at snapshot time.';
COMMENT ON COLUMN customer_metrics_latest.billing_retry IS
    'Of those customers, how many were in billing retry (renewal payment failing) at snapshot time.';
COMMENT ON COLUMN customer_metrics_latest.churned_subscribers IS
    'Percentage (0-100) of subscribers that churned, exactly as the API answered it.';
COMMENT ON COLUMN customer_metrics_latest.canceled_trials IS
    'Percentage (0-100) of trials that were canceled, exactly as the API answered it.';
COMMENT ON COLUMN customer_metrics_latest.avg_payment_count IS
    'Average number of payments per paying customer, exactly as the API sent it.';
COMMENT ON COLUMN customer_metrics_latest.avg_price IS
    'Average price paid, exactly as the API sent it.';
COMMENT ON COLUMN customer_metrics_latest.sales IS
    'Total sales (revenue) of those customers, exactly as the API sent it.';
COMMENT ON COLUMN customer_metrics_latest.fetched_at IS
    'When the API answer for this row arrived (UTC).';
COMMENT ON COLUMN customer_metrics_latest.run_id IS
    'The qonversion-etl run that last wrote this row (see etl_runs.run_id).';

COMMENT ON COLUMN customer_metrics_daily.day IS
    'UTC calendar day of the snapshot. With several snapshots that day (hourly grain), the row is the last one.';
COMMENT ON COLUMN customer_metrics_daily.snapshot_at IS
    'Logical snapshot time (UTC) of the row used for this day: the day''s last snapshot of the series.';
COMMENT ON COLUMN customer_metrics_daily.project IS
    'Project name from the qonversion-etl config. Part of the series key.';
COMMENT ON COLUMN customer_metrics_daily.environment IS
    'Qonversion environment: 0 = sandbox, 1 = production. Part of the series key.';
COMMENT ON COLUMN customer_metrics_daily.window_name IS
    'Name of the configured first-seen window, e.g. all_time, last_7_days, daily_cohorts. Part of the series key.';
COMMENT ON COLUMN customer_metrics_daily.window_kind IS
    'fixed = [from, snapshot); rolling = [snapshot - length, snapshot); cohort = one calendar-aligned bucket before the snapshot.';
COMMENT ON COLUMN customer_metrics_daily.window_from IS
    'Start (inclusive, UTC) of the first-seen range of this row; moves with the day for rolling windows.';
COMMENT ON COLUMN customer_metrics_daily.window_to IS
    'End (exclusive, UTC) of the first-seen range of this row.';
COMMENT ON COLUMN customer_metrics_daily.cohort_date IS
    'For cohort windows, the UTC date the cohort bucket starts (part of the series key: group by it for one line per cohort); NULL for fixed and rolling windows.';
COMMENT ON COLUMN customer_metrics_daily.segment IS
    'Canonical text of the filters applied, e.g. country=US;target_platform=iOS; "all" when unfiltered. Part of the series key.';
COMMENT ON COLUMN customer_metrics_daily.status IS
    'Subscription status filter (1-4); NULL = not filtered on status.';
COMMENT ON COLUMN customer_metrics_daily.target_platform IS
    'Platform filter (iOS, Android, Stripe) or group name; NULL = all platforms.';
COMMENT ON COLUMN customer_metrics_daily.country IS
    'Country filter (ISO 3166 alpha-2) or name of a configured country group such as EU; NULL = all countries.';
COMMENT ON COLUMN customer_metrics_daily.product_id IS
    'Product identifier filter or group name; NULL = all products.';
COMMENT ON COLUMN customer_metrics_daily.purchase_currency IS
    'Purchase currency filter (ISO 4217) or group name; NULL = all currencies.';
COMMENT ON COLUMN customer_metrics_daily.locale IS
    'Device locale filter or group name; NULL = all locales.';
COMMENT ON COLUMN customer_metrics_daily.model IS
    'Device model filter or group name; NULL = all models.';
COMMENT ON COLUMN customer_metrics_daily.os_version IS
    'OS version filter or group name; NULL = all OS versions.';
COMMENT ON COLUMN customer_metrics_daily.app_version IS
    'App version filter or group name; NULL = all app versions.';
COMMENT ON COLUMN customer_metrics_daily.sdk_version IS
    'Qonversion SDK version filter or group name; NULL = all SDK versions.';
COMMENT ON COLUMN customer_metrics_daily.media_source_name IS
    'Attribution media source filter or group name; NULL = all media sources.';
COMMENT ON COLUMN customer_metrics_daily.campaign_name IS
    'Attribution campaign filter or group name; NULL = all campaigns.';
COMMENT ON COLUMN customer_metrics_daily.ad_set_name IS
    'Attribution ad set filter or group name; NULL = all ad sets.';
COMMENT ON COLUMN customer_metrics_daily.ad_name IS
    'Attribution ad filter or group name; NULL = all ads.';
COMMENT ON COLUMN customer_metrics_daily.experiment_uid IS
    'A/B experiment identifier filter or group name; NULL = not filtered on experiment.';
COMMENT ON COLUMN customer_metrics_daily.experiment_group_uid IS
    'A/B experiment group identifier filter or group name; NULL = not filtered on experiment group.';
COMMENT ON COLUMN customer_metrics_daily.search IS
    'Free-text universal search filter sent to the API; NULL = no search.';
COMMENT ON COLUMN customer_metrics_daily.clients_with_event IS
    'Customers first seen in the window (and matching the filters) that have at least one event, as of the snapshot.';
COMMENT ON COLUMN customer_metrics_daily.active_subscribers IS
    'Of those customers, how many had an active paid subscription at snapshot time.';
COMMENT ON COLUMN customer_metrics_daily.active_trials IS
    'Of those customers, how many were in an active trial at snapshot time.';
COMMENT ON COLUMN customer_metrics_daily.billing_retry IS
    'Of those customers, how many were in billing retry (renewal payment failing) at snapshot time.';
COMMENT ON COLUMN customer_metrics_daily.churned_subscribers IS
    'Percentage (0-100) of subscribers that churned, exactly as the API answered it.';
COMMENT ON COLUMN customer_metrics_daily.canceled_trials IS
    'Percentage (0-100) of trials that were canceled, exactly as the API answered it.';
COMMENT ON COLUMN customer_metrics_daily.avg_payment_count IS
    'Average number of payments per paying customer, exactly as the API sent it.';
COMMENT ON COLUMN customer_metrics_daily.avg_price IS
    'Average price paid, exactly as the API sent it.';
COMMENT ON COLUMN customer_metrics_daily.sales IS
    'Total sales (revenue) of those customers, exactly as the API sent it.';
COMMENT ON COLUMN customer_metrics_daily.clients_with_event_change_1d IS
    'clients_with_event minus its value on the previous day; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_daily.clients_with_event_change_7d IS
    'clients_with_event minus its value seven days before; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_daily.active_subscribers_change_1d IS
    'active_subscribers minus its value on the previous day; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_daily.active_subscribers_change_7d IS
    'active_subscribers minus its value seven days before; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_daily.active_trials_change_1d IS
    'active_trials minus its value on the previous day; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_daily.active_trials_change_7d IS
    'active_trials minus its value seven days before; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_daily.billing_retry_change_1d IS
    'billing_retry minus its value on the previous day; NULL when the series has no row that day.';
COMMENT ON COLUMN customer_metrics_daily.billing_retry_change_7d IS
    'billing_retry minus its value seven days before; NULL when the series has no row that day.';
