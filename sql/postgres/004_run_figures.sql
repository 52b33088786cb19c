-- qonversion-etl schema, version 4 (PostgreSQL): the rest of a run's summary line in etl_runs,
-- so the figures a run ends with can be queried next to its other columns.
ALTER TABLE etl_runs ADD COLUMN retries bigint NOT NULL DEFAULT 0;
ALTER TABLE etl_runs ADD COLUMN responses_429 bigint NOT NULL DEFAULT 0;

COMMENT ON COLUMN etl_runs.retries IS
    'Requests of the run that repeated an earlier attempt of the same cell (after a 429, 5xx, timeout, reset or unreadable body).';
COMMENT ON COLUMN etl_runs.responses_429 IS
    'HTTP 429 (rate limited) answers the run received; each lowered the project''s request rate for a while.';
