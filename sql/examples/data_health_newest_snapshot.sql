-- Question: what did the data checks find in the newest snapshot?
-- Parameters: none; add `AND project = 'my-app'` to narrow it to one project. error sorts
-- before warning; no rows means the newest snapshot is clean (or a run is still loading it: the
-- checks run after its last cell). README "Reading a finding" says how to read each column.
-- Runs unchanged on PostgreSQL and SQLite.
SELECT severity,
       check_name,
       project,
       environment,
       window_name,
       window_from,
       segment,
       metric,
       observed,
       expected,
       message
FROM etl_data_checks
WHERE snapshot_at = (SELECT max(snapshot_at) FROM customer_metrics)
ORDER BY severity, check_name, project, environment, window_name, window_from, segment, metric;
