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
