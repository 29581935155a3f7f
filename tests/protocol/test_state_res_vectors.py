"""State resolution against the test vectors in tests/data/state_res (see SOURCES.md):
Synapse's v2 scenarios (Synapse as oracle) and ruma's fixtures, including
MSC4297 problems A and B under v2.0 (room v11) and v2.1 (room v12)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from trioserver.protocol.events import prev_event_ids, state_tuple
from trioserver.protocol.state_res import resolve_state, resolve_state_lazy
from trioserver.protocol.state_res.graph import EventStore

DATA = Path(__file__).parent.parent / "data" / "state_res"
RUMA = DATA / "ruma"

StateMap = dict[tuple[str, str], str]
Events = dict[str, dict[str, Any]]


def flat(nested: Mapping[str, Mapping[str, str]]) -> StateMap:
    return {(t, k): v for t, keys in nested.items() for k, v in keys.items()}


@cache
def synapse() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "synapse_v2.json").read_text())
    return data


def synapse_scenario(name: str) -> dict[str, Any]:
    return next(s for s in synapse()["scenarios"] if s["name"] == name)


SYNAPSE_NAMES = [s["name"] for s in synapse()["scenarios"]]


def check_both(version: str, state_sets: list[StateMap], events: Events) -> StateMap:
    """Resolve eagerly and lazily (with and without an auth chain index); all agree."""
    eager = resolve_state(version, state_sets, events)
    store = EventStore(events)
    fetched: list[str] = []

    def fetch(ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(ids)
        assert not set(ids) & set(fetched), "an event was fetched twice"
        fetched.extend(ids)
        return {i: events[i] for i in ids if i in events}

    def chains(ids: Iterable[str]) -> set[str]:
        return store.auth_closure(ids)

    assert resolve_state_lazy(version, state_sets, fetch, chains) == eager
    fetched.clear()
    assert resolve_state_lazy(version, state_sets, fetch) == eager
    return eager


# -- Synapse ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SYNAPSE_NAMES)
def test_synapse_final_resolution(name: str) -> None:
    scenario = synapse_scenario(name)
    events = {e["event_id"]: e for e in scenario["events"]}
    final = scenario["final_resolution"]
    state_sets = [flat(s) for s in final["state_sets"]]
    expected = flat(final["expected_state"])
    assert check_both(synapse()["room_version"], state_sets, events) == expected
    assert resolve_state("2", state_sets[::-1], events) == expected


@pytest.mark.parametrize("name", SYNAPSE_NAMES)
def test_synapse_expected_changed_state(name: str) -> None:
    scenario = synapse_scenario(name)
    events = {e["event_id"]: e for e in scenario["events"]}
    final = scenario["final_resolution"]
    result = resolve_state("2", [flat(s) for s in final["state_sets"]], events)
    for joined, event_id in scenario["expected_changed_state"].items():
        event_type, _, state_key = joined.partition("|")
        assert result[(event_type, state_key)] == event_id


def test_synapse_intermediate_resolutions() -> None:
    checked = 0
    for scenario in synapse()["scenarios"]:
        events = {e["event_id"]: e for e in scenario["events"]}
        for merge in scenario["intermediate_resolutions"]:
            state_sets = [flat(s) for s in merge["state_sets"]]
            assert check_both("2", state_sets, events) == flat(merge["expected"]), merge["at"]
            checked += 1
    assert checked >= 1


@pytest.mark.parametrize("version", ["3", "6", "10"])
def test_synapse_scenarios_hold_in_later_v2_room_versions(version: str) -> None:
    # The v2 algorithm is the same in rooms v2-v11; these events are valid there too.
    for scenario in synapse()["scenarios"]:
        events = {e["event_id"]: e for e in scenario["events"]}
        final = scenario["final_resolution"]
        state_sets = [flat(s) for s in final["state_sets"]]
        assert resolve_state(version, state_sets, events) == flat(final["expected_state"])


# -- ruma ------------------------------------------------------------------------


@cache
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RUMA / "manifest.json").read_text())
    return data


def ruma_test(name: str) -> dict[str, Any]:
    return next(t for t in manifest()["tests"] if t["name"] == name)


RUMA_NAMES = [t["name"] for t in manifest()["tests"]]
RUMA_BATCH_NAMES = [t["name"] for t in manifest()["tests"] if t["kind"] == "batches"]


def load_pdus(path: str) -> list[dict[str, Any]]:
    pdus: list[dict[str, Any]] = json.loads((RUMA / path).read_text())
    for pdu in pdus:
        pdu.pop("test-comments", None)
    return pdus


def snapshot_state(path: str) -> StateMap:
    text = (RUMA / path).read_text()
    body = text.split("---", 2)[2]
    return {(e["type"], e["state_key"]): e["event_id"] for e in json.loads(body)}


@pytest.mark.parametrize("name", RUMA_NAMES)
def test_ruma_manifest_matches_its_snapshot(name: str) -> None:
    test = ruma_test(name)
    assert flat(test["expected_state"]) == snapshot_state(test["expected_snapshot"])


@pytest.mark.parametrize(
    "name", [t["name"] for t in manifest()["tests"] if t["kind"] == "state_maps"]
)
def test_ruma_state_maps(name: str) -> None:
    test = ruma_test(name)
    events = {p["event_id"]: p for batch in test["pdu_batches"] for p in load_pdus(batch)}
    state_sets: list[StateMap] = []
    for path in test["state_maps"]:
        ids = json.loads((RUMA / path).read_text())
        state_sets.append({state_tuple(events[i]): i for i in ids})
    expected = flat(test["expected_state"])
    assert check_both(test["room_version"], state_sets, events) == expected
    assert resolve_state(test["room_version"], state_sets[::-1], events) == expected


def single(event: dict[str, Any]) -> StateMap:
    return {state_tuple(event): event["event_id"]}


@pytest.mark.parametrize("name", RUMA_BATCH_NAMES)
def test_ruma_batches_one_resolution_per_batch(name: str) -> None:
    test = ruma_test(name)
    version = test["room_version"]
    events: Events = {}
    state: StateMap | None = None
    for path in test["pdu_batches"]:
        pdus = load_pdus(path)
        events.update((p["event_id"], p) for p in pdus)
        state_sets = ([state] if state is not None else []) + [single(p) for p in pdus]
        state = check_both(version, state_sets, events)
    assert state == flat(test["expected_state"])


@pytest.mark.parametrize("name", RUMA_BATCH_NAMES)
def test_ruma_batches_all_at_once(name: str) -> None:
    test = ruma_test(name)
    pdus = [p for path in test["pdu_batches"] for p in load_pdus(path)]
    events = {p["event_id"]: p for p in pdus}
    result = check_both(test["room_version"], [single(p) for p in pdus], events)
    assert result == flat(test["expected_state"])


@pytest.mark.parametrize("name", RUMA_BATCH_NAMES)
def test_ruma_batches_event_by_event(name: str) -> None:
    """Walk the prev_events DAG: the state before each event is the resolution
    of the states after its prev events; the state after it resolves
    [before, before + event]; the result resolves the states at the leaves."""
    test = ruma_test(name)
    version = test["room_version"]
    pdus = [p for path in test["pdu_batches"] for p in load_pdus(path)]
    events = {p["event_id"]: p for p in pdus}
    after: dict[str, StateMap] = {}
    pending = sorted(events)
    while pending:  # the fixtures are small: a quadratic topological walk will do
        ready = [e for e in pending if all(p in after for p in prev_event_ids(events[e]))]
        assert ready, "prev_events cycle"
        for event_id in ready:
            befores = [after[p] for p in prev_event_ids(events[event_id])]
            before = resolve_state(version, befores, events) if befores else {}
            with_event = {**before, **single(events[event_id])}
            after[event_id] = resolve_state(version, [before, with_event], events)
            pending.remove(event_id)
    cited = {p for e in events.values() for p in prev_event_ids(e)}
    leaves = [after[e] for e in sorted(events) if e not in cited]
    assert resolve_state(version, leaves, events) == flat(test["expected_state"])


def test_msc4297_results_differ_between_v2_0_and_v2_1() -> None:
    for problem in ("a", "b"):
        v20 = flat(ruma_test(f"msc4297_problem_{problem}_state_res_v2_0")["expected_state"])
        v21 = flat(ruma_test(f"msc4297_problem_{problem}_state_res_v2_1")["expected_state"])
        assert v20 != v21
    # Problem A: v2.0 loses the join rules entirely, v2.1 keeps them.
    name = "msc4297_problem_a_state_res_v2_0"
    assert ("m.room.join_rules", "") not in flat(ruma_test(name)["expected_state"])


# -- rejected events (spec v2.1, "Rejected events") -----------------------------


def problem_a_v12() -> tuple[list[StateMap], Events]:
    test = ruma_test("msc4297_problem_a_state_res_v2_1")
    events = {p["event_id"]: p for batch in test["pdu_batches"] for p in load_pdus(batch)}
    state_sets = []
    for path in test["state_maps"]:
        ids = json.loads((RUMA / path).read_text())
        state_sets.append({state_tuple(events[i]): i for i in ids})
    return state_sets, events


def test_rejected_auth_events_are_not_used_as_fallback() -> None:
    state_sets, events = problem_a_v12()
    # In v2.1 the join rules pass because alice's join is taken from their own
    # auth events (alice's membership in the state being replayed is absent).
    assert ("m.room.join_rules", "") in resolve_state("12", state_sets, events)
    events["$00-m-room-member-join-alice"] = {
        **events["$00-m-room-member-join-alice"],
        "_rejected": True,
    }
    result = check_both("12", state_sets, events)
    assert ("m.room.join_rules", "") not in result


def test_rejected_events_are_otherwise_handled_as_usual() -> None:
    state_sets, events = problem_a_v12()
    expected = resolve_state("12", state_sets, events)
    for event_id in ("$01-m-room-join_rules", "$01-m-room-member-change-display-name-bob"):
        events[event_id] = {**events[event_id], "_rejected": True}
    # Rejected conflicted events are re-checked and may enter the state.
    assert check_both("12", state_sets, events) == expected
