-- qonversion-etl schema, version 6 (SQLite): which cells a run covers (stale-run closing).
-- projects: JSON array of the project names; shard: 'K/N' or 'all'.
ALTER TABLE etl_runs ADD COLUMN projects TEXT NOT NULL DEFAULT '[]';
ALTER TABLE etl_runs ADD COLUMN shard TEXT NOT NULL DEFAULT 'all';
-- Runs left `running` before this version knew their scope can never be matched to a scope:
-- closed here, once (a run of an older binary still going sets its own status when it ends).
UPDATE etl_runs
   SET status = 'interrupted', finished_at = strftime('%Y-%m-%d %H:%M:%S', 'now'),
       message = 'left running by an earlier version (its process is gone); closed by schema migration 6'
 WHERE status = 'running';
