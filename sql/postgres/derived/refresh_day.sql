-- Computes one UTC day of the trend tables again from customer_metrics, with what depends on it
-- (customer_metrics_refresh_day() in migration 7 says what). The job runs it when a run that
-- stored rows ends, and for each run it finds dead and marks interrupted; $1 is the day.
SELECT customer_metrics_refresh_day($1::date)
