"""Rooms for the directory tests, made directly through the roomserver (until
the rooms endpoints exist), and waiting for the directory indexer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trioserver.api.client.directory import INDEXER_EXTENSION
from trioserver.directory import DirectoryIndexer
from trioserver.roomserver.inputs import LocalEvent
from trioserver.testing import TestHomeserver

V1 = "/_matrix/client/v1"


async def send_state(
    hs: TestHomeserver,
    room_id: str,
    sender: str,
    event_type: str,
    content: dict[str, Any],
    state_key: str = "",
) -> str:
    result = await hs.services.roomserver.send(
        room_id, LocalEvent(sender, event_type, content, state_key=state_key)
    )
    assert result.accepted, result
    return result.event_id


async def send_message(hs: TestHomeserver, room_id: str, sender: str, body: str) -> str:
    result = await hs.services.roomserver.send(
        room_id, LocalEvent(sender, "m.room.message", {"msgtype": "m.text", "body": body})
    )
    assert result.accepted, result
    return result.event_id


async def redact(hs: TestHomeserver, room_id: str, sender: str, target: str) -> str:
    result = await hs.services.roomserver.send(
        room_id,
        LocalEvent(sender, "m.room.redaction", {"redacts": target}, redacts=target),
    )
    assert result.accepted, result
    return result.event_id


async def join(hs: TestHomeserver, room_id: str, user_id: str, **content: Any) -> str:
    return await send_state(
        hs, room_id, user_id, "m.room.member", {"membership": "join", **content}, user_id
    )


async def leave(hs: TestHomeserver, room_id: str, user_id: str) -> str:
    return await send_state(hs, room_id, user_id, "m.room.member", {"membership": "leave"}, user_id)


async def make_room(
    hs: TestHomeserver,
    creator: str,
    *,
    join_rule: str = "public",
    name: str | None = None,
    topic: str | None = None,
    history_visibility: str | None = None,
    room_type: str | None = None,
    members: Iterable[str] = (),
    power_users: dict[str, int] | None = None,
) -> str:
    """A v10 room with ``creator`` joined (power 100) and the given state."""
    create: dict[str, Any] = {}
    if room_type is not None:
        create["type"] = room_type
    room_id, result = await hs.services.roomserver.create_room(creator, "10", create)
    assert result.accepted, result
    await join(hs, room_id, creator)
    users = {creator: 100, **(power_users or {})}
    await send_state(hs, room_id, creator, "m.room.power_levels", {"users": users})
    await send_state(hs, room_id, creator, "m.room.join_rules", {"join_rule": join_rule})
    if history_visibility is not None:
        await send_state(
            hs,
            room_id,
            creator,
            "m.room.history_visibility",
            {"history_visibility": history_visibility},
        )
    if name is not None:
        await send_state(hs, room_id, creator, "m.room.name", {"name": name})
    if topic is not None:
        await send_state(hs, room_id, creator, "m.room.topic", {"topic": topic})
    for member in members:
        if join_rule != "public":
            await send_state(
                hs, room_id, creator, "m.room.member", {"membership": "invite"}, member
            )
        await join(hs, room_id, member)
    return room_id


def indexer(hs: TestHomeserver) -> DirectoryIndexer:
    found = hs.running.app.extensions[INDEXER_EXTENSION]
    assert isinstance(found, DirectoryIndexer)
    return found


async def wait_indexed(hs: TestHomeserver) -> None:
    await indexer(hs).wait_caught_up(hs.services.roomserver.output.position)
