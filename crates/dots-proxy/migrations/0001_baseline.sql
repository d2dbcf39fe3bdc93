-- The schema as dots-proxy created it before versioned migrations (every statement is
-- "IF NOT EXISTS", so a database made by an earlier version adopts this as its version 1).
-- One set for SQLite and PostgreSQL: TEXT and BIGINT only.

CREATE TABLE IF NOT EXISTS identities (
    id TEXT PRIMARY KEY,
    dots_user_id TEXT,
    created_ms BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS flows (
    id TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    steps TEXT NOT NULL,
    completed_steps TEXT NOT NULL,
    user_id TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS flows_by_identity ON flows (identity);

CREATE TABLE IF NOT EXISTS webhook_messages (
    svix_id TEXT PRIMARY KEY,
    received_ms BIGINT NOT NULL
);

-- Each identity's events are numbered 1, 2, 3... with no gap, the number taken from its counter
-- row in the transaction that stores the event: the row stays locked until that transaction
-- ends, so an identity's events commit in their numbers' order on every instance.
CREATE TABLE IF NOT EXISTS event_counters (
    identity TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS identity_events (
    identity TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (identity, seq)
);
CREATE INDEX IF NOT EXISTS identity_events_by_age ON identity_events (created_ms);

CREATE TABLE IF NOT EXISTS payments (
    reference TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL,
    user_id TEXT NOT NULL,
    amount BIGINT NOT NULL,
    transfer_id TEXT,
    created_ms BIGINT NOT NULL
);

-- What each flow was created from (the request sent to Dots), so a page rendered again can
-- reuse an unexpired flow instead of creating one per view.
CREATE TABLE IF NOT EXISTS flow_requests (
    flow_id TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    request_key TEXT NOT NULL,
    usable_until_ms BIGINT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS flow_requests_by_key ON flow_requests (identity, request_key);

-- The one event log of versions before the per-identity numbering (issue 15): kept here, empty
-- where it never existed, so that the next migration can carry its events over on every
-- database alike.
CREATE TABLE IF NOT EXISTS events (
    seq BIGINT NOT NULL,
    identity TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
