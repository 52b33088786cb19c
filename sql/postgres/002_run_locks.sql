-- qonversion-etl schema, version 2 (PostgreSQL): who holds each run lock.
-- The lock itself is a session-level advisory lock (pg_try_advisory_lock), so it dies with
-- the job's connection and a killed run never leaves one behind. A row here only names the
-- holder for the run that is refused; it outlives its lock (a killed run cannot delete it), so
-- readers trust a row only while backend_pid still holds the advisory lock (pg_locks).
-- lock_name is '<shard>:<project>', shard being 'K/N' or 'all'.

CREATE TABLE etl_run_locks (
    lock_name   text        NOT NULL PRIMARY KEY,
    host        text        NOT NULL,
    pid         bigint      NOT NULL,
    started_at  timestamptz NOT NULL,
    backend_pid integer     NOT NULL,
    locked_at   timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE etl_run_locks IS
    'Who holds each qonversion-etl run lock (a session advisory lock per project and shard), so a second run can name the first. A row is current only while its backend_pid holds the advisory lock (see pg_locks); rows of killed runs stay behind harmlessly.';
COMMENT ON COLUMN etl_run_locks.lock_name IS
    'The lock: ''<shard>:<project>'', shard being ''K/N'' for --shard K/N or ''all''.';
COMMENT ON COLUMN etl_run_locks.host IS
    'Host name of the machine the holding run runs on.';
COMMENT ON COLUMN etl_run_locks.pid IS
    'Process id of the holding qonversion-etl run on that host.';
COMMENT ON COLUMN etl_run_locks.started_at IS
    'When the holding run started (UTC).';
COMMENT ON COLUMN etl_run_locks.backend_pid IS
    'PostgreSQL backend pid of the session holding the advisory lock (pg_stat_activity.pid).';
COMMENT ON COLUMN etl_run_locks.locked_at IS
    'When that session took the lock (later than started_at after a reconnection).';
