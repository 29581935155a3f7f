"""State resolution: the state of a room where its history forks.

Given the states after each ``prev_event`` of an event (spec: "Room
Versions", "State resolution"), the resolved state is:

- v1 (room version 1, ``rooms/v1.md``): :mod:`.v1`;
- v2 (rooms v2-v11, ``rooms/fragments/v2-state-res.md``) and v2.1 (room v12,
  MSC4297, ``rooms/v12.md``): :mod:`.v2`.

The algorithm is chosen by the room version's ``state_res`` flag. Both entry
points are pure and synchronous: their only input is their arguments (the
lazy one reads events through the callables it is given), and the result
does not depend on the order of the state sets or of the events given.

Events are PDU dicts of any event format; their ID is the key they are found
under (room v3+ events carry no ``event_id``). An event may carry the
internal marker ``"_rejected": True`` (:data:`REJECTED`) if it was rejected
on receipt: v2/v2.1 then never use it as a fall-back auth event (spec:
"Rejected events"); it is otherwise handled like any event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trioserver.protocol.room_versions import StateResAlgorithm, room_version
from trioserver.protocol.state_res.checks import default_rules
from trioserver.protocol.state_res.graph import (
    REJECTED,
    AuthChainIds,
    EventStore,
    FetchEvents,
    MissingEventsError,
    StateKey,
)
from trioserver.protocol.state_res.ordering import lexicographical_topological_sort
from trioserver.protocol.state_res.v1 import resolve_v1
from trioserver.protocol.state_res.v2 import resolve_v2

__all__ = [
    "REJECTED",
    "AuthChainIds",
    "FetchEvents",
    "MissingEventsError",
    "StateKey",
    "lexicographical_topological_sort",
    "resolve_state",
    "resolve_state_lazy",
]


def _resolve(
    identifier: str,
    state_sets: Sequence[Mapping[StateKey, str]],
    store: EventStore,
    auth_chain_ids: AuthChainIds | None,
) -> dict[StateKey, str]:
    version = room_version(identifier)
    if not state_sets:
        return {}
    if len(state_sets) == 1:
        return dict(state_sets[0])
    rules = default_rules()
    if version.state_res is StateResAlgorithm.V1:
        return resolve_v1(version, state_sets, store, rules)
    return resolve_v2(version, state_sets, store, rules, auth_chain_ids)


def resolve_state(
    room_version: str,
    state_sets: Sequence[Mapping[tuple[str, str], str]],
    event_map: Mapping[str, dict[str, Any]],
) -> dict[tuple[str, str], str]:
    """Resolve ``state_sets`` (maps ``(type, state_key) → event ID``).

    ``event_map`` holds, by event ID, every event of the state sets and of
    their auth chains; auth chains are walked through ``auth_events``.
    Raises :class:`~trioserver.protocol.room_versions.UnsupportedRoomVersion`
    for an unknown room version and :class:`MissingEventsError` if a
    conflicted event is not in ``event_map``.
    """
    return _resolve(room_version, state_sets, EventStore(event_map), None)


def resolve_state_lazy(
    room_version: str,
    state_sets: Sequence[Mapping[tuple[str, str], str]],
    fetch_events: FetchEvents,
    auth_chain_ids: AuthChainIds | None = None,
) -> dict[tuple[str, str], str]:
    """:func:`resolve_state` loading only the events the conflicted part needs.

    ``fetch_events(ids)`` returns the events it has among ``ids`` (a mapping
    by event ID; an event it lacks is treated as absent). It is called with
    batches (one per level of an auth chain walk), never twice for the same
    event.

    ``auth_chain_ids(ids)``, if given (e.g. from an auth chain index),
    returns the union of the auth chains of ``ids``: every event reachable
    from one of them by *one or more* ``auth_events`` steps, so not the
    given events themselves unless one cites another (spec v2, "Auth
    chain"). With it, unconflicted events are loaded only when an auth
    check or the mainline needs them; without it, the auth chains are
    walked through ``fetch_events``, unconflicted events included.
    """
    return _resolve(room_version, state_sets, EventStore(fetch_events), auth_chain_ids)
