-- Up Migration
-- The Lakebase control schema exactly as production and pre-production hold it.
-- Every statement is idempotent: on a database that already has the schema (the
-- production baseline) this migration changes nothing and is recorded as applied.

CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA IF NOT EXISTS control;

CREATE TABLE IF NOT EXISTS control.table_control_dbconfig (
    db_config_key VARCHAR(100) PRIMARY KEY,
    db_config_value JSONB NOT NULL,
    db_type VARCHAR(50) NOT NULL,
    db_kv_scope VARCHAR(100) DEFAULT 'azure-keyvault',
    default_target_schema VARCHAR(255),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_modified_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    create_user VARCHAR(255),
    last_modified_user VARCHAR(255)
);

CREATE TABLE IF NOT EXISTS control.table_control (
    config_id BIGSERIAL PRIMARY KEY,
    control_key BYTEA GENERATED ALWAYS AS (
        digest(source_table_catalog || source_table_schema || source_table_name, 'sha256')
    ) STORED,
    is_active BOOLEAN DEFAULT false NOT NULL,
    last_status VARCHAR(255),
    db_config_key VARCHAR(255),
    source_table_catalog VARCHAR(255),
    source_table_schema VARCHAR(255),
    source_table_name VARCHAR(255),
    query TEXT,
    destination_table_catalog VARCHAR(255),
    destination_table_schema VARCHAR(255),
    destination_table_name VARCHAR(255),
    load_strategy VARCHAR(255),
    load_full VARCHAR(255),
    load_cron VARCHAR(255),
    incremental_column TEXT,
    incremental_type VARCHAR(255),
    incremental_value VARCHAR(255),
    rolling_column TEXT,
    rolling_days INTEGER,
    num_partitions INTEGER,
    partition_column TEXT,
    lower_bound VARCHAR(255),
    upper_bound VARCHAR(255),
    primary_key_cols TEXT,
    last_load_date_time TIMESTAMP,
    next_load_date_time TIMESTAMP,
    last_status_date_time TIMESTAMP,
    last_status_message TEXT,
    last_dagster_run VARCHAR(500),
    last_databricks_run VARCHAR(500),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_modified_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    create_user VARCHAR(255),
    last_modified_user VARCHAR(255)
);

CREATE TABLE IF NOT EXISTS control.historical_metadata (
    id BIGSERIAL PRIMARY KEY,
    control_key BYTEA NOT NULL,
    run_id VARCHAR(255),
    load_queued_time TIMESTAMP,
    load_start_time TIMESTAMP,
    load_end_time TIMESTAMP,
    total_duration INTEGER,
    source_catalog VARCHAR(255),
    source_schema VARCHAR(255),
    source_table VARCHAR(255),
    target_catalog VARCHAR(255),
    target_schema VARCHAR(255),
    target_table VARCHAR(255),
    rows_processed BIGINT DEFAULT 0,
    load_status VARCHAR(255),
    log_message TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS control.table_control_history (
    history_id BIGSERIAL PRIMARY KEY,
    control_key BYTEA NOT NULL,
    config_id BIGINT,
    changed_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    changed_by VARCHAR(255),
    change_type VARCHAR(20) NOT NULL,
    change_source VARCHAR(50),
    old_values JSONB,
    new_values JSONB,
    changed_fields TEXT[]
);

-- The seed's view. A later migration extends it additively; on a database that
-- already has it, the existing definition is kept here.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_views
        WHERE schemaname = 'control' AND viewname = 'table_control_history_vw'
    ) THEN
        CREATE VIEW control.table_control_history_vw AS
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
            h.changed_fields
        FROM control.table_control_history h
        LEFT JOIN control.table_control t ON h.config_id = t.config_id;
    END IF;
END
$$;

CREATE INDEX IF NOT EXISTS idx_table_control_control_key ON control.table_control (control_key);
CREATE INDEX IF NOT EXISTS idx_history_control_key ON control.table_control_history (control_key);
CREATE INDEX IF NOT EXISTS idx_history_config_id ON control.table_control_history (config_id);
CREATE INDEX IF NOT EXISTS idx_history_changed_at ON control.table_control_history (changed_at);
CREATE INDEX IF NOT EXISTS idx_history_changed_by ON control.table_control_history (changed_by);

-- The one foreign key, added only when no equivalent constraint exists yet
-- (production may have it under another name).
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE contype = 'f'
          AND conrelid = 'control.table_control'::regclass
          AND confrelid = 'control.table_control_dbconfig'::regclass
    ) THEN
        ALTER TABLE control.table_control
            ADD CONSTRAINT fk_table_control_db_config_key
            FOREIGN KEY (db_config_key)
            REFERENCES control.table_control_dbconfig (db_config_key)
            ON DELETE SET NULL ON UPDATE CASCADE;
    END IF;
END
$$;

-- Down Migration
-- The control schema is production data: it is never dropped by a migration.
