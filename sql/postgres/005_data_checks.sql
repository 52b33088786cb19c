-- qonversion-etl schema, version 5 (PostgreSQL): findings of the data checks (SPEC "Data
-- checks"). A check never changes customer_metrics; it records here what contradicts the rest of
-- the snapshot or the series' previous snapshot. A re-check of a snapshot replaces its findings.

CREATE TABLE etl_data_checks (
    run_id       text             NOT NULL,
    snapshot_at  timestamptz      NOT NULL,
    project      text             NOT NULL,
    environment  smallint         NOT NULL CHECK (environment IN (0, 1)),
    window_name  text             NOT NULL,
    window_from  timestamptz      NOT NULL,
    segment      text             NOT NULL,
    check_name   text             NOT NULL
        CHECK (check_name IN ('subset_exceeds_superset', 'empty_after_nonempty', 'count_decreased', 'large_change')),
    severity     text             NOT NULL CHECK (severity IN ('warning', 'error')),
    metric       text             NOT NULL,
    observed     double precision,
    expected     double precision,
    message      text             NOT NULL
);

-- "Findings of the latest snapshot" (a dashboard card, the alert's drill-down).
CREATE INDEX etl_data_checks_snapshot_idx ON etl_data_checks (snapshot_at, severity);
-- "Findings of one series", in the series key order of customer_metrics_series_idx.
CREATE INDEX etl_data_checks_series_idx
    ON etl_data_checks (project, environment, window_name, segment, snapshot_at);

ALTER TABLE etl_runs ADD COLUMN data_check_findings bigint NOT NULL DEFAULT 0;

COMMENT ON TABLE etl_data_checks IS
    'Findings of qonversion-etl''s data checks: one row per cell whose stored numbers contradict another cell of the same snapshot or the previous snapshot of its series. Checks never change customer_metrics; re-checking a snapshot replaces its findings.';
COMMENT ON COLUMN etl_data_checks.run_id IS
    'The run (or check command) that recorded the finding (see etl_runs.run_id).';
COMMENT ON COLUMN etl_data_checks.snapshot_at IS
    'Snapshot of the cell the finding is about (customer_metrics.snapshot_at).';
COMMENT ON COLUMN etl_data_checks.project IS
    'Project of the cell the finding is about.';
COMMENT ON COLUMN etl_data_checks.environment IS
    'Environment of the cell the finding is about: 0 = sandbox, 1 = production.';
COMMENT ON COLUMN etl_data_checks.window_name IS
    'First-seen window of the cell the finding is about.';
COMMENT ON COLUMN etl_data_checks.window_from IS
    'Start of that cell''s first-seen range (UTC); tells cohort buckets apart.';
COMMENT ON COLUMN etl_data_checks.segment IS
    'Filters of the cell the finding is about, as in customer_metrics.segment.';
COMMENT ON COLUMN etl_data_checks.check_name IS
    'subset_exceeds_superset, empty_after_nonempty, count_decreased or large_change (README: Data checks).';
COMMENT ON COLUMN etl_data_checks.severity IS
    'error: impossible for a consistent API; warning: unusual, worth a look. [checks] fail_on decides which fail the run (exit 65).';
COMMENT ON COLUMN etl_data_checks.metric IS
    'The customer_metrics column the finding is about, e.g. active_subscribers.';
COMMENT ON COLUMN etl_data_checks.observed IS
    'The cell''s stored value of that metric.';
COMMENT ON COLUMN etl_data_checks.expected IS
    'What the check compared it with: the superset cell''s value, or the previous snapshot''s value of the series.';
COMMENT ON COLUMN etl_data_checks.message IS
    'One line saying what was found, naming the other cell or snapshot.';
COMMENT ON COLUMN etl_runs.data_check_findings IS
    'Data-check findings (warnings and errors) recorded for the run''s snapshot after it (see etl_data_checks).';
