-- Question: how many active subscribers do we have, day by day, counting every customer?
-- Parameters (change them to yours): project 'my-app', environment 1 (production), and the
-- fixed window 'all_time' from the config, i.e. every customer first seen since its start.
-- One row per UTC day (the day's last snapshot), with the change against the day before and
-- against the same day a week before (NULL when the job did not run that day).
-- Runs unchanged on PostgreSQL and SQLite.
SELECT day,
       active_subscribers,
       active_subscribers_change_1d,
       active_subscribers_change_7d
FROM customer_metrics_daily
WHERE project = 'my-app'
  AND environment = 1
  AND window_name = 'all_time'
  AND segment = 'all'
ORDER BY day;
