-- Question: on the newest day, how has every count metric changed since the same day a week
-- before, for every segment?
-- Parameters (change them to yours): project 'my-app', environment 1 (production), fixed
-- window 'all_time'. A change is NULL when that segment has no row seven days before.
-- Runs unchanged on PostgreSQL and SQLite.
SELECT segment,
       day,
       clients_with_event, clients_with_event_change_7d,
       active_subscribers, active_subscribers_change_7d,
       active_trials, active_trials_change_7d,
       billing_retry, billing_retry_change_7d
FROM customer_metrics_daily
WHERE project = 'my-app'
  AND environment = 1
  AND window_name = 'all_time'
  AND day = (SELECT max(day) FROM customer_metrics_daily
             WHERE project = 'my-app' AND environment = 1 AND window_name = 'all_time')
ORDER BY segment;
