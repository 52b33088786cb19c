-- qonversion-etl schema, version 8 (PostgreSQL): a run's end computes again the series the run
-- wrote in its day, not the whole day (sql/sqlite/008_refresh_by_run.sql says the same of
-- SQLite, whose steps are the job's own script, sql/sqlite/derived/refresh_day.sql).
--
-- customer_metrics_refresh_day(day) of version 7 computed every series of the day again at each
-- run's end, from every row of the day stored so far: with N shards side by side a day was
-- computed up to N times over, and a resumed run computed the first attempt's rows again. It now takes the run: the series are those with a
-- row of that run on that day, plus those whose row of the day the run wrote again under another
-- window kind. Each series is still computed from all of its rows of the day, so the result is
-- the same as computing the whole day (migrate --rebuild, unchanged, still does that).

DROP FUNCTION customer_metrics_refresh_day(date);

-- Computes the run's series of one day again from customer_metrics, and what depends on them:
-- their changes on the next day and a week later, and their newest rows. Each statement reads the
-- day's rows through an index and joins them by hashing: nested loops of index lookups (or a
-- merge along the primary key) into a table of years would touch a page per series. Refreshes of
-- one schema run one at a time: two shards ending together would otherwise both insert a series.
CREATE FUNCTION customer_metrics_refresh_day(p_day date, p_run_id text) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_nestloop = off SET enable_mergejoin = off AS $$
DECLARE
    replaced bigint;
BEGIN
    LOCK TABLE customer_metrics_days IN SHARE ROW EXCLUSIVE MODE;

    -- The series to compute: those the run wrote that day, and those whose row of the day the run
    -- has written again under another window kind (the stored key has no kind), which lose it.
    DROP TABLE IF EXISTS pg_temp.qetl_refresh_series;
    CREATE TEMP TABLE qetl_refresh_series ON COMMIT DROP AS
    SELECT m.project, m.environment, m.window_name, m.segment, m.window_kind,
           CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date
                ELSE 'infinity' END AS cohort_key
    FROM customer_metrics m
    WHERE m.snapshot_at >= ((p_day)::timestamp AT TIME ZONE 'UTC')
      AND m.snapshot_at < ((p_day + 1)::timestamp AT TIME ZONE 'UTC')
      AND m.run_id = p_run_id
    UNION
    SELECT d.project, d.environment, d.window_name, d.segment, d.window_kind, d.cohort_key
    FROM customer_metrics_days d
    JOIN customer_metrics m
      ON m.project = d.project AND m.environment = d.environment AND m.snapshot_at = d.snapshot_at
     AND m.window_name = d.window_name AND m.window_from = d.window_from AND m.segment = d.segment
    WHERE d.day = p_day
      AND m.snapshot_at >= ((p_day)::timestamp AT TIME ZONE 'UTC')
      AND m.snapshot_at < ((p_day + 1)::timestamp AT TIME ZONE 'UTC')
      AND m.run_id = p_run_id AND m.window_kind <> d.window_kind;

    DELETE FROM customer_metrics_days d
    USING qetl_refresh_series s
    WHERE d.day = p_day
      AND d.project = s.project AND d.environment = s.environment AND d.window_name = s.window_name
      AND d.segment = s.segment AND d.window_kind = s.window_kind AND d.cohort_key = s.cohort_key;
    GET DIAGNOSTICS replaced = ROW_COUNT;

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
          AND m.snapshot_at < ((p_day + 1)::timestamp AT TIME ZONE 'UTC')
          AND (m.project, m.environment, m.window_name, m.segment, m.window_kind,
               CASE WHEN m.window_kind = 'cohort' THEN (m.window_from AT TIME ZONE 'UTC')::date
                    ELSE 'infinity' END) IN (SELECT project, environment, window_name, segment, window_kind, cohort_key FROM qetl_refresh_series)) r
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
    WHERE n.day = p_day + 1
      AND (n.project, n.environment, n.window_name, n.segment, n.window_kind, n.cohort_key) IN
          (SELECT project, environment, window_name, segment, window_kind, cohort_key FROM qetl_refresh_series);
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
    WHERE n.day = p_day + 7
      AND (n.project, n.environment, n.window_name, n.segment, n.window_kind, n.cohort_key) IN
          (SELECT project, environment, window_name, segment, window_kind, cohort_key FROM qetl_refresh_series);

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
      AND (project, environment, window_name, segment, window_kind, cohort_key) IN (SELECT project, environment, window_name, segment, window_kind, cohort_key FROM qetl_refresh_series)
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
    -- changed kind, or rows were deleted): its newest row is now an earlier day's, or none. Only
    -- a day that had rows of these series before can lose one.
    IF replaced > 0 AND EXISTS (SELECT 1 FROM customer_metrics_newest s
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

COMMENT ON TABLE customer_metrics_days IS
    'Derived from customer_metrics (query customer_metrics_daily instead): one row per series and UTC day, the day''s last row with its changes. When a run ends, the series it wrote that day are recomputed; migrate --rebuild recomputes it all.';
