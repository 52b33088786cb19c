-- qonversion-etl schema, version 2 (SQLite): nothing to create.
-- PostgreSQL records run lock holders in etl_run_locks (sql/postgres/002_run_locks.sql). The
-- SQLite warehouse's run lock is flock() on a file next to the database, and the holder's host,
-- pid and start time are written into that file: the kernel drops a file lock with its process,
-- which no row in the database could do. This file exists so that schema version 2 means the
-- same on both backends.
SELECT 1;
