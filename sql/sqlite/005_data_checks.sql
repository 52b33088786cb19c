-- qonversion-etl schema, version 5 (SQLite): findings of the data checks (SPEC "Data checks").
-- One row per finding about one cell; the PostgreSQL migration has every column's comment.
CREATE TABLE etl_data_checks (
    run_id       TEXT    NOT NULL,
    snapshot_at  TEXT    NOT NULL,
    project      TEXT    NOT NULL,
    environment  INTEGER NOT NULL CHECK (environment IN (0, 1)),
    window_name  TEXT    NOT NULL,
    window_from  TEXT    NOT NULL,
    segment      TEXT    NOT NULL,
    check_name   TEXT    NOT NULL
        CHECK (check_name IN ('subset_exceeds_superset', 'empty_after_nonempty', 'count_decreased', 'large_change')),
    severity     TEXT    NOT NULL CHECK (severity IN ('warning', 'error')),
    metric       TEXT    NOT NULL,
    observed     REAL,
    expected     REAL,
    message      TEXT    NOT NULL
);
CREATE INDEX etl_data_checks_snapshot_idx ON etl_data_checks (snapshot_at, severity);
CREATE INDEX etl_data_checks_series_idx
    ON etl_data_checks (project, environment, window_name, segment, snapshot_at);
ALTER TABLE etl_runs ADD COLUMN data_check_findings INTEGER NOT NULL DEFAULT 0;
