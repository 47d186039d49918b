-- Up Migration
-- Additive only: extends the history view and adds indexes for the sensor and reaper.

-- The seed's "Recent Changes" query selects table_name from the history view,
-- which the seed's view lacks. CREATE OR REPLACE VIEW may only append columns,
-- so every existing column keeps its name, type and position.
CREATE OR REPLACE VIEW control.table_control_history_vw AS
SELECT
    h.history_id,
    h.config_id,
    encode(h.control_key, 'hex') AS control_key_hex,
    t.db_config_key,
    t.source_table_name,
    h.changed_at,
    h.changed_by,
    h.change_type,
    h.change_source,
    h.old_values,
    h.new_values,
    h.changed_fields,
    COALESCE(t.source_table_name, h.new_values ->> 'source_table_name', h.old_values ->> 'source_table_name') AS table_name
FROM control.table_control_history h
LEFT JOIN control.table_control t ON h.config_id = t.config_id;

-- The sensor's query (active, due, not Queued or In Progress, oldest first).
-- A partial index holds only the rows that can ever be due, ordered by due time,
-- so a tick reads the due rows in order and stops: its cost follows the number of
-- due rows, not the size of the table. Plan at 100,000 rows with 10,000 due
-- (test/migrations.test.ts asserts the shape of this plan):
--   Limit
--     ->  Index Scan using idx_table_control_due on table_control
--           Index Cond: (next_load_date_time <= CURRENT_TIMESTAMP)
-- Without it the same query is a Seq Scan over all 100,000 rows plus a sort.
CREATE INDEX IF NOT EXISTS idx_table_control_due
    ON control.table_control (next_load_date_time)
    WHERE is_active = true
      AND (last_status IS NULL OR last_status NOT IN ('Queued', 'In Progress'));

-- The reaper's queries (long queued, long running) and the per-source
-- concurrency count only ever look at in-flight rows: a small partial index.
CREATE INDEX IF NOT EXISTS idx_table_control_in_flight
    ON control.table_control (last_status, db_config_key)
    WHERE last_status IN ('Queued', 'In Progress');

-- Down Migration
DROP INDEX IF EXISTS control.idx_table_control_in_flight;
DROP INDEX IF EXISTS control.idx_table_control_due;
