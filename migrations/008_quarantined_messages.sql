-- Up Migration
-- Load messages the loader could not read (not a load message at all, or one
-- missing its config_id or run_id). The Azure trigger cannot dead-letter, so
-- it keeps each one here, where an admin sees it, instead of completing it
-- silently. One row per message: a redelivery of the same message is not
-- counted twice.
CREATE TABLE IF NOT EXISTS control.quarantined_messages (
    id BIGSERIAL PRIMARY KEY,
    queue_name VARCHAR(255) NOT NULL,
    message_id VARCHAR(255) NOT NULL,
    delivery_count INTEGER,
    reason TEXT NOT NULL,
    -- The body as received, at most 64 KiB (a load message carries no secret).
    body TEXT,
    quarantined_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    CONSTRAINT uq_quarantined_messages UNIQUE (queue_name, message_id)
);

-- The count an admin (or a dashboard) checks: all, in the last day, and the latest.
CREATE OR REPLACE VIEW control.quarantined_messages_vw AS
SELECT count(*)::bigint AS quarantined,
       count(*) FILTER (WHERE quarantined_at > (now() AT TIME ZONE 'UTC') - interval '1 day')::bigint AS last_day,
       max(quarantined_at) AS latest
  FROM control.quarantined_messages;

-- Down Migration
DROP VIEW IF EXISTS control.quarantined_messages_vw;
DROP TABLE IF EXISTS control.quarantined_messages;
