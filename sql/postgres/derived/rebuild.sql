-- Recomputes every structure derived from customer_metrics (qonversion-etl migrate --rebuild), as
-- migration 7 filled them: every day before the newest is closed again from customer_metrics.
TRUNCATE customer_metrics_days, customer_metrics_series, customer_metrics_open_day;
INSERT INTO customer_metrics_open_day (day) VALUES ('-infinity');
UPDATE customer_metrics_open_day o SET day = n.day
FROM (SELECT (max(snapshot_at) AT TIME ZONE 'UTC')::date AS day FROM customer_metrics) n
WHERE n.day IS NOT NULL;
