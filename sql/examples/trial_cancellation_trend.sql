-- Question: how does the share of canceled trials move, day by day, for one product?
-- Parameters (change them to yours): project 'my-app', environment 1 (production), fixed
-- window 'all_time', product 'premium_monthly' (the matrix must list it under product_id).
-- canceled_trials is the percentage (0-100) exactly as Qonversion answers it.
-- Runs unchanged on PostgreSQL and SQLite.
SELECT day,
       canceled_trials AS canceled_trials_percent,
       active_trials,
       active_trials_change_1d
FROM customer_metrics_daily
WHERE project = 'my-app'
  AND environment = 1
  AND window_name = 'all_time'
  AND segment = 'product_id=premium_monthly'
ORDER BY day;
