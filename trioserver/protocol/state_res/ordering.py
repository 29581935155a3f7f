"""The orderings of state resolution v2 (spec: ``rooms/fragments/v2-state-res.md``,
"Definitions": *power events*, *reverse topological power ordering*,
*mainline ordering*; unchanged in v2.1, ``rooms/v12.md``).

Every sort key ends with the event ID, so each ordering is total and does not
depend on the order its input came in.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from trioserver.protocol.power_levels import Level, PowerLevels, creators, power_level_of
from trioserver.protocol.room_versions import RoomVersion
from trioserver.protocol.state_res.graph import Event, EventStore

CREATE = "m.room.create"
POWER_LEVELS = "m.room.power_levels"
JOIN_RULES = "m.room.join_rules"
MEMBER = "m.room.member"

T = TypeVar("T", bound=Hashable)


class _Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Comparable)


def is_power_event(event: Event) -> bool:
    """A *power event*: a state event of type ``m.room.power_levels`` or
    ``m.room.join_rules``, or an ``m.room.member`` state event with membership
    ``leave`` or ``ban`` whose ``sender`` is not its ``state_key`` (a kick or
    a ban) (spec v2, "Definitions" → "Power events")."""
    state_key = event.get("state_key")
    if not isinstance(state_key, str):
        return False
    event_type = event.get("type")
    if event_type in (POWER_LEVELS, JOIN_RULES):
        return True
    if event_type != MEMBER:
        return False
    content = event.get("content")
    membership = content.get("membership") if isinstance(content, Mapping) else None
    return membership in ("leave", "ban") and event.get("sender") != state_key


def lexicographical_topological_sort(
    graph: Mapping[T, Iterable[T]], key: Callable[[T], K]
) -> list[T]:
    """Kahn's algorithm, taking at each step the smallest ready node by ``key``.

    ``graph`` maps each node to the nodes it references (its auth events):
    those come first. References to nodes that are not keys of ``graph`` are
    ignored. ``key`` must order the nodes totally (distinct nodes, distinct
    keys), which makes the result independent of the graph's iteration order.
    The ready nodes sit in a heap: O((V + E) log V).

    A cycle (impossible with hash-based event IDs, forgeable with the v1/v2
    ``event_id`` format) does not stop the sort: when no node is ready the
    smallest remaining one is released.
    """
    waiting: dict[T, int] = {}
    dependants: dict[T, list[T]] = {node: [] for node in graph}
    for node, refs in graph.items():
        count = 0
        for ref in set(refs):
            if ref != node and ref in dependants:
                dependants[ref].append(node)
                count += 1
        waiting[node] = count
    keys = {node: key(node) for node in graph}
    heap = [(keys[node], node) for node, count in waiting.items() if count == 0]
    heapq.heapify(heap)
    done: set[T] = set()
    order: list[T] = []
    while len(order) < len(keys):
        if not heap:  # a cycle: release the smallest node still waiting
            node = min((n for n in keys if n not in done), key=keys.__getitem__)
            waiting[node] = 0
            heap.append((keys[node], node))
        _, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        order.append(node)
        for dependant in dependants[node]:
            waiting[dependant] -= 1
            if waiting[dependant] == 0 and dependant not in done:
                heapq.heappush(heap, (keys[dependant], dependant))
    return order


def create_event_id_for(room_id: Any) -> str | None:
    """The create event ID named by a room v12 room ID (MSC4291: ``!x`` names ``$x``)."""
    if isinstance(room_id, str) and room_id.startswith("!") and len(room_id) > 1:
        return "$" + room_id[1:]
    return None


def sender_power_level(
    store: EventStore,
    event_id: str,
    version: RoomVersion,
    parsed: dict[str, PowerLevels] | None = None,
) -> Level:
    """The power level of the event's sender "when looking at [its]
    ``auth_events``" (spec v2, "Reverse topological power ordering").

    Read from the ``m.room.power_levels`` event among its auth events (with
    the room version's parsing rules, :mod:`trioserver.protocol.power_levels`);
    without one the creator has 100 and others 0. From v12 (MSC4289) the
    creators have infinite power; the create event, which v12 events never
    cite, is found through the room ID. ``parsed`` memoises parsed power
    levels by event ID.
    """
    event = store[event_id]
    sender = event.get("sender")
    if not isinstance(sender, str):
        return 0
    pl_id: str | None = None
    create: Event | None = None
    for auth_id in store.auth_ids(event_id):
        auth = store.get(auth_id)
        if auth is None or auth.get("state_key") != "":
            continue
        if auth.get("type") == POWER_LEVELS and pl_id is None:
            pl_id = auth_id
        elif auth.get("type") == CREATE and create is None:
            create = auth
    if create is None and version.room_id_from_create_event:
        if event.get("type") == CREATE:
            create = event
        else:
            create_id = create_event_id_for(event.get("room_id"))
            create = store.get(create_id) if create_id is not None else None
    levels: PowerLevels | None = None
    if pl_id is not None:
        parsed = parsed if parsed is not None else {}
        levels = parsed.get(pl_id)
        if levels is None:
            levels = parsed[pl_id] = PowerLevels.from_event(store[pl_id], version)
    room_creators = creators(create, version) if create is not None else frozenset()
    return power_level_of(sender, levels, room_creators, version)


def _timestamp(event: Event) -> int:
    ts = event.get("origin_server_ts")
    return ts if isinstance(ts, int) and not isinstance(ts, bool) else 0


def reverse_topological_power_order(
    store: EventStore, event_ids: Collection[str], version: RoomVersion
) -> list[str]:
    """The *reverse topological power ordering* of ``event_ids``: Kahn's
    algorithm over their ``auth_events`` edges (those between events of the
    set), the smallest ready event first, where x < y if x's sender has the
    greater power level, then the smaller ``origin_server_ts``, then the
    smaller event ID (spec v2, "Definitions")."""
    members = set(event_ids)
    graph = {e: [a for a in store.auth_ids(e) if a in members] for e in members}
    parsed: dict[str, PowerLevels] = {}

    def key(event_id: str) -> tuple[Level, int, str]:
        power = sender_power_level(store, event_id, version, parsed)
        return (-power, _timestamp(store[event_id]), event_id)

    return lexicographical_topological_sort(graph, key)


class Mainline:
    """Mainline positions relative to one ``m.room.power_levels`` event P
    (spec v2, "Definitions" → "Mainline ordering").

    The mainline [P₀=P, P₁, ...] follows the power levels event in each
    one's ``auth_events``. The position of an event e is i where Pᵢ is the
    first of e's own chain [e₁, e₂, ...] (e₀ excluded) on the mainline, or ∞.
    Positions of the power levels events walked are memoised, so each of
    them is walked once however many events lead to it.
    """

    __slots__ = ("_index", "_memo", "_store")

    def __init__(self, store: EventStore, power_levels_id: str | None) -> None:
        self._store = store
        self._index: dict[str, int] = {}
        self._memo: dict[str, float] = {}
        current = power_levels_id
        while current is not None and current not in self._index:
            self._index[current] = len(self._index)
            current = self._power_levels_of(current)

    def _power_levels_of(self, event_id: str) -> str | None:
        """The ``m.room.power_levels`` event among the event's auth events."""
        store = self._store
        for auth_id in store.auth_ids(event_id):
            auth = store.get(auth_id)
            if (
                auth is not None
                and auth.get("type") == POWER_LEVELS
                and auth.get("state_key") == ""
            ):
                return auth_id
        return None

    def position(self, event_id: str) -> float:
        path: list[str] = []
        on_path: set[str] = set()
        current = self._power_levels_of(event_id)
        position: float = math.inf
        while current is not None:
            if current in self._index:
                position = self._index[current]
                break
            if current in self._memo:
                position = self._memo[current]
                break
            if current in on_path:  # a cycle (forged v1/v2 event IDs)
                break
            path.append(current)
            on_path.add(current)
            current = self._power_levels_of(current)
        for walked in path:
            self._memo[walked] = position
        return position

    def order(self, event_ids: Iterable[str]) -> list[str]:
        """The *mainline ordering*: greater position first, then smaller
        ``origin_server_ts``, then smaller event ID."""
        store = self._store
        event_ids = list(event_ids)
        store.load({a for e in event_ids for a in store.auth_ids(e)})  # one batch
        return sorted(
            event_ids,
            key=lambda e: (-self.position(e), _timestamp(store[e]), e),
        )
