"""The auth DAG as state resolution sees it: events loaded on demand, and walks.

Every walk here is one linear traversal with a shared visited set (each event
is expanded once per walk, whatever the number of paths reaching it), and
events are loaded level by level, so a lazy caller is asked for one batch per
level of the walk rather than one event at a time.

Definitions implemented here (spec: ``rooms/fragments/v2-state-res.md`` and
``rooms/v12.md``, "State resolution" → "Definitions"): *auth chain*,
*unconflicted state map and conflicted state set*, *auth difference* and
(room v12, MSC4297) *conflicted state subgraph*.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from trioserver.protocol.events import auth_event_ids

StateKey = tuple[str, str]
Event = dict[str, Any]
#: ``fetch_events(ids)``: the events it has among ``ids``, keyed by event ID.
FetchEvents = Callable[[Iterable[str]], Mapping[str, Event]]
#: ``auth_chain_ids(ids)``: the union of the auth chains of ``ids``, i.e. every
#: event reachable from one of them by one or more ``auth_events`` steps.
AuthChainIds = Callable[[Iterable[str]], Collection[str]]

#: Internal marker on an event dict: the event was rejected by the auth checks
#: on receipt. State resolution only uses it to keep rejected events out of the
#: auth events it falls back to during the iterative auth checks (spec:
#: "Rejected events"). Absent means not rejected.
REJECTED = "_rejected"


class MissingEventsError(LookupError):
    """Events that state resolution needs (the conflicted ones) are unavailable."""

    def __init__(self, event_ids: Iterable[str]) -> None:
        self.event_ids = sorted(event_ids)
        super().__init__(f"missing events for state resolution: {self.event_ids[:10]}")


class EventStore:
    """Events by ID, read from a complete mapping or loaded in batches on first use.

    An event the source does not have is remembered as missing and treated
    as absent: walks skip it. Callers that cannot do without an event use
    :meth:`require`.
    """

    __slots__ = ("_auth", "_events", "_fetch", "_missing")

    def __init__(self, source: Mapping[str, Event] | FetchEvents) -> None:
        """``source``: every event needed, by ID, or a :data:`FetchEvents` callable."""
        if isinstance(source, Mapping):
            self._events: Mapping[str, Event] = source
            self._fetch: FetchEvents | None = None
        else:
            self._events = {}
            self._fetch = source
        self._missing: set[str] = set()
        self._auth: dict[str, tuple[str, ...]] = {}

    def load(self, event_ids: Iterable[str]) -> None:
        """Make sure every event of ``event_ids`` is loaded (one fetch at most)."""
        if self._fetch is None:
            return
        events = self._events
        assert isinstance(events, dict)
        missing = self._missing
        wanted = {i for i in event_ids if i not in events and i not in missing}
        if not wanted:
            return
        got = self._fetch(sorted(wanted))
        for event_id in wanted:
            event = got.get(event_id)
            if event is None:
                missing.add(event_id)
            else:
                events[event_id] = event

    def get(self, event_id: str) -> Event | None:
        event = self._events.get(event_id)
        if event is None and self._fetch is not None and event_id not in self._missing:
            self.load((event_id,))
            event = self._events.get(event_id)
        return event

    def require(self, event_ids: Iterable[str]) -> None:
        """Load ``event_ids``; raise :class:`MissingEventsError` if any is unavailable."""
        ids = list(event_ids)
        self.load(ids)
        absent = [i for i in ids if i not in self._events]
        if absent:
            raise MissingEventsError(absent)

    def __getitem__(self, event_id: str) -> Event:
        event = self.get(event_id)
        if event is None:
            raise MissingEventsError((event_id,))
        return event

    def auth_ids(self, event_id: str) -> tuple[str, ...]:
        """The event's ``auth_events`` IDs (memoised); empty for a missing event."""
        ids = self._auth.get(event_id)
        if ids is None:
            event = self.get(event_id)
            ids = tuple(auth_event_ids(event)) if event is not None else ()
            self._auth[event_id] = ids
        return ids

    def auth_closure(self, start: Iterable[str], stop: Collection[str] = frozenset()) -> set[str]:
        """Every event reachable from ``start`` by one or more ``auth_events``
        steps, not entering (nor walking below) events in ``stop``.

        A breadth-first walk: each level is loaded with one :meth:`load`.
        """
        seen: set[str] = set()
        frontier = set(start)
        self.load(frontier)
        auth_ids = self.auth_ids
        while frontier:
            nxt: set[str] = set()
            for event_id in frontier:
                nxt.update(auth_ids(event_id))
            nxt.difference_update(seen)
            if stop:
                nxt.difference_update(stop)
            seen |= nxt
            self.load(nxt)
            frontier = nxt
        return seen


def separate(
    state_sets: Sequence[Mapping[StateKey, str]],
) -> tuple[dict[StateKey, str], dict[StateKey, set[str]]]:
    """Split the state sets into the *unconflicted state map* and, per key,
    the events of the *conflicted state set* (spec v2, "Definitions").

    A key is unconflicted only if every state set holds it with the same
    event; a key missing from some state set is conflicted.
    """
    if not state_sets:
        return {}, {}
    common = set(state_sets[0].items())
    for state_set in state_sets[1:]:
        common.intersection_update(state_set.items())
    unconflicted = dict(common)
    conflicted: dict[StateKey, set[str]] = {}
    for state_set in state_sets:
        for key, event_id in state_set.items() - common:
            conflicted.setdefault(key, set()).add(event_id)
    return unconflicted, conflicted


def auth_difference(
    store: EventStore,
    state_sets: Sequence[Mapping[StateKey, str]],
    unconflicted: Mapping[StateKey, str],
    conflicted_ids: Collection[str],
    auth_chain_ids: AuthChainIds | None = None,
) -> set[str]:
    """The *auth difference* (spec v2, "Definitions"): the events in some but
    not all of the C_i, C_i being the union of the auth chains of the events
    of state set S_i.

    Computed without walking each state set's whole auth chain. With U the
    auth chains of the unconflicted events (part of every C_i, and closed
    under taking auth chains) and D_i those of the conflicted events of S_i,
    C_i = U | D_i, so the difference is (union(D_i) - intersection(D_i)) - U,
    and the walks for the D_i stop where they reach U. With
    ``auth_chain_ids`` the chains come from the caller (an index) and the
    unconflicted events are never loaded.
    """
    unconflicted_ids = set(unconflicted.values())
    per_set: list[set[str]] = []
    if auth_chain_ids is not None:
        common = set(auth_chain_ids(sorted(unconflicted_ids))) if unconflicted_ids else set()
        for state_set in state_sets:
            mine = sorted(i for i in state_set.values() if i in conflicted_ids)
            per_set.append(set(auth_chain_ids(mine)) - common if mine else set())
    else:
        common = store.auth_closure(unconflicted_ids)
        for state_set in state_sets:
            mine = [i for i in state_set.values() if i in conflicted_ids]
            per_set.append(store.auth_closure(mine, stop=common))
    if not per_set:
        return set()
    union = set().union(*per_set)
    return union.difference(per_set[0].intersection(*per_set[1:]))


def conflicted_subgraph(store: EventStore, conflicted_ids: Collection[str]) -> set[str]:
    """The *conflicted state subgraph* (room v12, MSC4297): every event on an
    ``auth_events`` path from one event of the conflicted state set to
    another, endpoints included.

    One walk down from the conflicted events gives the events they reach;
    one walk back up the reversed edges within those gives the events that
    reach a conflicted event. The subgraph is the events in both, plus the
    conflicted events at either end of such a path.
    """
    below = store.auth_closure(conflicted_ids)
    nodes = below | set(conflicted_ids)
    citers: dict[str, list[str]] = {}
    for event_id in nodes:
        for auth_id in store.auth_ids(event_id):
            if auth_id in below:
                citers.setdefault(auth_id, []).append(event_id)
    above: set[str] = set()
    stack = [i for i in conflicted_ids if i in citers]
    while stack:
        for citer in citers.get(stack.pop(), ()):
            if citer not in above:
                above.add(citer)
                stack.append(citer)
    return (above & below) | (set(conflicted_ids) & (above | below))


def closure_within(store: EventStore, start: Iterable[str], within: Collection[str]) -> set[str]:
    """``start`` plus the events of their auth chains that belong to ``within``.

    The walk goes through every auth event (not only those in ``within``):
    spec v2 step 1 adds "the events in the auth chain of P which also belong
    to the full conflicted set".
    """
    start = set(start)
    chain = store.auth_closure(start)
    return start | (chain & set(within))
