-- The state event each accepted state event replaced at its (type,
-- state_key) in the state before it: what clients get as
-- unsigned.replaces_state, prev_content and prev_sender (client-server API,
-- ClientEvent "unsigned"). A state event that replaced nothing has no row.
CREATE TABLE replaced_state (
    event_nid INTEGER PRIMARY KEY REFERENCES event_ids (event_nid),
    replaced_nid INTEGER NOT NULL REFERENCES event_ids (event_nid)
) STRICT;
