"""GET /rooms/{roomId}/timestamp_to_event (room_event_by_timestamp.yaml)."""

from __future__ import annotations

from typing import Any

import pytest
import trio.testing

from tests.api.history_helpers import V1, User, q, send_event, user
from trioserver.testing import TestHomeserver

pytestmark = pytest.mark.usefixtures("autojump_clock")


async def ts_to_event(u: User, room_id: str, **params: Any) -> Any:
    return await u.client.get(
        f"{V1}/rooms/{q(room_id)}/timestamp_to_event",
        query={k: str(v) for k, v in params.items()},
    )


async def test_timestamp_to_event(
    homeserver: TestHomeserver, autojump_clock: trio.testing.MockClock
) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    room = await alice.create_room(preset="public_chat")
    sent: list[tuple[str, int]] = []
    for i in range(3):
        autojump_clock.jump(10)  # 10 s apart on the mock clock
        event_id = await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": str(i)})
        pdu = (await hs.services.rooms.events([event_id]))[event_id]
        sent.append((event_id, pdu["origin_server_ts"]))
    (e0, t0), (e1, t1), (e2, t2) = sent

    async def found(ts: int, direction: str) -> tuple[str, int]:
        response = await ts_to_event(alice, room, ts=ts, dir=direction)
        assert response.status == 200, response.json()
        return response.json()["event_id"], response.json()["origin_server_ts"]

    assert await found(t1, "f") == (e1, t1)
    assert await found(t1, "b") == (e1, t1)
    assert await found(t1 + 1, "f") == (e2, t2)
    assert await found(t1 - 1, "b") == (e0, t0)
    assert await found(t2 + 10**6, "b") == (e2, t2)
    response = await ts_to_event(alice, room, ts=t2 + 1, dir="f")
    assert (response.status, response.json()["errcode"]) == (404, "M_NOT_FOUND")


async def test_timestamp_to_event_errors(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    eve = await user(hs, "eve")
    room = await alice.create_room()
    assert (await ts_to_event(eve, room, ts=1, dir="f")).status == 403
    assert (await ts_to_event(alice, "!nope:localhost", ts=1, dir="f")).status == 404
    cases: list[tuple[dict[str, Any], str]] = [
        ({"dir": "f"}, "M_MISSING_PARAM"),
        ({"ts": 1}, "M_MISSING_PARAM"),
        ({"ts": "x", "dir": "f"}, "M_INVALID_PARAM"),
        ({"ts": "-5", "dir": "f"}, "M_INVALID_PARAM"),
        ({"ts": "9" * 30, "dir": "f"}, "M_INVALID_PARAM"),
        ({"ts": 1, "dir": "sideways"}, "M_INVALID_PARAM"),
    ]
    for params, errcode in cases:
        response = await ts_to_event(alice, room, **params)
        assert (response.status, response.json()["errcode"]) == (400, errcode), params
