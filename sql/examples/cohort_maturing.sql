-- Question: how does one daily cohort mature, snapshot after snapshot?
-- Parameters (change them to yours): project 'my-app', environment 1 (production), the cohort
-- window 'daily_cohorts' (each = "day" in the config) and the cohort of customers first seen on
-- 2024-03-12 (cohort_date, a UTC day). One row per day the cohort was loaded, the day's last
-- snapshot; with count = 14 in the config a daily cohort is followed for 14 days.
-- Runs unchanged on PostgreSQL and SQLite.
SELECT day,
       snapshot_at,
       clients_with_event,
       active_trials,
       active_subscribers,
       active_subscribers_change_1d,
       sales
FROM customer_metrics_daily
WHERE project = 'my-app'
  AND environment = 1
  AND window_name = 'daily_cohorts'
  AND segment = 'all'
  AND cohort_date = '2024-03-12'
ORDER BY day;
