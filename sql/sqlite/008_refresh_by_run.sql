-- qonversion-etl schema, version 8 (SQLite): nothing to change in the schema. In version 7 a
-- run's end computed every series of its day again in the trend tables; it now computes the
-- series the run wrote (sql/sqlite/derived/refresh_day.sql, the job's own script, which version
-- 8 of sql/postgres/008_refresh_by_run.sql matches with a function). The version exists so that
-- both backends keep the same list of versions.
SELECT 1;
