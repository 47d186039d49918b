-- Up Migration
-- A lookback per table for late commits (guarantee 4), where the source cannot
-- say which transactions are still open: how far before the watermark each
-- incremental or append_only read starts. Text, checked by the API and the
-- loader against incremental_type:
--   timestamp, date:   an interval, `90 seconds`, `10 minutes`, `2 hours`, `1 day`, `0`
--   integer, decimal:  an amount of values, `5000`, `0`
-- NULL: the INCREMENTAL_LOOKBACK_MINUTES setting (time) or 1000 values (numeric).
-- A configuration column: audited like the others (the audit trigger reads the
-- table's columns when it runs; the runtime never writes this one, so the
-- trigger's runtime fast path needs no change).
ALTER TABLE control.table_control ADD COLUMN IF NOT EXISTS incremental_lookback VARCHAR(64);

COMMENT ON COLUMN control.table_control.incremental_lookback IS
    'How far before the watermark reads start (interval for time watermarks, amount for numeric); NULL: the setting';
