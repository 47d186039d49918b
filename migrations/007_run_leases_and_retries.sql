-- Up Migration
-- Additive: run leases, transient-failure backoff, schedules that follow edits,
-- and an audit trail that ignores runtime-only writes by any writer.

-- Each attempt at a run holds a lease: lease_owner is the attempt's token,
-- lease_expires_at when the lease lapses unless renewed (the heartbeat renews
-- it). Heartbeat, progress, watermark and finish writes apply only while
-- lease_owner is the writer's token; another attempt takes the run over only
-- after lease_expires_at has passed.
ALTER TABLE control.table_control ADD COLUMN IF NOT EXISTS lease_owner VARCHAR(64);
ALTER TABLE control.table_control ADD COLUMN IF NOT EXISTS lease_expires_at TIMESTAMP;
-- Consecutive runs that failed transiently: picks the next backoff step
-- (RETRY_BACKOFF_MINUTES); a run that succeeds or fails terminally clears it.
ALTER TABLE control.table_control ADD COLUMN IF NOT EXISTS retry_count INTEGER;

-- The runtime columns, now with the lease and the retry count.
CREATE OR REPLACE FUNCTION control.table_control_runtime_columns()
RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
    SELECT ARRAY[
        'last_status', 'last_status_date_time', 'last_status_message',
        'last_load_date_time', 'next_load_date_time', 'incremental_value', 'load_full',
        'last_run_id', 'last_heartbeat_at', 'last_queued_at', 'last_dagster_run', 'last_databricks_run',
        'last_modified_at', 'lease_owner', 'lease_expires_at', 'retry_count'
    ]::text[]
$$;

-- Runtime-only changes are not audited whoever writes them: the loader (change
-- source 'runtime') and plain SQL alike (source 'sql': an orchestrator running
-- beside DataLoader on the same rows updates status, watermark and load times on
-- every run and must not flood table_control_history). Admin actions through the
-- API (status_reset, run_now, ...) carry their own change source and are still
-- audited, and any change of a configuration column is audited whoever makes it.
CREATE OR REPLACE FUNCTION control.audit_table_control()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_source text := COALESCE(NULLIF(current_setting('dataloader.change_source', true), ''), 'sql');
    v_user text := COALESCE(NULLIF(current_setting('dataloader.changed_by', true), ''), current_user);
    v_runtime text[] := control.table_control_runtime_columns();
    v_at timestamp := now() AT TIME ZONE 'UTC';
    v_columns text[];
BEGIN
    SELECT array_agg(attname::text ORDER BY attnum) INTO v_columns
      FROM pg_attribute
     WHERE attrelid = TG_RELID AND attnum > 0 AND NOT attisdropped;

    IF TG_OP = 'INSERT' THEN
        INSERT INTO control.table_control_history
            (control_key, config_id, changed_at, changed_by, change_type, change_source,
             old_values, new_values, changed_fields)
        SELECT COALESCE(n.control_key, '\x'::bytea), n.config_id, v_at, v_user, 'INSERT', v_source,
               NULL, j.new_values,
               ARRAY(SELECT c FROM unnest(v_columns) WITH ORDINALITY AS u(c, i)
                      WHERE j.new_values -> c <> 'null'::jsonb ORDER BY i)
          FROM new_rows n
         CROSS JOIN LATERAL (SELECT control.audit_row_values(to_jsonb(n), n.control_key) AS new_values
                               OFFSET 0) j;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO control.table_control_history
            (control_key, config_id, changed_at, changed_by, change_type, change_source,
             old_values, new_values, changed_fields)
        SELECT COALESCE(n.control_key, o.control_key, '\x'::bytea), n.config_id, v_at, v_user, 'UPDATE', v_source,
               j.old_values, j.new_values, d.changed_fields
          FROM old_rows o
          JOIN new_rows n ON n.config_id = o.config_id
                         -- Fast path for the sensor, loader and reaper: a runtime write that
                         -- leaves every configuration column as it was is dropped here, before
                         -- any row is turned into JSON. Plain SQL takes the exact path below
                         -- (every column compared), so a configuration column added later is
                         -- audited for it without touching these lists.
                         AND (v_source <> 'runtime'
                              OR (o.is_active, o.db_config_key, o.source_table_catalog, o.source_table_schema,
                                  o.source_table_name, o.query, o.destination_table_catalog,
                                  o.destination_table_schema, o.destination_table_name, o.load_strategy,
                                  o.load_cron, o.incremental_column, o.incremental_type, o.rolling_column,
                                  o.rolling_days, o.num_partitions, o.partition_column, o.lower_bound,
                                  o.upper_bound, o.primary_key_cols, o.created_at, o.create_user,
                                  o.last_modified_user)
                                 IS DISTINCT FROM
                                 (n.is_active, n.db_config_key, n.source_table_catalog, n.source_table_schema,
                                  n.source_table_name, n.query, n.destination_table_catalog,
                                  n.destination_table_schema, n.destination_table_name, n.load_strategy,
                                  n.load_cron, n.incremental_column, n.incremental_type, n.rolling_column,
                                  n.rolling_days, n.num_partitions, n.partition_column, n.lower_bound,
                                  n.upper_bound, n.primary_key_cols, n.created_at, n.create_user,
                                  n.last_modified_user))
         CROSS JOIN LATERAL (SELECT control.audit_row_values(to_jsonb(o), o.control_key) AS old_values,
                                    control.audit_row_values(to_jsonb(n), n.control_key) AS new_values
                             OFFSET 0) j
         CROSS JOIN LATERAL (SELECT ARRAY(SELECT c FROM unnest(v_columns) WITH ORDINALITY AS u(c, i)
                                           WHERE (j.old_values -> c) IS DISTINCT FROM (j.new_values -> c)
                                           ORDER BY i) AS changed_fields
                             OFFSET 0) d
         WHERE cardinality(d.changed_fields) > 0
           AND NOT (v_source IN ('runtime', 'sql') AND d.changed_fields <@ v_runtime);
    ELSE
        INSERT INTO control.table_control_history
            (control_key, config_id, changed_at, changed_by, change_type, change_source,
             old_values, new_values, changed_fields)
        SELECT COALESCE(o.control_key, '\x'::bytea), o.config_id, v_at, v_user, 'DELETE', v_source,
               j.old_values, NULL,
               ARRAY(SELECT c FROM unnest(v_columns) WITH ORDINALITY AS u(c, i)
                      WHERE j.old_values -> c <> 'null'::jsonb ORDER BY i)
          FROM old_rows o
         CROSS JOIN LATERAL (SELECT control.audit_row_values(to_jsonb(o), o.control_key) AS old_values
                               OFFSET 0) j;
    END IF;
    RETURN NULL;
END
$$;

-- Schedules follow edits: when load_cron changes or is_active turns back on,
-- and the same statement does not set next_load_date_time itself, the next time
-- is cleared so that the sensor computes it again from the cron within one tick
-- (a row that never loaded is due at once, others at their cron's next slot).
CREATE OR REPLACE FUNCTION control.reschedule_table_control()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF (NEW.load_cron IS DISTINCT FROM OLD.load_cron
        OR (NEW.is_active IS TRUE AND OLD.is_active IS DISTINCT FROM TRUE))
       AND NEW.next_load_date_time IS NOT DISTINCT FROM OLD.next_load_date_time THEN
        NEW.next_load_date_time := NULL;
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS table_control_reschedule ON control.table_control;
CREATE TRIGGER table_control_reschedule
    BEFORE UPDATE OF load_cron, is_active ON control.table_control
    FOR EACH ROW EXECUTE FUNCTION control.reschedule_table_control();

-- Dispatch on finish: a finishing load reads its source's due rows, oldest
-- first. Holds only the rows that can be due, like idx_table_control_due.
CREATE INDEX IF NOT EXISTS idx_table_control_due_by_source
    ON control.table_control (db_config_key, next_load_date_time)
    WHERE is_active = true
      AND (last_status IS NULL OR last_status NOT IN ('Queued', 'In Progress'));

-- Down Migration
DROP INDEX IF EXISTS control.idx_table_control_due_by_source;
DROP TRIGGER IF EXISTS table_control_reschedule ON control.table_control;
DROP FUNCTION IF EXISTS control.reschedule_table_control();
ALTER TABLE control.table_control DROP COLUMN IF EXISTS retry_count;
ALTER TABLE control.table_control DROP COLUMN IF EXISTS lease_expires_at;
ALTER TABLE control.table_control DROP COLUMN IF EXISTS lease_owner;
