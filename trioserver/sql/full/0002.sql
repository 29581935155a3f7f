-- trioserver schema, version 1 (full snapshot).
-- Never edit once released: later changes go in delta/NNNN/.

-- The server's ed25519 signing keys. The current key has expired_ts NULL;
-- old keys are kept so remote servers can verify what we signed with them.
CREATE TABLE server_signing_keys (
    key_id TEXT PRIMARY KEY,            -- "ed25519:<version>"
    seed BLOB NOT NULL,                 -- the 32-byte ed25519 seed
    created_ts INTEGER NOT NULL,
    expired_ts INTEGER                  -- NULL while current
) STRICT;

CREATE UNIQUE INDEX server_signing_keys_current
    ON server_signing_keys ((expired_ts IS NULL)) WHERE expired_ts IS NULL;

-- Local accounts.
CREATE TABLE users (
    user_id TEXT PRIMARY KEY,           -- full MXID
    password_hash TEXT,                 -- argon2id; NULL: no password login
    is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    is_guest INTEGER NOT NULL DEFAULT 0 CHECK (is_guest IN (0, 1)),
    deactivated INTEGER NOT NULL DEFAULT 0 CHECK (deactivated IN (0, 1)),
    created_ts INTEGER NOT NULL
) STRICT;

CREATE TABLE devices (
    user_id TEXT NOT NULL REFERENCES users (user_id),
    device_id TEXT NOT NULL,
    display_name TEXT,
    created_ts INTEGER NOT NULL,
    last_seen_ts INTEGER,
    last_seen_ip TEXT,
    last_seen_user_agent TEXT,
    PRIMARY KEY (user_id, device_id)
) STRICT;

-- Access tokens are stored as SHA-256 of the token: a leaked database
-- does not leak sessions. Lookup is by the primary key.
CREATE TABLE access_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    expires_ts INTEGER,                 -- NULL: does not expire
    refresh_token_hash BLOB,            -- the refresh token this one came with
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id);

CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    created_ts INTEGER NOT NULL,
    used_ts INTEGER,                    -- set once exchanged
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX refresh_tokens_device ON refresh_tokens (user_id, device_id);

-- ---- delta 0002/01_roomserver.sql ----
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

-- ---- delta 0002/02_accounts.sql ----
-- Accounts and sessions: registration tokens, login tokens, refresh-token
-- rotation, profiles, account data.

-- Token-authenticated registration (m.login.registration_token).
-- A token is usable while pending + completed < uses_allowed (NULL: no
-- limit) and before expiry_time (NULL: never). `pending` counts registrations
-- that passed the token stage and have not finished yet; the sessions live
-- in memory, so the server resets it to 0 on start-up.
CREATE TABLE registration_tokens (
    token TEXT PRIMARY KEY,
    uses_allowed INTEGER CHECK (uses_allowed IS NULL OR uses_allowed >= 0),
    pending INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0),
    completed INTEGER NOT NULL DEFAULT 0 CHECK (completed >= 0),
    expiry_time INTEGER                 -- ms since the epoch; NULL: never
) STRICT;

-- Single-use, short-lived m.login.token tokens (POST /login/get_token),
-- stored as SHA-256 like access tokens. A token is deleted when used.
CREATE TABLE login_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_ts INTEGER NOT NULL,
    expires_ts INTEGER NOT NULL
) STRICT;

CREATE INDEX login_tokens_user ON login_tokens (user_id);

-- Refresh-token rotation: a refresh token made by POST /refresh names the
-- one it replaces; that one stays valid until the new access token or the
-- new refresh token is first used (then it is deleted and this is NULL).
ALTER TABLE refresh_tokens ADD COLUMN prev_token_hash BLOB;

CREATE INDEX refresh_tokens_prev ON refresh_tokens (prev_token_hash)
    WHERE prev_token_hash IS NOT NULL;

CREATE INDEX access_tokens_refresh ON access_tokens (refresh_token_hash)
    WHERE refresh_token_hash IS NOT NULL;

-- Profiles: one row per field (displayname, avatar_url, m.tz, custom keys),
-- the value as JSON text.
CREATE TABLE profile_fields (
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    value TEXT NOT NULL,                -- JSON
    PRIMARY KEY (user_id, field)
) STRICT;

-- Account data, global (room_id '') and per room; m.tag lives here too.
-- Every change takes the next position of the account-data stream, so
-- /sync can ask for what changed since a position.
CREATE TABLE account_data (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,              -- '' for global account data
    type TEXT NOT NULL,
    content TEXT NOT NULL,              -- JSON object
    stream_pos INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id, type)
) STRICT;

CREATE INDEX account_data_user_stream ON account_data (user_id, stream_pos);

-- The account-data stream's last position (one row; only ever grows).
CREATE TABLE account_data_stream (
    lock INTEGER PRIMARY KEY CHECK (lock = 1),
    position INTEGER NOT NULL
) STRICT;

INSERT INTO account_data_stream (lock, position) VALUES (1, 0);

-- ---- delta 0002/03_e2ee.sql ----
-- End-to-end encryption key management (client-server API, "End-to-End
-- Encryption"): device keys, one-time and fallback keys, cross-signing keys
-- and signatures, the device-list change stream, and server-side key backups.
-- The server never decrypts anything: it stores, checks the shape of, and
-- hands out what clients upload. SQL: trioserver/db/e2e_keys.py,
-- trioserver/db/cross_signing.py, trioserver/db/key_backup.py.
--
-- Key objects are stored as the canonical JSON the client uploaded (all its
-- signatures kept); signatures uploaded later through /keys/signatures/upload
-- live in e2e_signatures and are merged in when keys are queried.

-- A device's identity keys (the signed device_keys object of /keys/upload).
CREATE TABLE e2e_device_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    key_json TEXT NOT NULL,             -- canonical JSON, as uploaded
    ed25519_key TEXT NOT NULL,          -- its "ed25519:<device_id>" key (unpadded base64)
    added_ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id),
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
) STRICT;

-- Unclaimed one-time keys. A claim hands out the lowest key_nid first (upload
-- order) and deletes the row in the same write transaction.
CREATE TABLE e2e_one_time_keys (
    key_nid INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    key_json TEXT NOT NULL,             -- canonical JSON of the key (a string or an object)
    UNIQUE (user_id, device_id, algorithm, key_id),
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX e2e_one_time_keys_claim ON e2e_one_time_keys (user_id, device_id, algorithm, key_nid);

-- At most one fallback key per device and algorithm; a claim marks it used
-- (it is handed out again until the device replaces it).
CREATE TABLE e2e_fallback_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    key_json TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
    PRIMARY KEY (user_id, device_id, algorithm),
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
) STRICT;

-- A user's current cross-signing keys, one per usage.
CREATE TABLE e2e_cross_signing_keys (
    user_id TEXT NOT NULL REFERENCES users (user_id),
    usage TEXT NOT NULL CHECK (usage IN ('master', 'self_signing', 'user_signing')),
    public_key TEXT NOT NULL,           -- unpadded base64 ed25519 public key
    key_json TEXT NOT NULL,             -- canonical JSON, as uploaded
    added_ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, usage)
) STRICT;

-- Signatures uploaded through /keys/signatures/upload. The target is a device
-- (target_key_id = device ID) or a master key (target_key_id = its public key);
-- the signer's key ID is "ed25519:<public key or device ID>".
CREATE TABLE e2e_signatures (
    target_user_id TEXT NOT NULL,
    target_key_id TEXT NOT NULL,
    signer_user_id TEXT NOT NULL,
    signer_key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (target_user_id, target_key_id, signer_user_id, signer_key_id)
) WITHOUT ROWID, STRICT;

CREATE INDEX e2e_signatures_signer ON e2e_signatures (signer_user_id, signer_key_id);

-- The device-list stream: one row per change to a user's devices, device
-- keys, cross-signing keys or their signatures, in commit order. only_for is
-- NULL when everyone tracking user_id should hear of it, or the one user who
-- may (a change to a user-signing key, or a signature made with one).
CREATE TABLE device_list_changes (
    stream_pos INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused, even after pruning
    user_id TEXT NOT NULL,
    only_for TEXT
) STRICT;

CREATE INDEX device_list_changes_user ON device_list_changes (user_id, stream_pos);

-- Server-side key backups (one row per version; deleted versions stay, marked,
-- so a repeated DELETE succeeds and version numbers are never reused).
CREATE TABLE e2e_room_keys_versions (
    user_id TEXT NOT NULL REFERENCES users (user_id),
    version INTEGER NOT NULL CHECK (version > 0),
    algorithm TEXT NOT NULL,
    auth_data TEXT NOT NULL,            -- JSON object
    etag INTEGER NOT NULL DEFAULT 0,    -- grows with every change to the version's keys
    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    PRIMARY KEY (user_id, version)
) STRICT;

CREATE TABLE e2e_room_keys (
    user_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    room_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    first_message_index INTEGER NOT NULL,
    forwarded_count INTEGER NOT NULL,
    is_verified INTEGER NOT NULL CHECK (is_verified IN (0, 1)),
    session_data TEXT NOT NULL,         -- JSON object (encrypted by the client)
    PRIMARY KEY (user_id, version, room_id, session_id),
    FOREIGN KEY (user_id, version)
        REFERENCES e2e_room_keys_versions (user_id, version) ON DELETE CASCADE
) WITHOUT ROWID, STRICT;

-- ---- delta 0002/04_media.sql ----
-- The media repository, in the same file as everything else: a backup of the
-- database is a backup of every upload (ARCHITECTURE.md, "Storage").

-- One row per mxc:// URI we know: local uploads now; copies of remote media
-- fetched over federation later (remote = 1, origin = the remote server).
-- A row is served only in state 'complete'. 'pending': created by
-- POST /media/v1/create and not uploaded yet (until unused_expires_ts);
-- 'uploading': bytes are arriving (a row left in this state by a crash is
-- deleted on the next start).
CREATE TABLE media (
    media_nid INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,               -- the server name of the mxc:// URI
    media_id TEXT NOT NULL,             -- [A-Za-z0-9_-]+
    remote INTEGER NOT NULL DEFAULT 0 CHECK (remote IN (0, 1)),
    user_id TEXT,                       -- the local uploader; NULL: remote or made by the server
    state TEXT NOT NULL CHECK (state IN ('pending', 'uploading', 'complete')),
    content_type TEXT,                  -- as uploaded (sanitised); NULL until uploaded
    upload_name TEXT,                   -- the upload's `filename`, if any
    length INTEGER CHECK (length IS NULL OR length >= 0),  -- bytes, once complete
    chunk_size INTEGER NOT NULL CHECK (chunk_size > 0),    -- every chunk but the last
    sha256 BLOB,                        -- of the content, once complete
    created_ts INTEGER NOT NULL,
    unused_expires_ts INTEGER,          -- created with /create: deadline of the upload
    completed_ts INTEGER,
    -- What the thumbnailer found (NULL: not looked at yet).
    image_width INTEGER,
    image_height INTEGER,
    image_animated INTEGER CHECK (image_animated IS NULL OR image_animated IN (0, 1)),
    thumbnail_refusal TEXT CHECK (thumbnail_refusal IS NULL
                                  OR thumbnail_refusal IN ('unsupported', 'too_large')),
    UNIQUE (origin, media_id)
) STRICT;

-- Quotas: the bytes a user has stored.
CREATE INDEX media_by_user ON media (user_id, length) WHERE user_id IS NOT NULL;
-- Clean-up: unfinished rows by age.
CREATE INDEX media_unfinished ON media (state, created_ts) WHERE state != 'complete';

-- The content, in chunks of media.chunk_size bytes (seq 0, 1, ...), each
-- written by its own small write job so an upload never holds the writer
-- for long; byte ranges map to chunks by arithmetic.
CREATE TABLE media_chunks (
    media_nid INTEGER NOT NULL REFERENCES media (media_nid) ON DELETE CASCADE,
    seq INTEGER NOT NULL CHECK (seq >= 0),
    data BLOB NOT NULL,
    PRIMARY KEY (media_nid, seq)
) STRICT;

-- Thumbnails, small enough to be one BLOB each. (width, height, method) is
-- the size asked for: the exact size for 'crop', the bounding box for 'scale'.
CREATE TABLE media_thumbnails (
    media_nid INTEGER NOT NULL REFERENCES media (media_nid) ON DELETE CASCADE,
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    method TEXT NOT NULL CHECK (method IN ('crop', 'scale')),
    animated INTEGER NOT NULL CHECK (animated IN (0, 1)),
    content_type TEXT NOT NULL,
    actual_width INTEGER NOT NULL,
    actual_height INTEGER NOT NULL,
    data BLOB NOT NULL,
    created_ts INTEGER NOT NULL,
    PRIMARY KEY (media_nid, width, height, method, animated)
) STRICT;

-- Cached URL previews (GET /media/preview_url): the OpenGraph JSON answered.
CREATE TABLE media_url_previews (
    url TEXT PRIMARY KEY,
    fetched_ts INTEGER NOT NULL,
    expires_ts INTEGER NOT NULL,
    og_json TEXT NOT NULL
) STRICT;

CREATE INDEX media_url_previews_expiry ON media_url_previews (expires_ts);

-- ---- delta 0002/05_room_outputs.sql ----
-- What each client-visible event did to its room's current state, keyed by
-- its stream position, so readers of the roomserver's output stream (sync,
-- the federation sender) can catch up from any position after a restart
-- without recomputing state. Only events that changed current state have a row.
CREATE TABLE state_deltas (
    stream_ordering INTEGER PRIMARY KEY,
    room_nid INTEGER NOT NULL REFERENCES rooms (room_nid),
    adds TEXT NOT NULL,       -- JSON array of event NIDs added to current state
    removes TEXT NOT NULL     -- JSON array of event NIDs removed from it
) STRICT;

CREATE INDEX state_deltas_room ON state_deltas (room_nid, stream_ordering);

-- ---- delta 0002/06_rooms.sql ----
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

-- ---- delta 0002/07_directory.sql ----
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

-- ---- delta 0002/08_history.sql ----
-- Room history, relations and reports (client-server API: "Getting events for
-- a room", "Forming relationships between events", threads, "Reporting content").
-- The SQL of these tables lives in trioserver/db/timeline.py, relations.py and reports.py.

-- GET /rooms/{roomId}/timestamp_to_event: the room's client-visible events by
-- origin_server_ts (which, unlike the stream position, is not monotonic).
CREATE INDEX events_room_ts ON events (room_nid, origin_server_ts)
    WHERE stream_ordering IS NOT NULL;

-- One row per client-visible event whose cleartext content has an
-- m.relates_to with a rel_type and an event_id (replies without rel_type are
-- not relations of this API). Filled by the relations indexer
-- (trioserver/relations/indexer.py) from the roomserver's output stream.
-- Whether the relation still holds (the child is not redacted) is read from
-- events.redacted_by at query time.
CREATE TABLE event_relations (
    event_id TEXT PRIMARY KEY,                  -- the child
    room_id TEXT NOT NULL,
    relates_to_id TEXT NOT NULL,                -- the parent
    rel_type TEXT NOT NULL,
    aggregation_key TEXT,                       -- m.annotation's key
    event_type TEXT NOT NULL,
    sender TEXT NOT NULL,
    position INTEGER NOT NULL,                  -- the child's stream position
    origin_server_ts INTEGER NOT NULL,
    is_state INTEGER NOT NULL CHECK (is_state IN (0, 1)),
    has_new_content INTEGER NOT NULL CHECK (has_new_content IN (0, 1))
) STRICT;

CREATE INDEX event_relations_parent ON event_relations (relates_to_id, position);
CREATE INDEX event_relations_threads ON event_relations (room_id, rel_type, relates_to_id, position);

-- The output-stream position up to which the relations indexer has applied
-- entries (it resumes there after a restart).
CREATE TABLE relations_stream_position (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL
) STRICT;

-- Reports of events, rooms and users (POST /rooms/{roomId}/report[/{eventId}],
-- POST /users/{userId}/report), for the server's administrators.
CREATE TABLE content_reports (
    report_id INTEGER PRIMARY KEY,
    reporter TEXT NOT NULL,
    room_id TEXT,
    event_id TEXT,
    target_user_id TEXT,
    reason TEXT,
    received_ts INTEGER NOT NULL,
    CHECK ((room_id IS NOT NULL) OR (target_user_id IS NOT NULL)),
    CHECK ((event_id IS NULL) OR (room_id IS NOT NULL))
) STRICT;

CREATE INDEX content_reports_room ON content_reports (room_id, received_ts);

-- ---- delta 0002/09_sync.sql ----
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

-- ---- delta 0002/10_ephemeral.sql ----
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

-- ---- delta 0002/11_replaced_state.sql ----
-- The state event each accepted state event replaced at its (type,
-- state_key) in the state before it: what clients get as
-- unsigned.replaces_state, prev_content and prev_sender (client-server API,
-- ClientEvent "unsigned"). A state event that replaced nothing has no row.
CREATE TABLE replaced_state (
    event_nid INTEGER PRIMARY KEY REFERENCES event_ids (event_nid),
    replaced_nid INTEGER NOT NULL REFERENCES event_ids (event_nid)
) STRICT;
