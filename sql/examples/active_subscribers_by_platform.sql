-- Question: how many active subscribers do we have on each platform, day by day?
-- Parameters (change them to yours): project 'my-app', environment 1 (production), fixed
-- window 'all_time'. The matrix must split by target_platform (target_platform = ["*", "iOS",
-- "Android", ...]); the rows filtered on the platform alone are those whose segment is exactly
-- 'target_platform=<platform>' (no other filter).
-- Runs unchanged on PostgreSQL and SQLite.
SELECT day,
       target_platform,
       active_subscribers,
       active_subscribers_change_7d
FROM customer_metrics_daily
WHERE project = 'my-app'
  AND environment = 1
  AND window_name = 'all_time'
  AND segment = ('target_platform=' || target_platform)
ORDER BY day, target_platform;
