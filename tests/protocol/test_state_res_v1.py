"""State resolution v1 (room version 1), table tests written from the spec
(rooms/v1.md, "State resolution"): conflicts are keys with different event IDs;
power levels, then join rules, then members are resolved first by replaying
them oldest first (ascending depth, then descending sha1(event_id)) while they
pass the auth rules; other conflicts take the newest event (highest depth,
then lowest sha1(event_id)) that passes the auth rules."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from trioserver.protocol.state_res import resolve_state

ROOM = "!room:x"
ALICE, BOB, CAROL = "@alice:x", "@bob:x", "@carol:x"


class Room:
    """Room version 1 events (``event_id`` field, ``[id, hashes]`` references)."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.base: dict[tuple[str, str], str] = {}
        self.add("create", "m.room.create", ALICE, "", {"creator": ALICE}, depth=1, auth=[])
        self.add("ma", "m.room.member", ALICE, ALICE, {"membership": "join"}, depth=2)
        self.add("pl", "m.room.power_levels", ALICE, "", self.levels(), depth=3)
        self.add("jr", "m.room.join_rules", ALICE, "", {"join_rule": "public"}, depth=4)
        self.add("mb", "m.room.member", BOB, BOB, {"membership": "join"}, depth=5)

    @staticmethod
    def levels(**users: int) -> dict[str, Any]:
        return {"users": {ALICE: 100, **{f"@{u}:x": v for u, v in users.items()}}}

    def add(
        self,
        name: str,
        event_type: str,
        sender: str,
        state_key: str,
        content: dict[str, Any],
        *,
        depth: int,
        auth: list[str] | None = None,
        state: dict[tuple[str, str], str] | None = None,
    ) -> str:
        event_id = f"${name}:x"
        if auth is None:
            auth = sorted(set((state or self.base).values()))
        self.events[event_id] = {
            "event_id": event_id,
            "room_id": ROOM,
            "sender": sender,
            "type": event_type,
            "state_key": state_key,
            "content": content,
            "depth": depth,
            "origin_server_ts": depth,
            "prev_events": [],
            "auth_events": [[a, {"sha256": "x"}] for a in auth],
            "hashes": {"sha256": "x"},
            "signatures": {},
        }
        if state is None:
            self.base[(event_type, state_key)] = event_id
        else:
            state[(event_type, state_key)] = event_id
        return event_id

    def fork(self) -> dict[tuple[str, str], str]:
        return dict(self.base)

    def resolve(self, *state_sets: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
        result = resolve_state("1", list(state_sets), self.events)
        assert resolve_state("1", list(state_sets)[::-1], self.events) == result
        return result


def sha1(event_id: str) -> str:
    return hashlib.sha1(event_id.encode()).hexdigest()


PL = ("m.room.power_levels", "")
JR = ("m.room.join_rules", "")
TOPIC = ("m.room.topic", "")


def member(user: str) -> tuple[str, str]:
    return ("m.room.member", user)


def test_no_conflict_is_the_union_and_a_missing_key_is_no_conflict() -> None:
    room = Room()
    a, b = room.fork(), room.fork()
    room.add("topic", "m.room.topic", ALICE, "", {"topic": "t"}, depth=6, state=a)
    assert room.resolve(a, b) == a


def test_power_levels_replayed_oldest_first_while_allowed() -> None:
    room = Room()
    a, b = room.fork(), room.fork()
    # a: alice makes bob a moderator (depth 6); b: alice's older power levels
    # (depth 3) stay. The depth 6 event passes auth in R, so it wins.
    newer = room.add(
        "pl_a", "m.room.power_levels", ALICE, "", room.levels(bob=50), depth=6, state=a
    )
    assert room.resolve(a, b)[PL] == newer


def test_power_levels_stop_at_the_first_event_that_fails() -> None:
    room = Room()
    a, b, c = room.fork(), room.fork(), room.fork()
    # Sorted by depth: pl (3), bob_pl (6, bob has no power: fails), alice_pl (7).
    room.add("bob_pl", "m.room.power_levels", BOB, "", room.levels(bob=100), depth=6, state=a)
    room.add("alice_pl", "m.room.power_levels", ALICE, "", room.levels(carol=10), depth=7, state=b)
    # The first event (lowest depth) is taken without a check; the replay
    # stops at bob's event, so alice's later one is never reached.
    assert room.resolve(a, b, c)[PL] == "$pl:x"
    # Without the failing event alice's change goes through.
    assert room.resolve(b, c)[PL] == "$alice_pl:x"


def test_power_levels_same_depth_descending_sha1() -> None:
    room = Room()
    a, b = room.fork(), room.fork()
    x = room.add("x1", "m.room.power_levels", ALICE, "", room.levels(bob=10), depth=6, state=a)
    y = room.add("y1", "m.room.power_levels", ALICE, "", room.levels(bob=20), depth=6, state=b)
    first, second = sorted([x, y], key=sha1, reverse=True)
    # The larger sha1 comes first and goes in unchecked; the other replaces it if allowed.
    assert room.resolve(a, b)[PL] == second
    assert first != second


def test_join_rules_and_members_resolved_in_order() -> None:
    room = Room()
    a, b = room.fork(), room.fork()
    # a: alice makes the room invite-only (depth 6).
    room.add("jr_inv", "m.room.join_rules", ALICE, "", {"join_rule": "invite"}, depth=6, state=a)
    # b: carol joins the public room (depth 6); bob leaves (depth 7).
    room.add("mc", "m.room.member", CAROL, CAROL, {"membership": "join"}, depth=6, state=b)
    room.add("lb", "m.room.member", BOB, BOB, {"membership": "leave"}, depth=7, state=b)
    result = room.resolve(a, b)
    assert result[JR] == "$jr_inv:x"
    # carol's join is the only event for its key: not a conflict, it stays.
    assert result[member(CAROL)] == "$mc:x"
    # bob: mb (depth 5) first, then his leave passes in R.
    assert result[member(BOB)] == "$lb:x"


def test_member_replay_checks_against_resolved_join_rules() -> None:
    room = Room()
    a, b = room.fork(), room.fork()
    room.add("jr_inv", "m.room.join_rules", ALICE, "", {"join_rule": "invite"}, depth=6, state=a)
    room.add("lc", "m.room.member", CAROL, CAROL, {"membership": "leave"}, depth=6, state=a)
    room.add("mc", "m.room.member", CAROL, CAROL, {"membership": "join"}, depth=7, state=b)
    result = room.resolve(a, b)
    assert result[JR] == "$jr_inv:x"
    # carol: leave (depth 6) first; her join (depth 7) fails: the room is invite-only.
    assert result[member(CAROL)] == "$lc:x"


@pytest.mark.parametrize("bob_level", [0, 50])
def test_other_conflicts_take_the_newest_event_that_passes(bob_level: int) -> None:
    room = Room()
    levels = room.levels(bob=bob_level)
    levels["events"] = {"m.room.topic": 50}
    room.add("pl2", "m.room.power_levels", ALICE, "", levels, depth=6)
    a, b = room.fork(), room.fork()
    room.add("t_alice", "m.room.topic", ALICE, "", {"topic": "a"}, depth=7, state=a)
    room.add("t_bob", "m.room.topic", BOB, "", {"topic": "b"}, depth=9, state=b)
    expected = "$t_bob:x" if bob_level >= 50 else "$t_alice:x"
    assert room.resolve(a, b)[TOPIC] == expected


def test_other_conflicts_same_depth_lowest_sha1() -> None:
    room = Room()
    a, b = room.fork(), room.fork()
    x = room.add("tx", "m.room.topic", ALICE, "", {"topic": "x"}, depth=7, state=a)
    y = room.add("ty", "m.room.topic", ALICE, "", {"topic": "y"}, depth=7, state=b)
    assert room.resolve(a, b)[TOPIC] == min([x, y], key=sha1)


def test_other_conflict_where_nothing_passes_keeps_no_event() -> None:
    room = Room()
    a, b = room.fork(), room.fork()
    room.add("t1", "m.room.topic", CAROL, "", {"topic": "x"}, depth=7, state=a)
    room.add("t2", "m.room.topic", CAROL, "", {"topic": "y"}, depth=8, state=b)
    assert TOPIC not in room.resolve(a, b)  # carol is not in the room


def test_power_levels_resolved_before_other_conflicts() -> None:
    room = Room()
    a, b = room.fork(), room.fork()
    # a: alice demotes nobody but raises the topic level to 100 (depth 6).
    levels = room.levels()
    levels["events"] = {"m.room.topic": 100}
    room.add("pl_strict", "m.room.power_levels", ALICE, "", levels, depth=6, state=a)
    # b: bob (power 0, topic level defaults to 50) could not set a topic anyway;
    # alice's topic at depth 8 is checked against the resolved power levels.
    room.add("t_alice", "m.room.topic", ALICE, "", {"topic": "a"}, depth=8, state=b)
    result = room.resolve(a, b)
    assert result[PL] == "$pl_strict:x"
    assert result[TOPIC] == "$t_alice:x"
