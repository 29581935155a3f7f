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
