-- Up Migration
-- Additive tables the loader keeps beside table_control.

-- chunked_backfill: one row per finished chunk, written after the chunk's
-- destination transaction committed. plan_key identifies the chunk plan
-- (partition_column, lower_bound, upper_bound, num_partitions): changing any of
-- them starts a new plan; a crash resumes at the first chunk without a row.
CREATE TABLE IF NOT EXISTS control.backfill_progress (
    config_id BIGINT NOT NULL,
    plan_key TEXT NOT NULL,
    chunk_index INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    lower_value TEXT,
    upper_value TEXT,
    rows_loaded BIGINT NOT NULL DEFAULT 0,
    run_id VARCHAR(255),
    completed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (config_id, plan_key, chunk_index)
);

-- check_and_load: the source signature (row count and the maximum of a column)
-- of the last load that reached the destination.
CREATE TABLE IF NOT EXISTS control.load_signature (
    config_id BIGINT PRIMARY KEY,
    signature TEXT NOT NULL,
    run_id VARCHAR(255),
    recorded_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- Down Migration
DROP TABLE IF EXISTS control.load_signature;
DROP TABLE IF EXISTS control.backfill_progress;
