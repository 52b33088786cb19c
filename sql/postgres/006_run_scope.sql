-- qonversion-etl schema, version 6 (PostgreSQL): which cells a run covers, so that the run that
-- takes a lock can close the `running` rows of earlier runs of the same scope whose process is
-- gone (a SIGKILL, a power cut): no row stays `running` forever.
ALTER TABLE etl_runs ADD COLUMN projects text NOT NULL DEFAULT '[]';
ALTER TABLE etl_runs ADD COLUMN shard text NOT NULL DEFAULT 'all';

COMMENT ON COLUMN etl_runs.projects IS
    'Projects the run loaded, as a JSON array of their names, e.g. ["my-app"].';
COMMENT ON COLUMN etl_runs.shard IS
    '''K/N'' for a run with --shard K/N, ''all'' otherwise.';

-- Runs left `running` before this version knew their scope (killed by SIGKILL or a power cut)
-- can never be matched to a scope: they are closed here, once. A run of an older binary that
-- is really still going sets its own status again when it ends.
UPDATE etl_runs
   SET status = 'interrupted', finished_at = now(),
       message = 'left running by an earlier version (its process is gone); closed by schema migration 6'
 WHERE status = 'running';
