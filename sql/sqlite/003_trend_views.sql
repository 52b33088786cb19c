-- qonversion-etl schema, version 3 (SQLite): views for trend queries and BI tools.
-- Same views, columns and results as sql/postgres/003_trend_views.sql, where the design is
-- explained. Here day and cohort_date are 'YYYY-MM-DD' text, and the day-1 / day-7 frames
-- range over julianday(day), since a RANGE offset needs a numeric ORDER BY.
--
-- A series is what a trend follows: (project, environment, window_name, segment) for fixed and
-- rolling windows; a cohort window adds its bucket (cohort_date), so each cohort is its own
-- series. Ties on snapshot_at inside a series go to the later fetched_at, then the later
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
           CASE WHEN m.window_kind = 'cohort' THEN date(m.window_from) END AS cohort_date,
           row_number() OVER (
               PARTITION BY m.project, m.environment, m.window_name, m.segment, m.window_kind,
                            CASE WHEN m.window_kind = 'cohort' THEN date(m.window_from) END,
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
    SELECT date(m.snapshot_at) AS day, m.*,
           CASE WHEN m.window_kind = 'cohort' THEN date(m.window_from) END AS cohort_date,
           row_number() OVER (
               PARTITION BY m.project, m.environment, m.window_name, m.segment, m.window_kind,
                            CASE WHEN m.window_kind = 'cohort' THEN date(m.window_from) END,
                            m.status, m.target_platform, m.country, m.product_id, m.purchase_currency, m.locale,
                            m.model, m.os_version, m.app_version, m.sdk_version, m.media_source_name,
                            m.campaign_name, m.ad_set_name, m.ad_name, m.experiment_uid, m.experiment_group_uid,
                            m.search,
                            date(m.snapshot_at)
               ORDER BY m.snapshot_at DESC, m.fetched_at DESC, m.window_from DESC) AS nth_newest_of_day
    FROM customer_metrics m) last_of_day
WHERE nth_newest_of_day = 1
WINDOW series AS (
           PARTITION BY project, environment, window_name, segment, window_kind, cohort_date,
                        status, target_platform, country, product_id, purchase_currency, locale, model, os_version,
                        app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name,
                        experiment_uid, experiment_group_uid, search
           ORDER BY julianday(day)),
       day_before AS (series RANGE BETWEEN 1 PRECEDING AND 1 PRECEDING),
       week_before AS (series RANGE BETWEEN 7 PRECEDING AND 7 PRECEDING);
