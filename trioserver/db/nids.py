"""Numeric IDs (NIDs) of the roomserver's storage, and the plain data built from them.

Room IDs, event IDs, event types and state keys are mapped to integer NIDs
inside the database (schema version 2). Contract:

* A NID is a positive integer; ``0`` means "none" (``state_key_nid == 0``:
  not a state event; a state entry with ``event_nid == 0``: the key removed).
* NIDs never leave the roomserver and its storage: anything handed to other
  services is translated back to string IDs first.
* The well-known NIDs below are assigned by the schema SQL
  (``sql/delta/0002/01_roomserver.sql``) and never change; event types first
  seen at run time get NIDs from :data:`FIRST_DYNAMIC_TYPE_NID` up, so a later
  schema can pre-assign more well-known types below it.

The types live in ``db`` (not ``roomserver``) because both layers use them
and ``db`` may not import ``roomserver``; ``trioserver.roomserver.types``
re-exports them.
"""

from __future__ import annotations

from typing import Final, NamedTuple, NewType

RoomNID = NewType("RoomNID", int)
EventNID = NewType("EventNID", int)
EventTypeNID = NewType("EventTypeNID", int)
StateKeyNID = NewType("StateKeyNID", int)
StateSnapshotNID = NewType("StateSnapshotNID", int)
StateBlockNID = NewType("StateBlockNID", int)

#: "No event": as a state entry's event, a removal (tombstone) in an override block.
NO_EVENT: Final = EventNID(0)
#: "Not a state event" as an event's state key NID.
NO_STATE_KEY: Final = StateKeyNID(0)

#: The empty state key ``""``.
EMPTY_STATE_KEY_NID: Final = StateKeyNID(1)

#: Well-known event types, pre-assigned by the schema (must match the SQL).
WELL_KNOWN_TYPE_NIDS: Final[dict[str, EventTypeNID]] = {
    "m.room.create": EventTypeNID(1),
    "m.room.power_levels": EventTypeNID(2),
    "m.room.join_rules": EventTypeNID(3),
    "m.room.third_party_invite": EventTypeNID(4),
    "m.room.member": EventTypeNID(5),
    "m.room.redaction": EventTypeNID(6),
    "m.room.history_visibility": EventTypeNID(7),
    "m.room.name": EventTypeNID(8),
    "m.room.topic": EventTypeNID(9),
    "m.room.canonical_alias": EventTypeNID(10),
    "m.room.avatar": EventTypeNID(11),
    "m.room.encryption": EventTypeNID(12),
    "m.room.guest_access": EventTypeNID(13),
    "m.room.server_acl": EventTypeNID(14),
    "m.room.tombstone": EventTypeNID(15),
    "m.room.pinned_events": EventTypeNID(16),
    "m.space.child": EventTypeNID(17),
    "m.space.parent": EventTypeNID(18),
    "m.room.message": EventTypeNID(19),
    "m.reaction": EventTypeNID(20),
    "m.room.encrypted": EventTypeNID(21),
    "m.sticker": EventTypeNID(22),
}

CREATE_NID: Final = WELL_KNOWN_TYPE_NIDS["m.room.create"]
POWER_LEVELS_NID: Final = WELL_KNOWN_TYPE_NIDS["m.room.power_levels"]
JOIN_RULES_NID: Final = WELL_KNOWN_TYPE_NIDS["m.room.join_rules"]
THIRD_PARTY_INVITE_NID: Final = WELL_KNOWN_TYPE_NIDS["m.room.third_party_invite"]
MEMBER_NID: Final = WELL_KNOWN_TYPE_NIDS["m.room.member"]
REDACTION_NID: Final = WELL_KNOWN_TYPE_NIDS["m.room.redaction"]
HISTORY_VISIBILITY_NID: Final = WELL_KNOWN_TYPE_NIDS["m.room.history_visibility"]

#: Event types seen at run time get NIDs from here up (1..999 are reserved).
FIRST_DYNAMIC_TYPE_NID: Final = 1000

#: A snapshot holds at most this many blocks.
MAX_BLOCKS_PER_SNAPSHOT: Final = 64

#: A (type, state key) pair: the key of a state entry.
StateKeyTuple = tuple[EventTypeNID, StateKeyNID]

#: Flattened state: every (type, state key) of a state and its event (never 0).
StateMap = dict[StateKeyTuple, EventNID]


class StateEntry(NamedTuple):
    """One entry of a state block. ``event_nid == 0`` marks a removal."""

    type_nid: EventTypeNID
    state_key_nid: StateKeyNID
    event_nid: EventNID


class NewBlock(NamedTuple):
    """A block not stored yet, as part of a snapshot layout: its entries,
    sorted by (type, state key), each key at most once."""

    entries: tuple[StateEntry, ...]


#: A snapshot's layout as the state planner produces it and the state storage
#: stores it: stored blocks reused by NID, new blocks by their entries.
SnapshotLayout = tuple[StateBlockNID | NewBlock, ...]


class LoadedBlock(NamedTuple):
    """A stored block with its entries (``event_nid`` 0 marks a removal)."""

    block_nid: StateBlockNID
    entries: dict[StateKeyTuple, EventNID]
