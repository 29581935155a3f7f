"""Authorising events against a state map while resolving state.

The authorisation rules themselves live in :mod:`trioserver.protocol.auth`;
the algorithms reach them through :class:`AuthRules` (one narrow seam).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Protocol

from trioserver.protocol.auth import AuthError, auth_event_types, check_auth
from trioserver.protocol.events import state_tuple
from trioserver.protocol.room_versions import RoomVersion
from trioserver.protocol.state_res.graph import REJECTED, Event, EventStore, StateKey
from trioserver.protocol.state_res.ordering import CREATE, create_event_id_for

CREATE_KEY: StateKey = (CREATE, "")


class CheckAuth(Protocol):
    """:func:`trioserver.protocol.auth.check_auth`."""

    def __call__(
        self,
        event: Event,
        auth_events: Mapping[StateKey, Event],
        room_version: str,
        /,
        *,
        create_event_id: str | None = None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class AuthRules:
    """The authorisation rules as state resolution uses them.

    ``check(event, auth_events, room_version, create_event_id=...)`` raises
    ``error`` unless the event is allowed against the state events
    ``auth_events`` (keyed by ``(type, state_key)``); ``auth_types(event,
    room_version)`` names the keys the check needs (spec: server-server
    API, "Auth events selection").
    """

    check: CheckAuth
    auth_types: Callable[[Event, str], set[StateKey]]
    error: type[Exception]


def default_rules() -> AuthRules:
    """The server's authorisation rules (:mod:`trioserver.protocol.auth`)."""
    return AuthRules(check=check_auth, auth_types=auth_event_types, error=AuthError)


class Authoriser:
    """Checks events of one resolution against a state map.

    The state map is consulted for every key the rules need. With
    ``fallback`` (state resolution v2's *iterative auth checks*), a key the
    state lacks is taken from the event's own ``auth_events``, unless that
    auth event was rejected. From room v12 (MSC4291) the create event is
    never an auth event: it is found through the room ID.
    """

    __slots__ = ("_fallback", "_rules", "_store", "_types", "_version")

    def __init__(
        self, version: RoomVersion, store: EventStore, rules: AuthRules, *, fallback: bool
    ) -> None:
        self._version = version
        self._store = store
        self._rules = rules
        self._fallback = fallback
        self._types: dict[str, set[StateKey]] = {}

    def required(self, event_id: str) -> set[StateKey]:
        types = self._types.get(event_id)
        if types is None:
            types = set(self._rules.auth_types(self._store[event_id], self._version.identifier))
            if self._version.room_id_from_create_event:
                types.add(CREATE_KEY)
            self._types[event_id] = types
        return types

    def prefetch(self, state: Mapping[StateKey, str], event_ids: Iterable[str]) -> None:
        """Load, in one batch, the state events the checks of ``event_ids`` may need."""
        wanted: set[str] = set()
        for event_id in event_ids:
            wanted.update(state[k] for k in self.required(event_id) if k in state)
            if self._fallback:
                wanted.update(self._store.auth_ids(event_id))
        self._store.load(wanted)

    def _own_auth_events(self, event_id: str, event: Event) -> dict[StateKey, str]:
        """The event's own non-rejected auth events by key (from v12 with the
        create event, found through the room ID)."""
        store = self._store
        own: dict[StateKey, str] = {}
        for auth_id in store.auth_ids(event_id):
            auth = store.get(auth_id)
            if (
                auth is None
                or auth.get(REJECTED) is True
                or not isinstance(auth.get("state_key"), str)
            ):
                continue
            own.setdefault(state_tuple(auth), auth_id)
        if self._version.room_id_from_create_event and CREATE_KEY not in own:
            create_id = create_event_id_for(event.get("room_id"))
            if create_id is not None and store.get(create_id) is not None:
                own[CREATE_KEY] = create_id
        return own

    def allowed(self, event_id: str, state: Mapping[StateKey, str]) -> bool:
        """Whether the event passes the authorisation rules in ``state``."""
        store = self._store
        event = store[event_id]
        auth_events: dict[StateKey, Event] = {}
        create_id: str | None = None
        own: dict[StateKey, str] | None = None
        for key in self.required(event_id):
            found_id = state.get(key)
            found = store.get(found_id) if found_id is not None else None
            if found is None and self._fallback:
                if own is None:
                    own = self._own_auth_events(event_id, event)
                found_id = own.get(key)
                found = store.get(found_id) if found_id is not None else None
            if found is not None:
                auth_events[key] = found
                if key == CREATE_KEY:
                    create_id = found_id
        try:
            self._rules.check(
                event, auth_events, self._version.identifier, create_event_id=create_id
            )
        except self._rules.error:
            return False
        return True

    def apply(self, state: MutableMapping[StateKey, str], event_ids: Iterable[str]) -> None:
        """The *iterative auth checks algorithm* (spec v2, "Definitions"): each
        event in turn replaces its key in ``state`` if it is allowed there."""
        ids = list(event_ids)
        self.prefetch(state, ids)
        for event_id in ids:
            if self.allowed(event_id, state):
                state[state_tuple(self._store[event_id])] = event_id
