"""Shared steps of the history tests: rooms and events made fast through the
roomserver, and /messages requests."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.api.rooms_helpers import V3, User, user
from trioserver.roomserver.inputs import LocalEvent
from trioserver.testing import TestHomeserver
from trioserver.testing.homeserver import TestResponse

V1 = "/_matrix/client/v1"

__all__ = ["V1", "V3", "User", "messages", "q", "send_event", "send_many", "user"]


def q(value: str) -> str:
    return quote(value, safe="")


async def send_event(
    hs: TestHomeserver,
    room_id: str,
    sender: str,
    content: dict[str, Any],
    event_type: str = "m.room.message",
    *,
    state_key: str | None = None,
    redacts: str | None = None,
) -> str:
    """Send an event through the roomserver (fast: no HTTP, no txn IDs)."""
    result = await hs.services.roomserver.send(
        room_id, LocalEvent(sender, event_type, content, state_key, redacts)
    )
    assert result.accepted, result
    return result.event_id


async def send_many(hs: TestHomeserver, room_id: str, sender: str, count: int) -> list[str]:
    return [
        await send_event(hs, room_id, sender, {"msgtype": "m.text", "body": f"message {i}"})
        for i in range(count)
    ]


async def messages(u: User, room_id: str, **params: Any) -> TestResponse:
    query = {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in params.items()}
    return await u.client.get(f"{V3}/rooms/{q(room_id)}/messages", query=query)
