-- qonversion-etl schema, version 7 (SQLite): the trend views read tables that each run keeps up
-- to date, so their cost follows the rows they show rather than the years stored. Same tables,
-- views and results as sql/postgres/007_trend_tables.sql, where the design is explained.
--
-- customer_metrics_days is stored in day order (WITHOUT ROWID, primary key starting with the
-- day): the last 90 days of every series are one range, and the day before a night's rows is a
-- range next to them. customer_metrics_newest holds each series' newest row. Dates are
-- 'YYYY-MM-DD' text and cohort_key is '' for fixed and rolling windows. The job recomputes a
-- run's day when the run ends (sql/sqlite/derived/refresh_day.sql), not by a trigger on
-- customer_metrics: on SQLite any trigger there makes every insert of the job write a statement
-- journal. The window functions partition by +project rather than project:
-- without statistics SQLite would otherwise read a whole index in the partition's order instead
-- of the rows asked for.

DROP VIEW customer_metrics_daily;
DROP VIEW customer_metrics_latest;

CREATE TABLE customer_metrics_days (
    day                          TEXT    NOT NULL,
    environment                  INTEGER NOT NULL,
    cohort_key                   TEXT    NOT NULL,
    snapshot_at                  TEXT    NOT NULL,
    window_from                  TEXT    NOT NULL,
    window_to                    TEXT    NOT NULL,
    fetched_at                   TEXT    NOT NULL,
    clients_with_event           INTEGER NOT NULL,
    active_subscribers           INTEGER NOT NULL,
    active_trials                INTEGER NOT NULL,
    billing_retry                INTEGER NOT NULL,
    churned_subscribers          REAL    NOT NULL,
    canceled_trials              REAL    NOT NULL,
    clients_with_event_change_1d INTEGER,
    clients_with_event_change_7d INTEGER,
    active_subscribers_change_1d INTEGER,
    active_subscribers_change_7d INTEGER,
    active_trials_change_1d      INTEGER,
    active_trials_change_7d      INTEGER,
    billing_retry_change_1d      INTEGER,
    billing_retry_change_7d      INTEGER,
    project                      TEXT    NOT NULL,
    window_name                  TEXT    NOT NULL,
    segment                      TEXT    NOT NULL,
    window_kind                  TEXT    NOT NULL,
    avg_payment_count            NUMERIC NOT NULL,
    avg_price                    NUMERIC NOT NULL,
    sales                        NUMERIC NOT NULL,
    run_id                       TEXT    NOT NULL,
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
    PRIMARY KEY (day, project, environment, window_name, segment, window_kind, cohort_key)
) WITHOUT ROWID;

-- One series over a range of days.
CREATE INDEX customer_metrics_days_series_idx
    ON customer_metrics_days (project, environment, window_name, segment, day);

CREATE TABLE customer_metrics_newest (
    day                          TEXT    NOT NULL,
    environment                  INTEGER NOT NULL,
    cohort_key                   TEXT    NOT NULL,
    snapshot_at                  TEXT    NOT NULL,
    window_from                  TEXT    NOT NULL,
    window_to                    TEXT    NOT NULL,
    fetched_at                   TEXT    NOT NULL,
    clients_with_event           INTEGER NOT NULL,
    active_subscribers           INTEGER NOT NULL,
    active_trials                INTEGER NOT NULL,
    billing_retry                INTEGER NOT NULL,
    churned_subscribers          REAL    NOT NULL,
    canceled_trials              REAL    NOT NULL,
    project                      TEXT    NOT NULL,
    window_name                  TEXT    NOT NULL,
    segment                      TEXT    NOT NULL,
    window_kind                  TEXT    NOT NULL,
    avg_payment_count            NUMERIC NOT NULL,
    avg_price                    NUMERIC NOT NULL,
    sales                        NUMERIC NOT NULL,
    run_id                       TEXT    NOT NULL,
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
    PRIMARY KEY (project, environment, window_name, segment, window_kind, cohort_key)

) WITHOUT ROWID;

-- The history so far (derived/rebuild.sql runs the same statements).
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


CREATE VIEW customer_metrics_latest AS
SELECT snapshot_at, project, environment, window_name, window_kind, window_from, window_to,
       nullif(cohort_key, '') AS cohort_date, segment,
       status, target_platform, country, product_id, purchase_currency, locale, model, os_version, app_version,
       sdk_version, media_source_name, campaign_name, ad_set_name, ad_name, experiment_uid,
       experiment_group_uid, search, clients_with_event, active_subscribers, active_trials, billing_retry,
       churned_subscribers, canceled_trials, avg_payment_count, avg_price, sales, fetched_at, run_id
FROM customer_metrics_newest;

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
FROM customer_metrics_days;
