"""resolve_state_lazy: same results as resolve_state, loading only what the
conflicted part of the state needs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

from trioserver.protocol.room_versions import room_version
from trioserver.protocol.state_res import MissingEventsError, resolve_state, resolve_state_lazy
from trioserver.protocol.state_res.graph import EventStore

Key = tuple[str, str]
ADMIN = "@admin:x"


def big_room(version: str, members: int) -> tuple[dict[str, dict[str, Any]], list[dict[Key, str]]]:
    """``members`` joined users, then two branches: a topic and a displayname
    change on one, a power levels change and a kick on the other."""
    rv = room_version(version)
    events: dict[str, dict[str, Any]] = {}
    room_id = "!create" if rv.room_id_from_create_event else "!r:x"

    def send(
        state: dict[Key, str], kind: str, sender: str, key: str, content: Any, auth: list[Key]
    ) -> None:
        event_id = "$create" if kind == "m.room.create" else f"$e{len(events)}"
        if not rv.room_id_from_create_event:
            auth = [("m.room.create", ""), *auth]
        event = {
            "type": kind,
            "sender": sender,
            "state_key": key,
            "content": content,
            "origin_server_ts": len(events),
            "depth": len(events) + 1,
            "prev_events": [],
            "auth_events": sorted({state[k] for k in auth if k in state}),
        }
        if kind != "m.room.create" or not rv.room_id_from_create_event:
            event["room_id"] = room_id
        events[event_id] = event
        state[(kind, key)] = event_id

    state: dict[Key, str] = {}
    send(state, "m.room.create", ADMIN, "", {"creator": ADMIN, "room_version": version}, [])
    me, pl, jr = ("m.room.member", ADMIN), ("m.room.power_levels", ""), ("m.room.join_rules", "")
    send(state, "m.room.member", ADMIN, ADMIN, {"membership": "join"}, [])
    users = {} if rv.privileged_creators else {ADMIN: 100}
    send(state, "m.room.power_levels", ADMIN, "", {"users": users}, [me])
    send(state, "m.room.join_rules", ADMIN, "", {"join_rule": "public"}, [me, pl])
    for i in range(members):
        user = f"@u{i}:x"
        send(state, "m.room.member", user, user, {"membership": "join"}, [pl, jr])
    a, b = dict(state), dict(state)
    send(a, "m.room.topic", ADMIN, "", {"topic": "a"}, [pl, me])
    u1 = ("m.room.member", "@u1:x")
    send(a, "m.room.member", "@u1:x", "@u1:x", {"membership": "join", "displayname": "one"},
         [pl, jr, u1])  # fmt: skip
    send(b, "m.room.power_levels", ADMIN, "", {"users": {**users, "@u2:x": 50}}, [pl, me])
    u3 = ("m.room.member", "@u3:x")
    send(b, "m.room.member", ADMIN, "@u3:x", {"membership": "leave"}, [pl, me, u3])
    return events, [a, b]


@pytest.mark.parametrize("version", ["10", "12"])
def test_lazy_with_an_index_loads_only_the_conflicted_part(version: str) -> None:
    events, state_sets = big_room(version, 2_000)
    index = EventStore(events)
    fetched: list[str] = []
    calls = 0

    def fetch(ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        nonlocal calls
        calls += 1
        ids = list(ids)
        fetched.extend(ids)
        return {i: events[i] for i in ids if i in events}

    expected = resolve_state(version, state_sets, events)
    assert resolve_state_lazy(version, state_sets, fetch, index.auth_closure) == expected
    assert len(fetched) == len(set(fetched))
    assert len(fetched) < 30, sorted(fetched)
    assert calls < 15
    assert expected[("m.room.topic", "")] == state_sets[0][("m.room.topic", "")]
    assert expected[("m.room.member", "@u3:x")] == state_sets[1][("m.room.member", "@u3:x")]


def test_lazy_without_an_index_walks_the_room_once() -> None:
    events, state_sets = big_room("10", 300)
    batches: list[list[str]] = []

    def fetch(ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        batches.append(list(ids))
        return {i: events[i] for i in batches[-1] if i in events}

    assert resolve_state_lazy("10", state_sets, fetch) == resolve_state("10", state_sets, events)
    loaded = [i for batch in batches for i in batch]
    assert len(loaded) == len(set(loaded)) <= len(events)
    assert len(batches) < 25  # one batch per level of each walk, not one per event


def test_missing_conflicted_event_is_an_error() -> None:
    events, state_sets = big_room("10", 3)
    del events[state_sets[0][("m.room.topic", "")]]
    with pytest.raises(MissingEventsError) as info:
        resolve_state("10", state_sets, events)
    assert info.value.event_ids == [state_sets[0][("m.room.topic", "")]]


def test_missing_auth_chain_events_are_skipped() -> None:
    events, state_sets = big_room("10", 3)
    complete = resolve_state("10", state_sets, events)
    # An auth event nobody can produce any more (e.g. purged) is treated as absent.
    for event in events.values():
        event["auth_events"] = [*event["auth_events"], "$gone"]
    assert resolve_state("10", state_sets, events) == complete


def test_no_state_sets_and_unknown_room_versions() -> None:
    assert resolve_state("10", [], {}) == {}
    with pytest.raises(ValueError):
        resolve_state("999", [{}], {})


# -- robustness ------------------------------------------------------------------


def test_inputs_are_not_modified() -> None:
    events, state_sets = big_room("12", 5)
    before = json.dumps([events, [sorted(s.items()) for s in state_sets]], sort_keys=True)
    resolve_state("12", state_sets, events)
    after = json.dumps([events, [sorted(s.items()) for s in state_sets]], sort_keys=True)
    assert before == after


def test_forged_auth_cycle_terminates_deterministically() -> None:
    # v1/v2 event IDs are chosen by the sender, so a malicious server can make
    # auth_events cycle. Resolution must still end, with one answer.
    events, state_sets = big_room("2", 3)
    for event_id, event in events.items():
        event["event_id"] = event_id
    pl_a = state_sets[0][("m.room.power_levels", "")]
    pl_b = state_sets[1][("m.room.power_levels", "")]
    events[pl_a]["auth_events"] = [*events[pl_a]["auth_events"], pl_b]
    events[pl_b]["auth_events"] = [*events[pl_b]["auth_events"], pl_a]
    first = resolve_state("2", state_sets, events)
    assert resolve_state("2", state_sets[::-1], events) == first
    assert first[("m.room.power_levels", "")] in (pl_a, pl_b)
