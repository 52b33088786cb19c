-- Question: which countries grew sales the most over the last 28 days?
-- Parameters (change them to yours): project 'my-app', environment 1 (production), fixed
-- window 'all_time' (its sales are those of every customer first seen since the window's
-- start, so the growth is what they paid in those 28 days). The matrix must split by country.
-- "Now" is the newest day loaded; a country without a row exactly 28 days before is left out.
-- SQLite text; sql/examples/postgres/ holds the same question for PostgreSQL (date arithmetic
-- differs: date(day, '-28 days') here, day - 28 there).
SELECT newest.country,
       newest.sales AS sales,
       earlier.sales AS sales_28_days_before,
       newest.sales - earlier.sales AS sales_growth
FROM customer_metrics_daily AS newest
JOIN customer_metrics_daily AS earlier
  ON earlier.project = newest.project
 AND earlier.environment = newest.environment
 AND earlier.window_name = newest.window_name
 AND earlier.segment = newest.segment
 AND earlier.day = date(newest.day, '-28 days')
WHERE newest.project = 'my-app'
  AND newest.environment = 1
  AND newest.window_name = 'all_time'
  AND newest.segment = ('country=' || newest.country)
  AND newest.day = (SELECT max(day) FROM customer_metrics_daily
                    WHERE project = 'my-app' AND environment = 1 AND window_name = 'all_time')
ORDER BY sales_growth DESC, newest.country
LIMIT 10;
