"""State resolution v2 (rooms v2-v11) and v2.1 (room v12, MSC4297).

Spec: ``rooms/fragments/v2-state-res.md`` ("State resolution" →
"Algorithm") and ``rooms/v12.md`` (its v2.1 changes: the *conflicted state
subgraph* joins the full conflicted set, and the first iterative auth checks
start from an *empty* state map instead of the unconflicted state map).

Rejected events (spec: "Rejected events"): an event carrying the internal
marker ``"_rejected": True`` (:data:`~trioserver.protocol.state_res.graph.REJECTED`)
is otherwise handled as usual (it is sorted, re-checked and may enter the
resolved state if it passes), but it is never used as the auth event a check
falls back to when the state lacks a key.

Readings of the spec text where implementations differ:

- An event's auth chain does not contain the event itself ("Auth chain"),
  and a state set's full auth chain is the union of its events' auth chains.
  (Synapse also counts the state set's own events. The two differ only for
  an unconflicted event cited by the events of some state sets but not all:
  here it joins the auth difference and is replayed.)
- Power events are exactly those of the definition: power levels and join
  rules events (whatever their state key), kicks and bans; the create event
  is not one (it still joins X through the auth chain of any power event).
- The reverse topological power ordering sorts X over the ``auth_events``
  edges between events of X.
- Step 3's mainline is that of the power levels event of the partial state
  of step 2, which in v2.1 starts empty: if no power levels event was
  replayed, every event has mainline position infinity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from trioserver.protocol.room_versions import RoomVersion, StateResAlgorithm
from trioserver.protocol.state_res.checks import Authoriser, AuthRules
from trioserver.protocol.state_res.graph import (
    AuthChainIds,
    EventStore,
    StateKey,
    auth_difference,
    closure_within,
    conflicted_subgraph,
    separate,
)
from trioserver.protocol.state_res.ordering import (
    POWER_LEVELS,
    Mainline,
    is_power_event,
    reverse_topological_power_order,
)


def full_conflicted_set(
    version: RoomVersion,
    store: EventStore,
    state_sets: Sequence[Mapping[StateKey, str]],
    unconflicted: Mapping[StateKey, str],
    conflicted_ids: set[str],
    auth_chain_ids: AuthChainIds | None = None,
) -> set[str]:
    """The *full conflicted set*: the conflicted state set, the auth
    difference and (v2.1 only) the conflicted state subgraph. Events that
    cannot be loaded, and any that are not state events, are left out."""
    full = conflicted_ids | auth_difference(
        store, state_sets, unconflicted, conflicted_ids, auth_chain_ids
    )
    if version.state_res is StateResAlgorithm.V2_1:
        full |= conflicted_subgraph(store, conflicted_ids)
    store.load(full)
    return {e for e in full if isinstance((store.get(e) or {}).get("state_key"), str)}


def resolve_v2(
    version: RoomVersion,
    state_sets: Sequence[Mapping[StateKey, str]],
    store: EventStore,
    rules: AuthRules,
    auth_chain_ids: AuthChainIds | None = None,
) -> dict[StateKey, str]:
    """Resolve ``state_sets`` with the v2 algorithm (v2.1 if the room version says so).

    1. X: the power events of the full conflicted set, with the events of
       their auth chains that are also in it, in reverse topological power
       ordering;
    2. the iterative auth checks of X, from the unconflicted state map (v2)
       or from an empty map (v2.1);
    3. the other events of the full conflicted set, in mainline ordering
       based on the power levels event of that partial state;
    4. their iterative auth checks on the partial state;
    5. the unconflicted state map laid over the result.
    """
    unconflicted, conflicted = separate(state_sets)
    if not conflicted:
        return dict(unconflicted)
    conflicted_ids: set[str] = set().union(*conflicted.values())
    store.require(conflicted_ids)
    full = full_conflicted_set(
        version, store, state_sets, unconflicted, conflicted_ids, auth_chain_ids
    )

    power_events = [e for e in full if is_power_event(store[e])]
    selected = closure_within(store, power_events, full)
    power_order = reverse_topological_power_order(store, selected, version)

    authoriser = Authoriser(version, store, rules, fallback=True)
    state: dict[StateKey, str] = (
        {} if version.state_res is StateResAlgorithm.V2_1 else dict(unconflicted)
    )
    authoriser.apply(state, power_order)

    mainline = Mainline(store, state.get((POWER_LEVELS, "")))
    authoriser.apply(state, mainline.order(full - selected))

    state.update(unconflicted)
    return state
