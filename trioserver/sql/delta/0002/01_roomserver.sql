-- Schema version 2: the roomserver's storage (numeric IDs, events, state snapshots).
-- Never edit once released: later changes go in a later delta.
--
-- Conventions:
-- * Every NID is an INTEGER PRIMARY KEY > 0; 0 means "none" wherever a NID column
--   allows it (events.state_key_nid = 0: not a state event; a state block entry
--   with event_nid = 0: the key is removed).
-- * Everything hangs off a room NID (directly, or through an event NID or a
--   snapshot/block NID owned by one room), so a room can be purged table by table.
-- * The SQL of these tables lives in trioserver/db/roomserver_*.py.

-- One row per room we know of.
CREATE TABLE rooms (
    room_nid INTEGER PRIMARY KEY CHECK (room_nid > 0),
    room_id TEXT NOT NULL UNIQUE,
    room_version TEXT NOT NULL,
    -- The snapshot of the room's current state (NULL until the first state is stored).
    current_snapshot_nid INTEGER,
    -- Stream position of the room's newest event visible to clients (0: none yet).
    last_stream_ordering INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Event types. NIDs 1..999 are reserved for well-known types assigned here;
-- types first seen at run time get NIDs from 1000 up (see roomserver_nids.py).
CREATE TABLE event_types (
    type_nid INTEGER PRIMARY KEY CHECK (type_nid > 0),
    type TEXT NOT NULL UNIQUE
) STRICT;

INSERT INTO event_types (type_nid, type) VALUES
    (1, 'm.room.create'),
    (2, 'm.room.power_levels'),
    (3, 'm.room.join_rules'),
    (4, 'm.room.third_party_invite'),
    (5, 'm.room.member'),
    (6, 'm.room.redaction'),
    (7, 'm.room.history_visibility'),
    (8, 'm.room.name'),
    (9, 'm.room.topic'),
    (10, 'm.room.canonical_alias'),
    (11, 'm.room.avatar'),
    (12, 'm.room.encryption'),
    (13, 'm.room.guest_access'),
    (14, 'm.room.server_acl'),
    (15, 'm.room.tombstone'),
    (16, 'm.room.pinned_events'),
    (17, 'm.space.child'),
    (18, 'm.space.parent'),
    (19, 'm.room.message'),
    (20, 'm.reaction'),
    (21, 'm.room.encrypted'),
    (22, 'm.sticker');

-- State keys (user IDs for memberships, "" for most state). "" is NID 1.
CREATE TABLE event_state_keys (
    state_key_nid INTEGER PRIMARY KEY CHECK (state_key_nid > 0),
    state_key TEXT NOT NULL UNIQUE
) STRICT;

INSERT INTO event_state_keys (state_key_nid, state_key) VALUES (1, '');

-- Event ID <-> event NID. A NID can be assigned before the event itself is
-- stored (a prev or auth event we have not fetched yet), so edges are NID pairs.
CREATE TABLE event_ids (
    event_nid INTEGER PRIMARY KEY CHECK (event_nid > 0),
    event_id TEXT NOT NULL UNIQUE,
    room_nid INTEGER NOT NULL REFERENCES rooms (room_nid)
) STRICT;

CREATE INDEX event_ids_room ON event_ids (room_nid);

-- Stored events (PDUs). Invariants (CHECKed):
-- * stream_ordering is set exactly for events clients may see: not outliers,
--   not rejected, not soft-failed; it is unique and grows in commit order.
-- * outliers have no state snapshots; other events have both.
CREATE TABLE events (
    event_nid INTEGER PRIMARY KEY REFERENCES event_ids (event_nid),
    room_nid INTEGER NOT NULL REFERENCES rooms (room_nid),
    type_nid INTEGER NOT NULL REFERENCES event_types (type_nid),
    state_key_nid INTEGER NOT NULL DEFAULT 0,   -- 0: not a state event
    depth INTEGER NOT NULL,
    origin_server_ts INTEGER NOT NULL,
    sender TEXT NOT NULL,
    stream_ordering INTEGER,
    is_outlier INTEGER NOT NULL DEFAULT 0 CHECK (is_outlier IN (0, 1)),
    rejected_reason TEXT,                       -- NULL: accepted
    is_soft_failed INTEGER NOT NULL DEFAULT 0 CHECK (is_soft_failed IN (0, 1)),
    redacted_by INTEGER,                        -- event NID of a redaction applying to it
    state_before_snapshot_nid INTEGER REFERENCES state_snapshots (snapshot_nid),
    state_after_snapshot_nid INTEGER REFERENCES state_snapshots (snapshot_nid),
    received_ts INTEGER NOT NULL,
    json TEXT NOT NULL,                         -- canonical JSON of the PDU as received
    CHECK (stream_ordering IS NULL
           OR (is_outlier = 0 AND rejected_reason IS NULL AND is_soft_failed = 0)),
    CHECK ((is_outlier = 1) = (state_before_snapshot_nid IS NULL)),
    CHECK ((is_outlier = 1) = (state_after_snapshot_nid IS NULL))
) STRICT;

CREATE UNIQUE INDEX events_stream ON events (stream_ordering)
    WHERE stream_ordering IS NOT NULL;
CREATE INDEX events_room_stream ON events (room_nid, stream_ordering)
    WHERE stream_ordering IS NOT NULL;

-- prev_events: the DAG, for forward extremities and backfill.
CREATE TABLE event_edges (
    event_nid INTEGER NOT NULL REFERENCES event_ids (event_nid),
    prev_event_nid INTEGER NOT NULL,
    PRIMARY KEY (event_nid, prev_event_nid)
) WITHOUT ROWID, STRICT;

CREATE INDEX event_edges_prev ON event_edges (prev_event_nid);

-- auth_events, walked by the auth chain query.
CREATE TABLE event_auth (
    event_nid INTEGER NOT NULL REFERENCES event_ids (event_nid),
    auth_event_nid INTEGER NOT NULL,
    PRIMARY KEY (event_nid, auth_event_nid)
) WITHOUT ROWID, STRICT;

-- A state block: a set of (type, state key) -> event entries, content-addressed
-- within its room (content_hash = SHA-256 of the sorted entries) so identical
-- blocks are stored once and shared by every snapshot that needs them.
CREATE TABLE state_blocks (
    block_nid INTEGER PRIMARY KEY CHECK (block_nid > 0),
    room_nid INTEGER NOT NULL REFERENCES rooms (room_nid),
    content_hash BLOB NOT NULL,
    entry_count INTEGER NOT NULL,
    UNIQUE (room_nid, content_hash)
) STRICT;

CREATE TABLE state_block_entries (
    block_nid INTEGER NOT NULL REFERENCES state_blocks (block_nid),
    type_nid INTEGER NOT NULL,
    state_key_nid INTEGER NOT NULL,
    event_nid INTEGER NOT NULL,                 -- 0: the key is removed
    PRIMARY KEY (block_nid, type_nid, state_key_nid)
) WITHOUT ROWID, STRICT;

-- A state snapshot: an ordered list of at most 64 blocks; a later block
-- overrides an earlier one for the same (type, state key). Deduplicated by
-- the hash of its block list.
CREATE TABLE state_snapshots (
    snapshot_nid INTEGER PRIMARY KEY CHECK (snapshot_nid > 0),
    room_nid INTEGER NOT NULL REFERENCES rooms (room_nid),
    content_hash BLOB NOT NULL,
    UNIQUE (room_nid, content_hash)
) STRICT;

CREATE TABLE state_snapshot_blocks (
    snapshot_nid INTEGER NOT NULL REFERENCES state_snapshots (snapshot_nid),
    position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 63),
    block_nid INTEGER NOT NULL,
    PRIMARY KEY (snapshot_nid, position)
) WITHOUT ROWID, STRICT;

-- Derived: the room's current state, flattened (kept equal to
-- rooms.current_snapshot_nid by roomserver_current.py).
CREATE TABLE current_state (
    room_nid INTEGER NOT NULL REFERENCES rooms (room_nid),
    type_nid INTEGER NOT NULL,
    state_key_nid INTEGER NOT NULL,
    event_nid INTEGER NOT NULL CHECK (event_nid > 0),
    PRIMARY KEY (room_nid, type_nid, state_key_nid)
) WITHOUT ROWID, STRICT;

-- Derived: the m.room.member entries of current_state with their membership.
CREATE TABLE memberships (
    room_nid INTEGER NOT NULL REFERENCES rooms (room_nid),
    user_nid INTEGER NOT NULL,                  -- state key NID of the user ID
    membership TEXT NOT NULL
        CHECK (membership IN ('invite', 'join', 'leave', 'ban', 'knock')),
    event_nid INTEGER NOT NULL,
    server_name TEXT NOT NULL,                  -- the user's server, for "servers in room"
    PRIMARY KEY (room_nid, user_nid)
) WITHOUT ROWID, STRICT;

CREATE INDEX memberships_user ON memberships (user_nid, membership);
CREATE INDEX memberships_room ON memberships (room_nid, membership, server_name);

-- The room's forward extremities: events with no known successor.
CREATE TABLE forward_extremities (
    room_nid INTEGER NOT NULL REFERENCES rooms (room_nid),
    event_nid INTEGER NOT NULL,
    PRIMARY KEY (room_nid, event_nid)
) WITHOUT ROWID, STRICT;
