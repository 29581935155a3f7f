-- Schema version 2: the client-server API's room tables (rooms core).
-- The SQL of these tables lives in trioserver/db/room_txns.py and room_forgotten.py.

-- Transaction IDs of event-sending requests (spec: "Transaction identifiers"):
-- scoped to a device and an endpoint path (scope, e.g. "send\x1f!room\x1ftype").
-- Written by the roomserver in the same transaction as the event it names.
CREATE TABLE room_txn_ids (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id, scope, txn_id)
) STRICT;

CREATE INDEX room_txn_ids_event ON room_txn_ids (event_id);

-- Rooms a user has forgotten (POST /rooms/{roomId}/forget). Cleared when the
-- user joins, is invited to or knocks on the room again.
CREATE TABLE room_forgotten (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    forgotten_ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id)
) STRICT;
