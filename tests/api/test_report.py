"""Reporting content (modules/report_content.md)."""

from __future__ import annotations

import pytest

from tests.api.history_helpers import V3, q, send_event, user
from trioserver.db.reports import reports_txn
from trioserver.testing import TestHomeserver

pytestmark = pytest.mark.usefixtures("autojump_clock")


async def test_reports(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    bob = await user(hs, "bob")
    room = await alice.create_room(preset="public_chat")
    event = await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "bad"})

    # Bob is not joined: 404 for the event, but he may report the room.
    response = await bob.post(f"/rooms/{q(room)}/report/{q(event)}", {"reason": "meh"})
    assert (response.status, response.json()["errcode"]) == (404, "M_NOT_FOUND")
    assert (await bob.post(f"/rooms/{q(room)}/report", {"reason": ""})).status == 200
    assert (await bob.join(room)).status == 200
    response = await bob.post(f"/rooms/{q(room)}/report/{q(event)}", {"reason": "rude"})
    assert response.status == 200 and response.json() == {}
    assert (await bob.post(f"/rooms/{q(room)}/report/{q(event)}", {})).status == 200
    assert (await bob.post(f"/users/{q(alice.user_id)}/report", {"reason": "x"})).status == 200

    stored = await hs.services.db.run_read(reports_txn, None)
    assert [(r.reporter, r.room_id, r.event_id, r.target_user_id, r.reason) for r in stored] == [
        (bob.user_id, room, None, None, ""),
        (bob.user_id, room, event, None, "rude"),
        (bob.user_id, room, event, None, None),
        (bob.user_id, None, None, alice.user_id, "x"),
    ]


async def test_report_errors(homeserver: TestHomeserver) -> None:
    hs = homeserver
    alice = await user(hs, "alice")
    room = await alice.create_room(preset="public_chat")
    event = await send_event(hs, room, alice.user_id, {"msgtype": "m.text", "body": "x"})
    other = await alice.create_room()

    async def status(path: str, body: object) -> tuple[int, str]:
        response = await alice.client.post(f"{V3}{path}", json_body=body)
        return response.status, response.json().get("errcode")

    assert await status(f"/rooms/{q(room)}/report/{q('$nope:x')}", {}) == (404, "M_NOT_FOUND")
    assert await status(f"/rooms/{q(other)}/report/{q(event)}", {}) == (404, "M_NOT_FOUND")
    assert await status(f"/rooms/{q('!nope:x')}/report", {"reason": "r"}) == (404, "M_NOT_FOUND")
    assert await status(f"/rooms/{q(room)}/report", {}) == (400, "M_MISSING_PARAM")
    assert await status(f"/rooms/{q(room)}/report", {"reason": 5}) == (400, "M_INVALID_PARAM")
    bad_reason = {"reason": ["x"]}
    assert await status(f"/rooms/{q(room)}/report/{q(event)}", bad_reason) == (
        400,
        "M_INVALID_PARAM",
    )
    assert await status(f"/users/{q('@ghost:localhost')}/report", {"reason": "r"}) == (
        404,
        "M_NOT_FOUND",
    )
    assert await status(f"/users/{q('not-a-user')}/report", {"reason": "r"}) == (
        400,
        "M_INVALID_PARAM",
    )
    # A redacted event can no longer be reported.
    await send_event(hs, room, alice.user_id, {}, "m.room.redaction", redacts=event)
    assert await status(f"/rooms/{q(room)}/report/{q(event)}", {}) == (404, "M_NOT_FOUND")
    response = await alice.client.post(f"{V3}/rooms/{q(room)}/report/{q(event)}", data=b"not json")
    assert response.status == 400
