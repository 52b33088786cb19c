-- Computes the series a run wrote in one UTC day of the trend tables again from
-- customer_metrics, and what depends on them: their changes on the next day and a week later, and
-- their newest rows. The job runs it when a run that stored rows ends, and for each run it finds
-- dead and marks interrupted; the day ('YYYY-MM-DD') and the run are in the temporary table
-- qetl_refresh_day, bound there by the job. Same steps as customer_metrics_refresh_day() in
-- sql/postgres/008_refresh_by_run.sql.

-- The series to compute: those the run wrote that day, and those whose row of the day the run has
-- written again under another window kind (the stored key has no kind), which lose it. Each is
-- computed from all of its rows of the day, so shards and resumed runs end as one run would.
CREATE TEMP TABLE IF NOT EXISTS qetl_refresh_series (
    project, environment, window_name, segment, window_kind, cohort_key);
DELETE FROM qetl_refresh_series;
INSERT INTO qetl_refresh_series
SELECT m.project, m.environment, m.window_name, m.segment, m.window_kind,
       CASE WHEN m.window_kind = 'cohort' THEN date(m.window_from) ELSE '' END AS cohort_key
FROM customer_metrics m
WHERE m.snapshot_at >= (SELECT day FROM qetl_refresh_day)
  AND m.snapshot_at < date((SELECT day FROM qetl_refresh_day), '+1 day')
  AND m.run_id = (SELECT run_id FROM qetl_refresh_day)
UNION
SELECT d.project, d.environment, d.window_name, d.segment, d.window_kind, d.cohort_key
FROM customer_metrics_days d
JOIN customer_metrics m
  ON m.project = d.project AND m.environment = d.environment AND m.snapshot_at = d.snapshot_at
 AND m.window_name = d.window_name AND m.window_from = d.window_from AND m.segment = d.segment
WHERE d.day = (SELECT day FROM qetl_refresh_day)
  AND m.run_id = (SELECT run_id FROM qetl_refresh_day) AND m.window_kind <> d.window_kind;

DELETE FROM customer_metrics_days
WHERE day = (SELECT day FROM qetl_refresh_day)
  AND (project, environment, window_name, segment, window_kind, cohort_key) IN
      (SELECT project, environment, window_name, segment, window_kind, cohort_key FROM qetl_refresh_series);

INSERT INTO customer_metrics_days (
    day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at, window_from,
    window_to, status, target_platform, country, product_id, purchase_currency, locale, model, os_version,
    app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name, experiment_uid,
    experiment_group_uid, search, clients_with_event, active_subscribers, active_trials, billing_retry,
    churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at, run_id,
    clients_with_event_change_1d, clients_with_event_change_7d, active_subscribers_change_1d,
    active_subscribers_change_7d, active_trials_change_1d, active_trials_change_7d, billing_retry_change_1d,
    billing_retry_change_7d)
SELECT r.day, r.project, r.environment, r.window_name, r.segment, r.window_kind, r.cohort_key,
       r.snapshot_at, r.window_from, r.window_to, r.status, r.target_platform, r.country, r.product_id,
       r.purchase_currency, r.locale, r.model, r.os_version, r.app_version, r.sdk_version,
       r.media_source_name, r.campaign_name, r.ad_set_name, r.ad_name, r.experiment_uid,
       r.experiment_group_uid, r.search, r.clients_with_event, r.active_subscribers, r.active_trials,
       r.billing_retry, r.churned_subscribers, r.canceled_trials, r.avg_payment_count, r.avg_price, r.sales,
       r.fetched_at, r.run_id,
       r.clients_with_event - d1.clients_with_event, r.clients_with_event - d7.clients_with_event,
       r.active_subscribers - d1.active_subscribers, r.active_subscribers - d7.active_subscribers,
       r.active_trials - d1.active_trials, r.active_trials - d7.active_trials,
       r.billing_retry - d1.billing_retry, r.billing_retry - d7.billing_retry
FROM (
    SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at,
           window_from, window_to, status, target_platform, country, product_id, purchase_currency, locale,
           model, os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name,
           ad_name, experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers,
           active_trials, billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price,
           sales, fetched_at, run_id
    FROM (
        SELECT date(m.snapshot_at) AS day,
               CASE WHEN m.window_kind = 'cohort' THEN date(m.window_from) ELSE '' END AS cohort_key,
               m.*,
               row_number() OVER (
                   PARTITION BY +m.project, m.environment, m.window_name, m.segment, m.window_kind,
                                CASE WHEN m.window_kind = 'cohort' THEN date(m.window_from) ELSE '' END,
                                date(m.snapshot_at)
                   ORDER BY m.snapshot_at DESC, m.fetched_at DESC, m.window_from DESC) AS nth_newest_of_day
        FROM customer_metrics m
        WHERE m.snapshot_at >= (SELECT day FROM qetl_refresh_day)
          AND m.snapshot_at < date((SELECT day FROM qetl_refresh_day), '+1 day')
          AND (m.project, m.environment, m.window_name, m.segment, m.window_kind,
               CASE WHEN m.window_kind = 'cohort' THEN date(m.window_from) ELSE '' END) IN
              (SELECT project, environment, window_name, segment, window_kind, cohort_key FROM qetl_refresh_series)) last_of_day
    WHERE nth_newest_of_day = 1) r
LEFT JOIN customer_metrics_days d1
       ON d1.day = date((SELECT day FROM qetl_refresh_day), '-1 day')
      AND d1.project = r.project AND d1.environment = r.environment AND d1.window_name = r.window_name
      AND d1.segment = r.segment AND d1.window_kind = r.window_kind AND d1.cohort_key = r.cohort_key
LEFT JOIN customer_metrics_days d7
       ON d7.day = date((SELECT day FROM qetl_refresh_day), '-7 days')
      AND d7.project = r.project AND d7.environment = r.environment AND d7.window_name = r.window_name
      AND d7.segment = r.segment AND d7.window_kind = r.window_kind AND d7.cohort_key = r.cohort_key
ORDER BY r.project, r.environment, r.window_name, r.segment, r.window_kind, r.cohort_key;

-- The days that compare with it: the next one and a week later (no rows on a normal night).
UPDATE customer_metrics_days
SET (clients_with_event_change_1d, active_subscribers_change_1d,
     active_trials_change_1d, billing_retry_change_1d)
  = (SELECT customer_metrics_days.clients_with_event - p.clients_with_event,
            customer_metrics_days.active_subscribers - p.active_subscribers,
            customer_metrics_days.active_trials - p.active_trials,
            customer_metrics_days.billing_retry - p.billing_retry
     FROM customer_metrics_days p
     WHERE p.day = (SELECT day FROM qetl_refresh_day)
       AND p.project = customer_metrics_days.project AND p.environment = customer_metrics_days.environment
       AND p.window_name = customer_metrics_days.window_name AND p.segment = customer_metrics_days.segment
       AND p.window_kind = customer_metrics_days.window_kind
       AND p.cohort_key = customer_metrics_days.cohort_key)
WHERE customer_metrics_days.day = date((SELECT day FROM qetl_refresh_day), '+1 day')
  AND (customer_metrics_days.project, customer_metrics_days.environment, customer_metrics_days.window_name,
       customer_metrics_days.segment, customer_metrics_days.window_kind, customer_metrics_days.cohort_key) IN
      (SELECT project, environment, window_name, segment, window_kind, cohort_key FROM qetl_refresh_series);
UPDATE customer_metrics_days
SET (clients_with_event_change_7d, active_subscribers_change_7d,
     active_trials_change_7d, billing_retry_change_7d)
  = (SELECT customer_metrics_days.clients_with_event - p.clients_with_event,
            customer_metrics_days.active_subscribers - p.active_subscribers,
            customer_metrics_days.active_trials - p.active_trials,
            customer_metrics_days.billing_retry - p.billing_retry
     FROM customer_metrics_days p
     WHERE p.day = (SELECT day FROM qetl_refresh_day)
       AND p.project = customer_metrics_days.project AND p.environment = customer_metrics_days.environment
       AND p.window_name = customer_metrics_days.window_name AND p.segment = customer_metrics_days.segment
       AND p.window_kind = customer_metrics_days.window_kind
       AND p.cohort_key = customer_metrics_days.cohort_key)
WHERE customer_metrics_days.day = date((SELECT day FROM qetl_refresh_day), '+7 days')
  AND (customer_metrics_days.project, customer_metrics_days.environment, customer_metrics_days.window_name,
       customer_metrics_days.segment, customer_metrics_days.window_kind, customer_metrics_days.cohort_key) IN
      (SELECT project, environment, window_name, segment, window_kind, cohort_key FROM qetl_refresh_series);

-- Each series' newest row: the day's, unless the series has a later day.
INSERT INTO customer_metrics_newest (
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
WHERE day = (SELECT day FROM qetl_refresh_day)
  AND (project, environment, window_name, segment, window_kind, cohort_key) IN
      (SELECT project, environment, window_name, segment, window_kind, cohort_key FROM qetl_refresh_series)
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
WHERE excluded.day >= customer_metrics_newest.day;

-- A series of the run whose newest day this was but which has no row that day any more (its
-- window changed kind, or rows were deleted): its newest row is now an earlier day's, or none.
-- Only the DELETE above removes day rows, so no other series can be in that state.
INSERT OR REPLACE INTO customer_metrics_newest (
    day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at, window_from,
    window_to, status, target_platform, country, product_id, purchase_currency, locale, model,
    os_version, app_version, sdk_version, media_source_name, campaign_name, ad_set_name, ad_name,
    experiment_uid, experiment_group_uid, search, clients_with_event, active_subscribers, active_trials,
    billing_retry, churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales,
    fetched_at, run_id)
SELECT d.day, d.project, d.environment, d.window_name, d.segment, d.window_kind, d.cohort_key,
       d.snapshot_at, d.window_from, d.window_to, d.status, d.target_platform, d.country, d.product_id,
       d.purchase_currency, d.locale, d.model, d.os_version, d.app_version, d.sdk_version,
       d.media_source_name, d.campaign_name, d.ad_set_name, d.ad_name, d.experiment_uid,
       d.experiment_group_uid, d.search, d.clients_with_event, d.active_subscribers, d.active_trials,
       d.billing_retry, d.churned_subscribers, d.canceled_trials, d.avg_payment_count, d.avg_price,
       d.sales, d.fetched_at, d.run_id
FROM customer_metrics_newest s
JOIN customer_metrics_days d
  ON d.project = s.project AND d.environment = s.environment
 AND d.window_name = s.window_name AND d.segment = s.segment
 AND d.window_kind = s.window_kind AND d.cohort_key = s.cohort_key
 AND d.day = (SELECT max(x.day) FROM customer_metrics_days x
              WHERE x.project = s.project AND x.environment = s.environment
                AND x.window_name = s.window_name AND x.segment = s.segment
                AND x.window_kind = s.window_kind AND x.cohort_key = s.cohort_key)
WHERE s.day = (SELECT day FROM qetl_refresh_day)
  AND (s.project, s.environment, s.window_name, s.segment, s.window_kind, s.cohort_key) IN
      (SELECT project, environment, window_name, segment, window_kind, cohort_key FROM qetl_refresh_series)
  AND NOT EXISTS (SELECT 1 FROM customer_metrics_days y
                  WHERE y.day = s.day AND y.project = s.project AND y.environment = s.environment
                    AND y.window_name = s.window_name AND y.segment = s.segment
                    AND y.window_kind = s.window_kind AND y.cohort_key = s.cohort_key);
DELETE FROM customer_metrics_newest
WHERE day = (SELECT day FROM qetl_refresh_day)
  AND (project, environment, window_name, segment, window_kind, cohort_key) IN
      (SELECT project, environment, window_name, segment, window_kind, cohort_key FROM qetl_refresh_series)
  AND NOT EXISTS (SELECT 1 FROM customer_metrics_days y
                  WHERE y.day = customer_metrics_newest.day
                    AND y.project = customer_metrics_newest.project
                    AND y.environment = customer_metrics_newest.environment
                    AND y.window_name = customer_metrics_newest.window_name
                    AND y.segment = customer_metrics_newest.segment
                    AND y.window_kind = customer_metrics_newest.window_kind
                    AND y.cohort_key = customer_metrics_newest.cohort_key);
