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
