-- Up Migration
-- Additive columns for run tracking on table_control.
--   last_run_id:       the run the row is Queued or In Progress for (messages carry it;
--                      a message whose run id no longer matches is stale and changes nothing).
--   last_heartbeat_at: refreshed by a running load; the reaper's running clock counts from it.
ALTER TABLE control.table_control ADD COLUMN IF NOT EXISTS last_run_id VARCHAR(255);
ALTER TABLE control.table_control ADD COLUMN IF NOT EXISTS last_heartbeat_at TIMESTAMP;

-- One table's runs, newest first (the "Execution History" query and the API's run view).
CREATE INDEX IF NOT EXISTS idx_historical_metadata_control_key_start
    ON control.historical_metadata (control_key, load_start_time DESC);
CREATE INDEX IF NOT EXISTS idx_historical_metadata_run_id
    ON control.historical_metadata (run_id);

-- Down Migration
DROP INDEX IF EXISTS control.idx_historical_metadata_run_id;
DROP INDEX IF EXISTS control.idx_historical_metadata_control_key_start;
ALTER TABLE control.table_control DROP COLUMN IF EXISTS last_heartbeat_at;
ALTER TABLE control.table_control DROP COLUMN IF EXISTS last_run_id;
