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
