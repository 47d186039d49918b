-- Up Migration
-- Additive only: what the sensor, the reaper and the local queue need.

-- When the sensor queued the row's current run. The reaper fills the history
-- row's load_queued_time from it when it fails a run that had started.
ALTER TABLE control.table_control ADD COLUMN IF NOT EXISTS last_queued_at TIMESTAMP;

-- Active rows with a cron that have no next load time yet: the sensor computes
-- their first time. Small (a row leaves it as soon as it is scheduled), so a
-- tick finds them without reading the whole table.
CREATE INDEX IF NOT EXISTS idx_table_control_unscheduled
    ON control.table_control (config_id)
    WHERE is_active = true
      AND next_load_date_time IS NULL
      AND load_cron IS NOT NULL;

-- The sensor's transactional outbox. A claim sets a row Queued and inserts its
-- message here in the same transaction, so no row is ever Queued without a
-- message; sending happens after commit and marks sent_at. A crash between a
-- send and its mark only causes a re-send, which the queue's duplicate
-- detection drops (message_id is deterministic per row and schedule slot).
CREATE TABLE IF NOT EXISTS control.load_outbox (
    message_id VARCHAR(255) PRIMARY KEY,
    config_id BIGINT NOT NULL,
    body JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at TIMESTAMPTZ
);
-- Unsent messages, oldest first: what every tick sends.
CREATE INDEX IF NOT EXISTS idx_load_outbox_unsent
    ON control.load_outbox (created_at)
    WHERE sent_at IS NULL;
-- Sent messages, for pruning after the retention window.
CREATE INDEX IF NOT EXISTS idx_load_outbox_sent
    ON control.load_outbox (sent_at)
    WHERE sent_at IS NOT NULL;

-- The durable local queue (used when no Service Bus namespace is configured).
-- Peek-lock: receiving a message pushes visible_at forward by the lock time
-- and sets a lock token; completing needs the token. A lock that expires makes
-- the message visible again, with delivery_count counting the deliveries.
-- Completed rows stay for the duplicate-detection window, so that a late
-- re-send of the same message_id is still dropped, then they are pruned.
-- Dead-lettered rows stay until an operator removes them.
CREATE TABLE IF NOT EXISTS control.local_queue (
    id BIGSERIAL PRIMARY KEY,
    queue_name VARCHAR(255) NOT NULL,
    message_id VARCHAR(255) NOT NULL,
    body JSONB NOT NULL,
    state VARCHAR(20) NOT NULL DEFAULT 'active'
        CONSTRAINT ck_local_queue_state CHECK (state IN ('active', 'completed', 'dead_lettered')),
    enqueued_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    visible_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    lock_token UUID,
    delivery_count INTEGER NOT NULL DEFAULT 0,
    settled_at TIMESTAMPTZ,
    dead_letter_reason TEXT,
    CONSTRAINT uq_local_queue_message UNIQUE (queue_name, message_id)
);
-- Receivers read the visible active messages of one queue in order.
CREATE INDEX IF NOT EXISTS idx_local_queue_visible
    ON control.local_queue (queue_name, visible_at, id)
    WHERE state = 'active';
-- Pruning of completed messages past the duplicate-detection window.
CREATE INDEX IF NOT EXISTS idx_local_queue_completed
    ON control.local_queue (settled_at)
    WHERE state = 'completed';

-- Down Migration
DROP TABLE IF EXISTS control.local_queue;
DROP TABLE IF EXISTS control.load_outbox;
DROP INDEX IF EXISTS control.idx_table_control_unscheduled;
ALTER TABLE control.table_control DROP COLUMN IF EXISTS last_queued_at;
