-- qonversion-etl schema, version 7 (SQLite): the trend views read tables that follow the
-- runs, so their cost follows the rows they show rather than the years stored. Same tables,
-- views and results as sql/postgres/007_trend_tables.sql, where the design is explained.
--
-- customer_metrics_days: one row per series and closed UTC day (every day before the open one),
--   a copy of that day's last row with its changes against one and seven days before. Its
--   primary key starts with the day (WITHOUT ROWID): it is stored in day order, so the last 90
--   days of every series are one range; customer_metrics_days_series_idx serves one series.
-- customer_metrics_series: each series' newest closed day.
-- customer_metrics_open_day: one row, the open day. The views read it and any later day straight
--   from customer_metrics (a range of customer_metrics_snapshot_idx), so loading, resuming,
--   sharding and re-running the night's snapshot cost nothing here. A run of a later snapshot
--   closes the days before its own when it starts; a run that stored rows in a closed day (a
--   backfill, a late --resume) takes that day and the ones after it again when it ends. Rows
--   written into a closed day by other means need `qonversion-etl migrate --rebuild`.
--
-- A series is (project, environment, window_name, segment, window_kind, cohort_key), cohort_key
-- being the cohort's date for cohort windows and '' otherwise (the views show it as cohort_date,
-- NULL for fixed and rolling windows). The dimension columns follow from segment and come with
-- the row. A day's row is its last snapshot_at, then the later fetched_at, then the later
-- window_from, as in the views of version 3.

DROP VIEW customer_metrics_daily;
DROP VIEW customer_metrics_latest;

CREATE TABLE customer_metrics_days (
    day                          TEXT    NOT NULL,
    project                      TEXT    NOT NULL,
    environment                  INTEGER NOT NULL,
    window_name                  TEXT    NOT NULL,
    segment                      TEXT    NOT NULL,
    window_kind                  TEXT    NOT NULL,
    cohort_key                   TEXT    NOT NULL,
    snapshot_at                  TEXT    NOT NULL,
    window_from                  TEXT    NOT NULL,
    window_to                    TEXT    NOT NULL,
    status                       TEXT,
    target_platform              TEXT,
    country                      TEXT,
    product_id                   TEXT,
    purchase_currency            TEXT,
    locale                       TEXT,
    model                        TEXT,
    os_version                   TEXT,
    app_version                  TEXT,
    sdk_version                  TEXT,
    media_source_name            TEXT,
    campaign_name                TEXT,
    ad_set_name                  TEXT,
    ad_name                      TEXT,
    experiment_uid               TEXT,
    experiment_group_uid         TEXT,
    search                       TEXT,
    clients_with_event           INTEGER NOT NULL,
    active_subscribers           INTEGER NOT NULL,
    active_trials                INTEGER NOT NULL,
    billing_retry                INTEGER NOT NULL,
    churned_subscribers          REAL    NOT NULL,
    canceled_trials              REAL    NOT NULL,
    avg_payment_count            NUMERIC NOT NULL,
    avg_price                    NUMERIC NOT NULL,
    sales                        NUMERIC NOT NULL,
    fetched_at                   TEXT    NOT NULL,
    run_id                       TEXT    NOT NULL,
    clients_with_event_change_1d INTEGER,
    clients_with_event_change_7d INTEGER,
    active_subscribers_change_1d INTEGER,
    active_subscribers_change_7d INTEGER,
    active_trials_change_1d      INTEGER,
    active_trials_change_7d      INTEGER,
    billing_retry_change_1d      INTEGER,
    billing_retry_change_7d      INTEGER,
    PRIMARY KEY (day, project, environment, window_name, segment, window_kind, cohort_key)
) WITHOUT ROWID;

CREATE INDEX customer_metrics_days_series_idx
    ON customer_metrics_days (project, environment, window_name, segment, day);

CREATE TABLE customer_metrics_series (
    project     TEXT    NOT NULL,
    environment INTEGER NOT NULL,
    window_name TEXT    NOT NULL,
    segment     TEXT    NOT NULL,
    window_kind TEXT    NOT NULL,
    cohort_key  TEXT    NOT NULL,
    day         TEXT    NOT NULL,
    PRIMARY KEY (project, environment, window_name, segment, window_kind, cohort_key)
) WITHOUT ROWID;

CREATE TABLE customer_metrics_open_day (day TEXT NOT NULL);

-- Moving the open day forward closes the days before it: their rows are (re)computed from
-- customer_metrics in one statement.
CREATE TRIGGER customer_metrics_open_day_close AFTER UPDATE OF day ON customer_metrics_open_day
WHEN NEW.day > OLD.day
BEGIN
    DELETE FROM customer_metrics_days WHERE day >= OLD.day AND day < NEW.day;

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
            -- the week before the first day: what the first days compare with
            SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at,
                   window_from, window_to, status, target_platform, country, product_id, purchase_currency,
                   locale, model, os_version, app_version, sdk_version, media_source_name, campaign_name,
                   ad_set_name, ad_name, experiment_uid, experiment_group_uid, search, clients_with_event,
                   active_subscribers, active_trials, billing_retry, churned_subscribers, canceled_trials,
                   avg_payment_count, avg_price, sales, fetched_at, run_id, 0 AS is_new
            FROM customer_metrics_days
            WHERE day >= date(OLD.day, '-7 days') AND day < OLD.day
            UNION ALL
            SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at,
                   window_from, window_to, status, target_platform, country, product_id, purchase_currency,
                   locale, model, os_version, app_version, sdk_version, media_source_name, campaign_name,
                   ad_set_name, ad_name, experiment_uid, experiment_group_uid, search, clients_with_event,
                   active_subscribers, active_trials, billing_retry, churned_subscribers, canceled_trials,
                   avg_payment_count, avg_price, sales, fetched_at, run_id, 1
            FROM (
                SELECT date(snapshot_at) AS day, CASE WHEN window_kind = 'cohort' THEN date(window_from) ELSE '' END AS cohort_key, *,
                       row_number() OVER (
                           PARTITION BY project, environment, window_name, segment, window_kind,
                                        CASE WHEN window_kind = 'cohort' THEN date(window_from) ELSE '' END, date(snapshot_at)
                           ORDER BY snapshot_at DESC, fetched_at DESC, window_from DESC) AS nth_newest_of_day
                FROM customer_metrics
                WHERE snapshot_at >= OLD.day AND snapshot_at < NEW.day)
            WHERE nth_newest_of_day = 1) c
        WINDOW series AS (PARTITION BY project, environment, window_name, segment, window_kind, cohort_key
                          ORDER BY julianday(day)),
               day_before AS (series RANGE BETWEEN 1 PRECEDING AND 1 PRECEDING),
               week_before AS (series RANGE BETWEEN 7 PRECEDING AND 7 PRECEDING))
    WHERE is_new = 1
    ORDER BY day, project, environment, window_name, segment, window_kind, cohort_key;

    INSERT INTO customer_metrics_series (project, environment, window_name, segment, window_kind, cohort_key, day)
    SELECT project, environment, window_name, segment, window_kind, cohort_key, max(day)
    FROM customer_metrics_days
    WHERE day >= OLD.day AND day < NEW.day
    GROUP BY project, environment, window_name, segment, window_kind, cohort_key
    ON CONFLICT (project, environment, window_name, segment, window_kind, cohort_key)
    DO UPDATE SET day = excluded.day WHERE excluded.day > customer_metrics_series.day;
END;

-- Moving it back reopens days: their customer_metrics_days rows are ignored until they are
-- closed again, and a series whose newest closed day was reopened falls back on an earlier one.
CREATE TRIGGER customer_metrics_open_day_reopen AFTER UPDATE OF day ON customer_metrics_open_day
WHEN NEW.day < OLD.day
BEGIN
    DELETE FROM customer_metrics_series
    WHERE day >= NEW.day
      AND NOT EXISTS (SELECT 1 FROM customer_metrics_days d
                      WHERE d.project = customer_metrics_series.project AND d.environment = customer_metrics_series.environment AND d.window_name = customer_metrics_series.window_name
                        AND d.segment = customer_metrics_series.segment AND d.window_kind = customer_metrics_series.window_kind AND d.cohort_key = customer_metrics_series.cohort_key
                        AND d.day < NEW.day);

    UPDATE customer_metrics_series
    SET day = (SELECT max(d.day) FROM customer_metrics_days d
               WHERE d.project = customer_metrics_series.project AND d.environment = customer_metrics_series.environment AND d.window_name = customer_metrics_series.window_name
                 AND d.segment = customer_metrics_series.segment AND d.window_kind = customer_metrics_series.window_kind AND d.cohort_key = customer_metrics_series.cohort_key
                 AND d.day < NEW.day)
    WHERE day >= NEW.day;
END;

-- The runs move the open day. A run of a later snapshot closes the days before its own; a run of
-- an earlier one (a backfill, a late --resume) reopens its day, so that the views read what it
-- stores, however it ends.
CREATE TRIGGER etl_runs_open_day AFTER INSERT ON etl_runs
BEGIN
    UPDATE customer_metrics_open_day SET day = date(NEW.snapshot_at) WHERE day <> date(NEW.snapshot_at);
END;

-- A run that ends closes every day before the newest one. When its own day was closed meanwhile
-- (it outlasted the start of a later run) and it stored rows, that day is taken again with them.
CREATE TRIGGER etl_runs_close_days AFTER UPDATE OF status ON etl_runs
WHEN OLD.status = 'running' AND NEW.status <> 'running'
BEGIN
    UPDATE customer_metrics_open_day SET day = date(NEW.snapshot_at)
    WHERE day > date(NEW.snapshot_at)
      AND EXISTS (SELECT 1 FROM customer_metrics m
                  WHERE m.snapshot_at = NEW.snapshot_at AND m.run_id = NEW.run_id);

    UPDATE customer_metrics_open_day SET day = (SELECT date(max(snapshot_at)) FROM customer_metrics)
    WHERE day < (SELECT date(max(snapshot_at)) FROM customer_metrics);
END;

-- The history so far: every day before the newest is closed (rebuild.sql does the same).
INSERT INTO customer_metrics_open_day (day) VALUES ('');
UPDATE customer_metrics_open_day SET day = (SELECT date(max(snapshot_at)) FROM customer_metrics)
WHERE EXISTS (SELECT 1 FROM customer_metrics);

-- Each series' newest row: from its newest closed day, or from the open day and after.
CREATE VIEW customer_metrics_latest AS
SELECT snapshot_at, project, environment, window_name, window_kind, window_from, window_to,
       nullif(cohort_key, '') AS cohort_date, segment,
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
               CASE WHEN m.window_kind = 'cohort' THEN date(m.window_from) ELSE '' END, m.segment,
               m.status, m.target_platform, m.country, m.product_id, m.purchase_currency, m.locale, m.model,
               m.os_version, m.app_version, m.sdk_version, m.media_source_name, m.campaign_name, m.ad_set_name,
               m.ad_name, m.experiment_uid, m.experiment_group_uid, m.search, m.clients_with_event,
               m.active_subscribers, m.active_trials, m.billing_retry, m.churned_subscribers, m.canceled_trials,
               m.avg_payment_count, m.avg_price, m.sales, m.fetched_at, m.run_id
        FROM customer_metrics_open_day o
        JOIN customer_metrics m ON m.snapshot_at >= o.day) r) ranked
WHERE nth_newest = 1;

-- One row per series and day: the closed days as stored, then the open day and after.
CREATE VIEW customer_metrics_daily AS
SELECT day, snapshot_at, project, environment, window_name, window_kind, window_from, window_to,
       nullif(cohort_key, '') AS cohort_date, segment,
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
       nullif(cohort_key, ''), segment,
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
            -- the week before the first day: what the first days compare with
            SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at,
                   window_from, window_to, status, target_platform, country, product_id, purchase_currency,
                   locale, model, os_version, app_version, sdk_version, media_source_name, campaign_name,
                   ad_set_name, ad_name, experiment_uid, experiment_group_uid, search, clients_with_event,
                   active_subscribers, active_trials, billing_retry, churned_subscribers, canceled_trials,
                   avg_payment_count, avg_price, sales, fetched_at, run_id, 0 AS is_new
            FROM customer_metrics_days
            WHERE day >= date((SELECT day FROM customer_metrics_open_day), '-7 days') AND day < (SELECT day FROM customer_metrics_open_day)
            UNION ALL
            SELECT day, project, environment, window_name, segment, window_kind, cohort_key, snapshot_at,
                   window_from, window_to, status, target_platform, country, product_id, purchase_currency,
                   locale, model, os_version, app_version, sdk_version, media_source_name, campaign_name,
                   ad_set_name, ad_name, experiment_uid, experiment_group_uid, search, clients_with_event,
                   active_subscribers, active_trials, billing_retry, churned_subscribers, canceled_trials,
                   avg_payment_count, avg_price, sales, fetched_at, run_id, 1
            FROM (
                SELECT date(snapshot_at) AS day, CASE WHEN window_kind = 'cohort' THEN date(window_from) ELSE '' END AS cohort_key, *,
                       row_number() OVER (
                           PARTITION BY project, environment, window_name, segment, window_kind,
                                        CASE WHEN window_kind = 'cohort' THEN date(window_from) ELSE '' END, date(snapshot_at)
                           ORDER BY snapshot_at DESC, fetched_at DESC, window_from DESC) AS nth_newest_of_day
                FROM customer_metrics
                WHERE snapshot_at >= (SELECT day FROM customer_metrics_open_day) AND snapshot_at < '9999-12-31')
            WHERE nth_newest_of_day = 1) c
        WINDOW series AS (PARTITION BY project, environment, window_name, segment, window_kind, cohort_key
                          ORDER BY julianday(day)),
               day_before AS (series RANGE BETWEEN 1 PRECEDING AND 1 PRECEDING),
               week_before AS (series RANGE BETWEEN 7 PRECEDING AND 7 PRECEDING))
    WHERE is_new = 1);
