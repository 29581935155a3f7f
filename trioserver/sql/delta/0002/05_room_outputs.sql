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
