"""Unit tests of the graph and ordering parts of state resolution
(spec: rooms/fragments/v2-state-res.md and rooms/v12.md, "Definitions")."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from trioserver.protocol.room_versions import room_version
from trioserver.protocol.state_res.graph import (
    EventStore,
    MissingEventsError,
    auth_difference,
    closure_within,
    conflicted_subgraph,
    separate,
)
from trioserver.protocol.state_res.ordering import (
    Mainline,
    is_power_event,
    lexicographical_topological_sort,
    reverse_topological_power_order,
    sender_power_level,
)

DATA = Path(__file__).parent.parent / "data" / "state_res"
V10 = room_version("10")
V12 = room_version("12")


def ev(
    event_id: str,
    type_: str,
    sender: str = "@a:x",
    state_key: str | None = "",
    content: dict[str, Any] | None = None,
    auth: tuple[str, ...] = (),
    ts: int = 0,
    room_id: str = "!r:x",
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": event_id,
        "type": type_,
        "sender": sender,
        "room_id": room_id,
        "content": content or {},
        "auth_events": list(auth),
        "prev_events": [],
        "origin_server_ts": ts,
    }
    if state_key is not None:
        event["state_key"] = state_key
    return event


def store_of(*events: dict[str, Any]) -> EventStore:
    return EventStore({e["event_id"]: e for e in events})


# -- lexicographical topological sort ---------------------------------------------


def test_synapse_lexicographical_vector() -> None:
    case = json.loads((DATA / "synapse_v2.json").read_text())["lexicographical_topological_sort"]
    assert lexicographical_topological_sort(case["graph"], lambda n: n) == case["expected"]


def test_kahn_takes_smallest_ready_node_each_step() -> None:
    # b and c both reference a; d references both. Ties broken by key, not name.
    graph = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
    assert lexicographical_topological_sort(graph, lambda n: n) == ["a", "b", "c", "d"]
    rank = {"a": 3, "b": 2, "c": 1, "d": 0}
    assert lexicographical_topological_sort(graph, rank.__getitem__) == ["a", "c", "b", "d"]


def test_kahn_never_puts_a_node_before_its_references() -> None:
    # The smallest key overall (z) must still wait for what it references.
    graph = {"z": ["m"], "m": ["y"], "y": [], "a": []}
    order = lexicographical_topological_sort(graph, lambda n: {"z": 0}.get(n, ord(n)))
    assert order == ["a", "y", "m", "z"]


def test_kahn_ignores_references_outside_the_graph_and_self_loops() -> None:
    graph = {"b": ["outside", "b"], "a": ["b"]}
    assert lexicographical_topological_sort(graph, lambda n: n) == ["b", "a"]


def test_kahn_does_not_stop_on_a_cycle() -> None:
    graph = {"a": ["c"], "b": ["a"], "c": ["b"], "d": []}
    order = lexicographical_topological_sort(graph, lambda n: n)
    assert sorted(order) == ["a", "b", "c", "d"]
    assert order[0] == "d"  # the only ready node; then the cycle is broken at "a"
    assert order[1:] == ["a", "b", "c"]


def test_kahn_result_is_independent_of_dict_order() -> None:
    graph = {"e": ["c", "d"], "d": ["a"], "c": ["a", "b"], "b": [], "a": []}
    expected = lexicographical_topological_sort(graph, lambda n: n)
    reversed_graph = dict(reversed(list(graph.items())))
    assert lexicographical_topological_sort(reversed_graph, lambda n: n) == expected


# -- power events and sender power ------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (ev("$1", "m.room.power_levels"), True),
        (ev("$1", "m.room.join_rules"), True),
        (ev("$1", "m.room.member", "@a:x", "@b:x", {"membership": "ban"}), True),
        (ev("$1", "m.room.member", "@a:x", "@b:x", {"membership": "leave"}), True),
        (ev("$1", "m.room.member", "@b:x", "@b:x", {"membership": "leave"}), False),
        (ev("$1", "m.room.member", "@a:x", "@b:x", {"membership": "invite"}), False),
        (ev("$1", "m.room.member", "@a:x", "@a:x", {"membership": "join"}), False),
        (ev("$1", "m.room.topic"), False),
        (ev("$1", "m.room.create"), False),
        (ev("$1", "m.room.power_levels", state_key=None), False),
    ],
)
def test_is_power_event(event: dict[str, Any], expected: bool) -> None:
    assert is_power_event(event) is expected


def _power_room() -> EventStore:
    return store_of(
        ev("$c", "m.room.create", "@alice:x", content={"creator": "@alice:x"}),
        ev("$pl", "m.room.power_levels", content={"users": {"@bob:x": 50}, "users_default": 5},
           auth=("$c",)),
        ev("$old", "m.room.power_levels", content={"users": {"@bob:x": "70"}}, auth=("$c",)),
        ev("$by_alice_no_pl", "m.room.topic", "@alice:x", auth=("$c",)),
        ev("$by_bob_no_pl", "m.room.topic", "@bob:x", auth=("$c",)),
        ev("$by_bob", "m.room.topic", "@bob:x", auth=("$c", "$pl")),
        ev("$by_carol", "m.room.topic", "@carol:x", auth=("$c", "$pl")),
        ev("$by_bob_str", "m.room.topic", "@bob:x", auth=("$c", "$old")),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("event_id", "power"),
    [
        ("$by_alice_no_pl", 100),  # no power levels: the creator has 100
        ("$by_bob_no_pl", 0),
        ("$by_bob", 50),
        ("$by_carol", 5),  # users_default
        ("$by_bob_str", 70),  # string power levels before v10
        ("$c", 0),
    ],
)
def test_sender_power_level_reads_the_events_auth_events(event_id: str, power: int) -> None:
    assert sender_power_level(_power_room(), event_id, room_version("9")) == power


def test_v12_creators_have_infinite_power_via_the_room_id() -> None:
    store = store_of(
        ev("$create", "m.room.create", "@alice:x", content={"additional_creators": ["@zed:x"]},
           room_id=""),
        ev("$pl", "m.room.power_levels", content={"users": {"@bob:x": 100}}, room_id="!create"),
        ev("$a", "m.room.topic", "@alice:x", auth=("$pl",), room_id="!create"),
        ev("$z", "m.room.topic", "@zed:x", auth=("$pl",), room_id="!create"),
        ev("$b", "m.room.topic", "@bob:x", auth=("$pl",), room_id="!create"),
    )  # fmt: skip
    assert sender_power_level(store, "$a", V12) == math.inf
    assert sender_power_level(store, "$z", V12) == math.inf
    assert sender_power_level(store, "$b", V12) == 100
    assert sender_power_level(store, "$create", V12) == math.inf


def test_reverse_topological_power_order_tie_breaks() -> None:
    store = store_of(
        ev("$c", "m.room.create", "@alice:x", content={"creator": "@alice:x"}),
        ev("$pl", "m.room.power_levels", "@alice:x",
           content={"users": {"@alice:x": 100, "@bob:x": 50}}, auth=("$c",), ts=1),
        # Ready together once $pl is out: alice (100) first, then by ts, then by ID.
        ev("$jr", "m.room.join_rules", "@bob:x", auth=("$c", "$pl"), ts=2),
        ev("$kick_b", "m.room.member", "@bob:x", "@x:x", {"membership": "leave"},
           auth=("$c", "$pl"), ts=5),
        ev("$kick_a", "m.room.member", "@bob:x", "@y:x", {"membership": "leave"},
           auth=("$c", "$pl"), ts=5),
        ev("$pl2", "m.room.power_levels", "@alice:x", auth=("$c", "$pl"), ts=9),
    )  # fmt: skip
    ids = ["$kick_b", "$pl2", "$c", "$jr", "$kick_a", "$pl"]
    order = reverse_topological_power_order(store, ids, V10)
    assert order == ["$c", "$pl", "$pl2", "$jr", "$kick_a", "$kick_b"]


# -- mainline ---------------------------------------------------------------------


def _mainline_room() -> EventStore:
    return store_of(
        ev("$c", "m.room.create"),
        ev("$p1", "m.room.power_levels", auth=("$c",), ts=1),
        ev("$p2", "m.room.power_levels", auth=("$c", "$p1"), ts=2),
        ev("$p3", "m.room.power_levels", auth=("$c", "$p2"), ts=3),
        ev("$side", "m.room.power_levels", auth=("$c", "$p1"), ts=4),  # a fork off p1
        ev("$side2", "m.room.power_levels", auth=("$c", "$side"), ts=5),
        ev("$t_p3", "m.room.topic", auth=("$c", "$p3"), ts=10),
        ev("$t_p2", "m.room.topic", auth=("$c", "$p2"), ts=20),
        ev("$t_side2", "m.room.topic", auth=("$c", "$side2"), ts=30),
        ev("$t_none", "m.room.topic", auth=("$c",), ts=40),
        ev("$t_p2_early", "m.room.topic", auth=("$c", "$p2"), ts=5),
    )


def test_mainline_positions() -> None:
    mainline = Mainline(_mainline_room(), "$p3")
    assert mainline.position("$t_p3") == 0
    assert mainline.position("$t_p2") == 1
    assert mainline.position("$t_side2") == 2  # side2 -> side -> p1 (index 2)
    assert mainline.position("$t_none") == math.inf
    # e0 itself is not part of its own chain: p2 is judged by p1.
    assert mainline.position("$p2") == 2


def test_mainline_order_greater_position_first_then_ts_then_id() -> None:
    mainline = Mainline(_mainline_room(), "$p3")
    ids = ["$t_p3", "$t_p2", "$t_side2", "$t_none", "$t_p2_early"]
    assert mainline.order(ids) == ["$t_none", "$t_side2", "$t_p2_early", "$t_p2", "$t_p3"]
    assert mainline.order(reversed(ids)) == mainline.order(ids)


def test_mainline_without_power_levels_orders_by_ts_then_id() -> None:
    mainline = Mainline(_mainline_room(), None)
    assert mainline.order(["$t_p2", "$t_p3", "$t_none"]) == ["$t_p3", "$t_p2", "$t_none"]


# -- unconflicted / conflicted, auth difference, subgraph -------------------------


def test_separate_treats_missing_keys_as_conflicted() -> None:
    a = {("t", ""): "$1", ("m", "@a"): "$2", ("only_a", ""): "$3"}
    b = {("t", ""): "$1", ("m", "@a"): "$4"}
    unconflicted, conflicted = separate([a, b])
    assert unconflicted == {("t", ""): "$1"}
    assert conflicted == {("m", "@a"): {"$2", "$4"}, ("only_a", ""): {"$3"}}
    assert separate([a]) == (a, {})
    assert separate([]) == ({}, {})


def _diamond() -> EventStore:
    # c <- p1 <- {x, y}; z cites y; u (unconflicted) cites p1.
    return store_of(
        ev("$c", "m.room.create"),
        ev("$p1", "m.room.power_levels", auth=("$c",)),
        ev("$x", "m.room.topic", auth=("$c", "$p1")),
        ev("$y", "m.room.member", "@y:x", "@y:x", auth=("$c", "$p1")),
        ev("$z", "m.room.member", "@y:x", "@y:x", auth=("$c", "$p1", "$y")),
        ev("$u", "m.room.name", auth=("$c", "$p1")),
    )


def test_auth_difference() -> None:
    store = _diamond()
    s1 = {("m.room.create", ""): "$c", ("m.room.name", ""): "$u", ("m.room.member", "@y:x"): "$z"}
    s2 = {("m.room.create", ""): "$c", ("m.room.name", ""): "$u", ("m.room.member", "@y:x"): "$y"}
    unconflicted, conflicted = separate([s1, s2])
    ids = set().union(*conflicted.values())
    # C1 = {c, p1, y}, C2 = {c, p1}: the difference is {y}.
    assert auth_difference(store, [s1, s2], unconflicted, ids) == {"$y"}

    def chains(start: Any) -> set[str]:
        return store.auth_closure(start)

    assert auth_difference(store, [s1, s2], unconflicted, ids, chains) == {"$y"}


def test_conflicted_subgraph_includes_paths_between_conflicted_events() -> None:
    store = store_of(
        ev("$c", "m.room.create"),
        ev("$p0", "m.room.power_levels", auth=("$c",)),
        ev("$p1", "m.room.power_levels", auth=("$c", "$p0")),
        ev("$p2", "m.room.power_levels", auth=("$c", "$p1")),
        ev("$m", "m.room.member", "@m:x", "@m:x", auth=("$c", "$p2")),
        ev("$n", "m.room.member", "@m:x", "@m:x", auth=("$c", "$m")),
    )
    # p0 and n are conflicted: the path n -> m -> p2 -> p1 -> p0 is the subgraph;
    # c is below p0 only, so it is not on a path between them.
    assert conflicted_subgraph(store, {"$p0", "$n"}) == {"$p0", "$p1", "$p2", "$m", "$n"}
    assert conflicted_subgraph(store, {"$p0"}) == set()


def test_closure_within_walks_through_events_outside_the_set() -> None:
    store = _diamond()
    assert closure_within(store, ["$z"], {"$p1", "$x"}) == {"$z", "$p1"}


def test_lazy_store_fetches_in_batches_and_remembers_missing() -> None:
    events = {e["event_id"]: e for e in [ev("$c", "m.room.create"), ev("$a", "t", auth=("$c",))]}
    calls: list[list[str]] = []

    def fetch(ids: Any) -> dict[str, dict[str, Any]]:
        ids = list(ids)
        calls.append(ids)
        return {i: events[i] for i in ids if i in events}

    store = EventStore(fetch)
    assert store.auth_closure(["$a", "$gone"]) == {"$c"}
    assert store.get("$gone") is None
    assert calls == [["$a", "$gone"], ["$c"]]
    with pytest.raises(MissingEventsError):
        store.require(["$a", "$gone"])
    assert len(calls) == 2
