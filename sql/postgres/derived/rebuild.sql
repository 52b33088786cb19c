-- Recomputes every structure derived from customer_metrics (qonversion-etl migrate --rebuild):
-- customer_metrics_days and customer_metrics_newest, as migration 7 filled them.
SELECT customer_metrics_rebuild_days();
