-- Recomputes every structure derived from customer_metrics (qonversion-etl migrate --rebuild):
-- customer_metrics_days and customer_metrics_newest, with the same statements as migration 7.
DELETE FROM customer_metrics_days;
DELETE FROM customer_metrics_newest;

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
       window_to, status, target_platform, country, product_id, purchase_currency, locale, model, os_version,
       app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name, experiment_uid,
       experiment_group_uid, search, clients_with_event, active_subscribers, active_trials, billing_retry,
       churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at, run_id,
       clients_with_event - first_value(clients_with_event) OVER day_before,
       clients_with_event - first_value(clients_with_event) OVER week_before,
       active_subscribers - first_value(active_subscribers) OVER day_before,
       active_subscribers - first_value(active_subscribers) OVER week_before,
       active_trials - first_value(active_trials) OVER day_before,
       active_trials - first_value(active_trials) OVER week_before,
       billing_retry - first_value(billing_retry) OVER day_before,
       billing_retry - first_value(billing_retry) OVER week_before
FROM (
    SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at, window_from,
           window_to, status, target_platform, country, product_id, purchase_currency, locale, model,
           os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name,
           experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers, active_trials,
           billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at,
           run_id
    FROM (
        SELECT date(m.snapshot_at) AS day,
               CASE WHEN m.window_kind = 'cohort' THEN date(m.window_from) ELSE '' END AS cohort_key,
               m.*,
               row_number() OVER (
                   PARTITION BY +m.project, m.environment, m.window_name, m.segment, m.window_kind,
                                CASE WHEN m.window_kind = 'cohort' THEN date(m.window_from) ELSE '' END,
                                date(m.snapshot_at)
                   ORDER BY m.snapshot_at DESC, m.fetched_at DESC, m.window_from DESC) AS nth_newest_of_day
        FROM customer_metrics m) last_of_day
    WHERE nth_newest_of_day = 1) last_of_day
WINDOW series AS (PARTITION BY +project, environment, window_name, segment, window_kind, cohort_key
                  ORDER BY julianday(day)),
       day_before AS (series RANGE BETWEEN 1 PRECEDING AND 1 PRECEDING),
       week_before AS (series RANGE BETWEEN 7 PRECEDING AND 7 PRECEDING)
ORDER BY day, project, environment, window_name, segment, window_kind, cohort_key;

-- The row of each series' newest day: in SQLite, the other columns of a max() aggregate come
-- from the row that holds the maximum.
INSERT INTO customer_metrics_newest (
    day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at, window_from,
    window_to, status, target_platform, country, product_id, purchase_currency, locale, model, os_version,
    app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name, experiment_uid,
    experiment_group_uid, search, clients_with_event, active_subscribers, active_trials, billing_retry,
    churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at, run_id)
SELECT max(day), project, environment, window_name, segment, window_kind, cohort_key, snapshot_at, window_from,
       window_to, status, target_platform, country, product_id, purchase_currency, locale, model,
       os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name,
       experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers, active_trials,
       billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at,
       run_id
FROM customer_metrics_days
GROUP BY project, environment, window_name, segment, window_kind, cohort_key;
