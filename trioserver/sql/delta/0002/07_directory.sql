-- Room directory, user directory and full-text search (client-server API:
-- "Room aliases", "Listing rooms", "User directory", modules/search).

-- Local room aliases (#localpart:our.server) and who created them.
CREATE TABLE room_aliases (
    room_alias TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    creator TEXT NOT NULL,
    created_ts INTEGER NOT NULL
) STRICT;

CREATE INDEX room_aliases_room ON room_aliases (room_id);

-- Visibility of rooms in the published room directory. A room without a row
-- is private.
CREATE TABLE room_directory_visibility (
    room_id TEXT PRIMARY KEY,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'private'))
) STRICT;

CREATE INDEX room_directory_public ON room_directory_visibility (visibility, room_id);

-- Everything below is derived from the roomserver's output stream by the
-- directory indexer (trioserver/directory/indexer.py), which records here the
-- last stream position it has applied so it catches up after a restart.
CREATE TABLE directory_stream_positions (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL
) STRICT;

-- What the room directory, the user directory and the space hierarchy show
-- of each room, from its current state. NULL: the state event is absent (or
-- its value is not a string).
CREATE TABLE room_summaries (
    room_id TEXT PRIMARY KEY,
    name TEXT,
    topic TEXT,
    canonical_alias TEXT,
    avatar_url TEXT,
    join_rule TEXT,
    history_visibility TEXT,
    guest_access TEXT,
    room_type TEXT,
    encryption TEXT,
    room_version TEXT NOT NULL,
    joined_members INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Users joined to each room now (the user directory's "shares a room").
CREATE TABLE user_directory_rooms (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID, STRICT;

CREATE INDEX user_directory_rooms_user ON user_directory_rooms (user_id, room_id);

-- Display name and avatar of each user seen joined to a room, from their
-- latest join event (a local user's global profile takes precedence).
CREATE TABLE user_directory (
    user_id TEXT PRIMARY KEY,
    display_name TEXT,
    avatar_url TEXT
) STRICT;

-- The m.space.child entries of each room's current state with a valid `via`.
CREATE TABLE space_children (
    room_id TEXT NOT NULL,
    child_room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (room_id, child_room_id)
) WITHOUT ROWID, STRICT;

-- Full-text search of room events (modules/search.md). One row per indexed
-- event, keyed by its stream position; the FTS5 virtual table below shares
-- the rowid. FTS5 tables cannot be STRICT (nor can their shadow tables).
CREATE TABLE event_search_events (
    position INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    type TEXT NOT NULL,
    key TEXT NOT NULL,           -- content.body, content.name or content.topic
    origin_server_ts INTEGER NOT NULL
) STRICT;

CREATE INDEX event_search_events_room ON event_search_events (room_id, position);

CREATE VIRTUAL TABLE event_search USING fts5 (
    value,
    tokenize = 'unicode61 remove_diacritics 2'
);
