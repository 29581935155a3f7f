"""State resolution v1 (room version 1).

Spec: ``rooms/v1.md``, "State resolution". Known to reset state in some
cases; room version 2 replaced it. Implemented as the spec describes it:

- A *conflict* is a key for which the states hold different event IDs; a key
  missing from some of the states is not a conflict. R starts as the union
  of the states without the conflicting events.
- Conflicting ``m.room.power_levels``, then ``m.room.join_rules``, then
  ``m.room.member`` events (one conflict, i.e. one key, at a time, keys in
  sorted order): sorted by ascending ``depth`` then descending
  ``sha1(event_id)``; the first is put in R without a check, each next one
  replaces it while it passes the authorisation rules in R, and the first
  that fails ends that conflict.
- Every other conflict: the event with the highest ``depth`` (then lowest
  ``sha1(event_id)``) that passes the authorisation rules in R. If none
  passes, R keeps no event for that key.

Events are checked against R only (no fall back to their own auth events).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from trioserver.protocol.room_versions import RoomVersion
from trioserver.protocol.state_res.checks import Authoriser, AuthRules
from trioserver.protocol.state_res.graph import Event, EventStore, StateKey
from trioserver.protocol.state_res.ordering import JOIN_RULES, MEMBER, POWER_LEVELS


def _depth(event: Event) -> int:
    depth = event.get("depth")
    return depth if isinstance(depth, int) and not isinstance(depth, bool) else 0


def _sha1(event_id: str) -> str:
    return hashlib.sha1(event_id.encode("utf-8")).hexdigest()


def _oldest_first(store: EventStore, event_ids: set[str]) -> list[str]:
    """Ascending depth, then descending ``sha1(event_id)`` (then descending ID)."""
    by_hash = sorted(event_ids, key=lambda e: (_sha1(e), e), reverse=True)
    return sorted(by_hash, key=lambda e: _depth(store[e]))


def _newest_first(store: EventStore, event_ids: set[str]) -> list[str]:
    """Descending depth, then ascending ``sha1(event_id)`` (then ascending ID)."""
    return sorted(event_ids, key=lambda e: (-_depth(store[e]), _sha1(e), e))


def split_conflicts(
    state_sets: Sequence[Mapping[StateKey, str]],
) -> tuple[dict[StateKey, str], dict[StateKey, set[str]]]:
    """R (the union of the states without conflicting events) and, per
    conflicting key, its events."""
    values: dict[StateKey, set[str]] = {}
    for state_set in state_sets:
        for key, event_id in state_set.items():
            found = values.get(key)
            if found is None:
                values[key] = {event_id}
            else:
                found.add(event_id)
    resolved: dict[StateKey, str] = {}
    conflicts: dict[StateKey, set[str]] = {}
    for key, ids in values.items():
        if len(ids) == 1:
            resolved[key] = next(iter(ids))
        else:
            conflicts[key] = ids
    return resolved, conflicts


def resolve_v1(
    version: RoomVersion,
    state_sets: Sequence[Mapping[StateKey, str]],
    store: EventStore,
    rules: AuthRules,
) -> dict[StateKey, str]:
    """Resolve ``state_sets`` with the room version 1 algorithm."""
    resolved, conflicts = split_conflicts(state_sets)
    if not conflicts:
        return resolved
    store.require(set().union(*conflicts.values()))
    authoriser = Authoriser(version, store, rules, fallback=False)

    for event_type in (POWER_LEVELS, JOIN_RULES, MEMBER):
        for key in sorted(k for k in conflicts if k[0] == event_type):
            ordered = _oldest_first(store, conflicts.pop(key))
            resolved[key] = ordered[0]
            for event_id in ordered[1:]:
                if not authoriser.allowed(event_id, resolved):
                    break
                resolved[key] = event_id

    for key in sorted(conflicts):
        for event_id in _newest_first(store, conflicts[key]):
            if authoriser.allowed(event_id, resolved):
                resolved[key] = event_id
                break
    return resolved
