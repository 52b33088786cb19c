-- qonversion-etl schema, version 4 (SQLite): the rest of a run's summary line in etl_runs.
-- retries: requests that repeated an earlier attempt of the same cell.
-- responses_429: HTTP 429 (rate limited) answers received.
ALTER TABLE etl_runs ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE etl_runs ADD COLUMN responses_429 INTEGER NOT NULL DEFAULT 0;
