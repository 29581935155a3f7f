-- Schema version 2: /sync (filters, to-device messages, lazy-loaded members).
-- The SQL of these tables lives in trioserver/db/filters.py, to_device.py and sync_*.py.

-- Filters uploaded with POST /user/{userId}/filter. filter_id is the ID the
-- client gets (as a string); one per distinct definition per user.
CREATE TABLE sync_filters (
    filter_id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    filter_json TEXT NOT NULL,          -- canonical JSON of the validated definition
    UNIQUE (user_id, filter_json)
) STRICT;

-- To-device messages waiting for their recipient device. stream_pos is the
-- to-device stream position (AUTOINCREMENT: never reused after deletion).
-- A message is deleted when the device syncs with a `since` at or past it.
CREATE TABLE to_device_messages (
    stream_pos INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL               -- JSON object
) STRICT;

CREATE INDEX to_device_messages_device ON to_device_messages (user_id, device_id, stream_pos);

-- Transaction IDs of PUT /sendToDevice (idempotent per sending device).
CREATE TABLE to_device_txns (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id)
) STRICT;

-- Lazy-loading members: the member event last sent to a device for each
-- member of a room, so a redundant one is not sent again.
CREATE TABLE sync_lazy_members (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, room_id, member_id)
) WITHOUT ROWID, STRICT;

-- A user's own member events by stream position (which rooms a user joined,
-- left or was invited to between two sync tokens), without scanning every
-- event: only state events are indexed.
CREATE INDEX events_state_key_stream ON events (state_key_nid, type_nid, stream_ordering)
    WHERE state_key_nid != 0 AND stream_ordering IS NOT NULL;
