"""The worked example of the Dendrite sync-server notes: a room with the
timeline [A, B, C, D, 1, 2, 3, D', 4, D'', 5, B', D''', D'''', 6] (letters:
state events, primes: updates of the same key; numbers: messages), current
state [A, B', C, D''''], synced with ``limit=5`` from several positions.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.rooms_helpers import User, user
from tests.sync.sync_helpers import sync
from trioserver.rooms.tokens import SyncToken
from trioserver.testing import TestHomeserver

pytestmark = pytest.mark.usefixtures("autojump_clock")

SEQUENCE = ["A", "B", "C", "D", "1", "2", "3", "D'", "4", "D''", "5", "B'", "D'''", "D''''", "6"]
LIMIT5 = {"room": {"timeline": {"limit": 5}}}


async def _build(hs: TestHomeserver, alice: User, room: str) -> dict[str, int]:
    """Send the sequence; label -> stream position (1-based index -> position)."""
    positions: dict[str, int] = {}
    for index, label in enumerate(SEQUENCE, start=1):
        if label[0].isdigit():
            await alice.send_ok(room, label, f"t{index}")
        else:
            response = await alice.put_state(room, "x.example", {"v": label}, label[0])
            assert response.status == 200, response.json()
        positions[str(index)] = hs.services.roomserver.output.position
        positions[label] = positions[str(index)]
    return positions


def _labels(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for event in events:
        if event["type"] == "x.example":
            out.append(event["content"]["v"])
        elif event["type"] == "m.room.message":
            out.append(event["content"]["body"])
    return out


async def test_dendrite_worked_example(homeserver: TestHomeserver) -> None:
    alice = await user(homeserver, "alice")
    room = await alice.create_room()
    positions = await _build(homeserver, alice, room)

    def since(index: int) -> str:
        return str(SyncToken(events=positions[str(index)]))

    # ?since=14&limit=5: only the newest event, no state
    body = await sync(alice, since(14), filter_=LIMIT5)
    entry = body["rooms"]["join"][room]
    assert _labels(entry["timeline"]["events"]) == ["6"]
    assert entry["state"]["events"] == []
    assert entry["timeline"]["limited"] is False

    # ?since=9&limit=5: [5, B', D''', D'''', 6], partial state [D'']
    body = await sync(alice, since(9), filter_=LIMIT5)
    entry = body["rooms"]["join"][room]
    assert _labels(entry["timeline"]["events"]) == ["5", "B'", "D'''", "D''''", "6"]
    assert _labels(entry["state"]["events"]) == ["D''"]
    assert entry["timeline"]["limited"] is True

    # the same with full_state: [A, B, C, D''] (plus the room's creation state)
    body = await sync(alice, since(9), filter_=LIMIT5, full_state=True)
    entry = body["rooms"]["join"][room]
    assert _labels(entry["timeline"]["events"]) == ["5", "B'", "D'''", "D''''", "6"]
    assert sorted(_labels(entry["state"]["events"])) == ["A", "B", "C", "D''"]
    assert {"m.room.create", "m.room.power_levels"} <= {e["type"] for e in entry["state"]["events"]}

    # an initial sync: the same timeline, the full state at its start
    body = await sync(alice, filter_=LIMIT5)
    entry = body["rooms"]["join"][room]
    assert _labels(entry["timeline"]["events"]) == ["5", "B'", "D'''", "D''''", "6"]
    assert sorted(_labels(entry["state"]["events"])) == ["A", "B", "C", "D''"]

    # ?since=4 (just after D): the state delta folds D' and D'' into [D'']
    body = await sync(alice, since(4), filter_=LIMIT5)
    entry = body["rooms"]["join"][room]
    assert _labels(entry["state"]["events"]) == ["D''"]
    assert entry["timeline"]["limited"] is True

    # ?since=0 of the room (before A): the delta has A, B, C, D''
    body = await sync(alice, str(SyncToken(events=positions["A"] - 1)), filter_=LIMIT5)
    entry = body["rooms"]["join"][room]
    assert sorted(_labels(entry["state"]["events"])) == ["A", "B", "C", "D''"]

    # ?since=10 with a large limit: every event after D'', no state
    body = await sync(alice, since(10), filter_={"room": {"timeline": {"limit": 50}}})
    entry = body["rooms"]["join"][room]
    assert _labels(entry["timeline"]["events"]) == ["5", "B'", "D'''", "D''''", "6"]
    assert entry["state"]["events"] == []
    assert entry["timeline"]["limited"] is False

    # a timeline filter hiding the state type: the changes reach `state` instead
    body = await sync(
        alice,
        since(9),
        filter_={"room": {"timeline": {"limit": 5, "not_types": ["x.example"]}}},
    )
    entry = body["rooms"]["join"][room]
    assert _labels(entry["timeline"]["events"]) == ["5", "6"]
    assert sorted(_labels(entry["state"]["events"])) == ["B'", "D''''"]
