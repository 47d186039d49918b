-- Up Migration
-- The audit trail of configuration changes (guarantee 5): every INSERT, UPDATE
-- and DELETE of control.table_control writes control.table_control_history rows
-- in the same transaction, whoever makes it (the admin API or plain SQL).
--
-- Who and how come from transaction-local settings, set by the API with
-- set_config(..., true):
--   dataloader.change_source  bulk_edit, single_edit, clone, status_reset,
--                             toggle_active, promotion, run_now; 'runtime' for
--                             the sensor, loader and reaper (markRuntimeWrite)
--   dataloader.changed_by     the API caller's user name
-- Without them (plain SQL by an admin) the source is 'sql' and the user is the
-- database user.
--
-- Rows written:
--   old_values / new_values  to_jsonb of the whole row, control_key as hex;
--                            NULL old_values on INSERT, NULL new_values on DELETE.
--   changed_fields           UPDATE: the columns whose value changed, in column
--                            order. INSERT: the columns the new row holds a
--                            value in (non-NULL). DELETE: the non-NULL columns
--                            of the deleted row.
--   control_key              the row's key; an empty bytea ('\x') for a row that
--                            has none (a source name part is NULL), because the
--                            history column is NOT NULL and such a row must
--                            still be audited.
-- Not written:
--   * an UPDATE that changes nothing (no column differs);
--   * an UPDATE in a transaction marked change_source = 'runtime' when every
--     changed column is a runtime column (control.table_control_runtime_columns()):
--     status, timing, watermark and run tracking written by the sensor, loader
--     and reaper on every run are not configuration changes and would flood the
--     history. The same columns changed by anyone else (an admin's status reset,
--     or plain SQL) are audited, and a runtime transaction that also changes a
--     configuration column is audited whole.
--
-- The triggers are per statement with transition tables: one INSERT ... SELECT
-- writes the history of the whole statement, so a bulk edit of 10,000 rows
-- costs one statement, not 10,000 trigger calls. bench/api.bench.ts, 10,000 of
-- 100,000 rows on 2 busy cores: 106 ms without audit, 993 ms for a plain audited
-- UPDATE, 892 ms for the API's bulk edit (validation included); turning whole
-- rows into JSON is most of the difference.
-- Rows are matched by config_id; an UPDATE of config_id itself is not audited.
-- The OFFSET 0 fences keep the planner from inlining the row's JSON into every
-- column comparison (without them: 560 us per row instead of 25).

-- Columns the runtime writes on every run. A later migration that adds a
-- runtime column replaces this function with the longer list.
CREATE OR REPLACE FUNCTION control.table_control_runtime_columns()
RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
    SELECT ARRAY[
        'last_status', 'last_status_date_time', 'last_status_message',
        'last_load_date_time', 'next_load_date_time', 'incremental_value', 'load_full',
        'last_run_id', 'last_heartbeat_at', 'last_queued_at', 'last_dagster_run', 'last_databricks_run',
        'last_modified_at'
    ]::text[]
$$;

-- The whole row as JSON, control_key as hex (to_jsonb would give bytea's escape form).
CREATE OR REPLACE FUNCTION control.audit_row_values(row_values jsonb, control_key bytea)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT row_values || jsonb_build_object('control_key', encode(control_key, 'hex'))
$$;

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
                         -- any row is turned into JSON (a sensor claim of 10,000 rows spent more
                         -- than half its time in this trigger without it). A migration that adds
                         -- a configuration column to table_control extends both lists.
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
           AND NOT (v_source = 'runtime' AND d.changed_fields <@ v_runtime);
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

-- Transition tables allow one event per trigger, hence three triggers.
DROP TRIGGER IF EXISTS table_control_audit_insert ON control.table_control;
CREATE TRIGGER table_control_audit_insert
    AFTER INSERT ON control.table_control
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION control.audit_table_control();

DROP TRIGGER IF EXISTS table_control_audit_update ON control.table_control;
CREATE TRIGGER table_control_audit_update
    AFTER UPDATE ON control.table_control
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION control.audit_table_control();

DROP TRIGGER IF EXISTS table_control_audit_delete ON control.table_control;
CREATE TRIGGER table_control_audit_delete
    AFTER DELETE ON control.table_control
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION control.audit_table_control();

-- Plain SQL configuration edits keep last_modified_at / last_modified_user
-- current, as the API does. Only when no change source is set (the API and the
-- runtime set one), when the statement did not set last_modified_at itself,
-- and when a column other than the runtime ones changed. last_modified_at only
-- ever moves forward, so it can serve as the row's version (the API's ETag).
CREATE OR REPLACE FUNCTION control.stamp_table_control_modified()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_ignored text[];
BEGIN
    IF NULLIF(current_setting('dataloader.change_source', true), '') IS NOT NULL
       OR NEW.last_modified_at IS DISTINCT FROM OLD.last_modified_at THEN
        RETURN NEW;
    END IF;
    -- control_key is generated after BEFORE triggers run: never compare it here.
    v_ignored := control.table_control_runtime_columns() || ARRAY['control_key', 'last_modified_user'];
    IF (to_jsonb(NEW) - v_ignored) IS DISTINCT FROM (to_jsonb(OLD) - v_ignored) THEN
        NEW.last_modified_at := GREATEST(clock_timestamp() AT TIME ZONE 'UTC', OLD.last_modified_at + interval '1 microsecond');
        IF NEW.last_modified_user IS NOT DISTINCT FROM OLD.last_modified_user THEN
            NEW.last_modified_user := current_user;
        END IF;
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS table_control_stamp_modified ON control.table_control;
CREATE TRIGGER table_control_stamp_modified
    BEFORE UPDATE ON control.table_control
    FOR EACH ROW EXECUTE FUNCTION control.stamp_table_control_modified();

-- Connections are configuration too: the same trail for table_control_dbconfig,
-- in a table of its own (table_control_history's control_key is NOT NULL and
-- names a table row). Connection edits are rare: a row trigger is enough.
CREATE TABLE IF NOT EXISTS control.table_control_dbconfig_history (
    history_id BIGSERIAL PRIMARY KEY,
    db_config_key VARCHAR(100) NOT NULL,
    changed_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    changed_by VARCHAR(255),
    change_type VARCHAR(20) NOT NULL,
    change_source VARCHAR(50),
    old_values JSONB,
    new_values JSONB,
    changed_fields TEXT[]
);
CREATE INDEX IF NOT EXISTS idx_dbconfig_history_key_changed_at
    ON control.table_control_dbconfig_history (db_config_key, changed_at);

CREATE OR REPLACE FUNCTION control.audit_table_control_dbconfig()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_source text := COALESCE(NULLIF(current_setting('dataloader.change_source', true), ''), 'sql');
    v_user text := COALESCE(NULLIF(current_setting('dataloader.changed_by', true), ''), current_user);
    v_old jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    v_new jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    v_fields text[];
BEGIN
    SELECT ARRAY(
        SELECT attname::text FROM pg_attribute
         WHERE attrelid = TG_RELID AND attnum > 0 AND NOT attisdropped
           AND CASE TG_OP
                 WHEN 'UPDATE' THEN (v_old -> attname::text) IS DISTINCT FROM (v_new -> attname::text)
                 ELSE COALESCE(v_new, v_old) -> attname::text <> 'null'::jsonb
               END
         ORDER BY attnum) INTO v_fields;
    IF TG_OP = 'UPDATE' AND cardinality(v_fields) = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO control.table_control_dbconfig_history
        (db_config_key, changed_at, changed_by, change_type, change_source, old_values, new_values, changed_fields)
    VALUES (COALESCE(v_new, v_old) ->> 'db_config_key', now() AT TIME ZONE 'UTC', v_user, TG_OP, v_source,
            v_old, v_new, v_fields);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS table_control_dbconfig_audit ON control.table_control_dbconfig;
CREATE TRIGGER table_control_dbconfig_audit
    AFTER INSERT OR UPDATE OR DELETE ON control.table_control_dbconfig
    FOR EACH ROW EXECUTE FUNCTION control.audit_table_control_dbconfig();

-- Down Migration
DROP TRIGGER IF EXISTS table_control_dbconfig_audit ON control.table_control_dbconfig;
DROP FUNCTION IF EXISTS control.audit_table_control_dbconfig();
DROP TRIGGER IF EXISTS table_control_stamp_modified ON control.table_control;
DROP FUNCTION IF EXISTS control.stamp_table_control_modified();
DROP TRIGGER IF EXISTS table_control_audit_delete ON control.table_control;
DROP TRIGGER IF EXISTS table_control_audit_update ON control.table_control;
DROP TRIGGER IF EXISTS table_control_audit_insert ON control.table_control;
DROP FUNCTION IF EXISTS control.audit_table_control();
DROP FUNCTION IF EXISTS control.audit_row_values(jsonb, bytea);
DROP FUNCTION IF EXISTS control.table_control_runtime_columns();
