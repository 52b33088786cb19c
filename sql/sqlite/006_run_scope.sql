-- qonversion-etl schema, version 6 (SQLite): which cells a run covers (stale-run closing).
-- projects: JSON array of the project names; shard: 'K/N' or 'all'.
ALTER TABLE etl_runs ADD COLUMN projects TEXT NOT NULL DEFAULT '[]';
ALTER TABLE etl_runs ADD COLUMN shard TEXT NOT NULL DEFAULT 'all';
