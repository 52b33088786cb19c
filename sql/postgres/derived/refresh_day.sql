-- Computes the series a run wrote in one UTC day of the trend tables again from customer_metrics,
-- with what depends on them (customer_metrics_refresh_day() in migration 8 says what). The job
-- runs it when a run that stored rows ends, and for each run it finds dead and marks
-- interrupted; $1 is the day, $2 the run.
SELECT customer_metrics_refresh_day($1::date, $2)
