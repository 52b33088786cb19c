-- Recomputes every structure derived from customer_metrics (qonversion-etl migrate --rebuild), as
-- migration 7 filled them: every day before the newest is closed again from customer_metrics.
DELETE FROM customer_metrics_days;
DELETE FROM customer_metrics_series;
DELETE FROM customer_metrics_open_day;
INSERT INTO customer_metrics_open_day (day) VALUES ('');
UPDATE customer_metrics_open_day SET day = (SELECT date(max(snapshot_at)) FROM customer_metrics)
WHERE EXISTS (SELECT 1 FROM customer_metrics);
