-- Question: where are our active subscribers now, country by country?
-- Parameters (change them to yours): project 'my-app', environment 1 (production), fixed
-- window 'all_time'. The matrix must split by country; country groups (such as EU) show
-- under their name. snapshot_at tells how fresh each row is.
-- Runs unchanged on PostgreSQL and SQLite.
SELECT country,
       snapshot_at,
       active_subscribers,
       active_trials,
       sales
FROM customer_metrics_latest
WHERE project = 'my-app'
  AND environment = 1
  AND window_name = 'all_time'
  AND segment = ('country=' || country)
ORDER BY active_subscribers DESC, country;
