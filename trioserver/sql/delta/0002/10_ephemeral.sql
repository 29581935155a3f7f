-- Schema version 2: receipts, push rules and pushers.
-- The SQL of these tables lives in trioserver/db/receipts.py, push_rules.py and pushers.py.
-- Typing notifications and presence are kept in memory only.

-- One row per (room, user, receipt type, thread): a new receipt replaces the
-- old one and takes the next position of the receipts stream. thread_id ''
-- is an unthreaded receipt. event_position is the stream position of the
-- event the receipt is for (what unread counts compare against).
CREATE TABLE receipts (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    receipt_type TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_position INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    stream_pos INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id, receipt_type, thread_id)
) STRICT;

CREATE INDEX receipts_room_stream ON receipts (room_id, stream_pos);

CREATE TABLE receipts_stream (
    lock INTEGER PRIMARY KEY CHECK (lock = 1),
    position INTEGER NOT NULL
) STRICT;

INSERT INTO receipts_stream (lock, position) VALUES (1, 0);

-- User-defined push rules (server-default rules live in code). priority
-- orders the rules of one kind: lower first. rule holds the kind's own keys
-- as JSON (conditions, or pattern); actions the JSON array of actions.
CREATE TABLE push_rules (
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('override', 'content', 'room', 'sender', 'underride')),
    rule_id TEXT NOT NULL,
    priority INTEGER NOT NULL,
    rule TEXT NOT NULL,
    actions TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    PRIMARY KEY (user_id, kind, rule_id)
) STRICT;

-- A user's changes to server-default rules: enabled and/or actions (NULL: the default).
CREATE TABLE push_rule_defaults (
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    enabled INTEGER CHECK (enabled IN (0, 1)),
    actions TEXT,
    PRIMARY KEY (user_id, kind, rule_id)
) STRICT;

-- Pushers (POST /pushers/set). Delivery to push gateways is not done yet.
CREATE TABLE pushers (
    user_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    pushkey TEXT NOT NULL,
    kind TEXT NOT NULL,
    app_display_name TEXT NOT NULL,
    device_display_name TEXT NOT NULL,
    profile_tag TEXT,
    lang TEXT NOT NULL,
    data TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    PRIMARY KEY (app_id, pushkey, user_id)
) STRICT;

CREATE INDEX pushers_user ON pushers (user_id);
