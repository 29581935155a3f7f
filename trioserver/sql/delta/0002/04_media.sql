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
