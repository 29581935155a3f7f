"""Room state (spec: "Getting events for a room", "Sending events to a
room"): ``GET /rooms/{roomId}/state``, ``GET`` and ``PUT
/rooms/{roomId}/state/{eventType}/{stateKey}`` (the state key may be empty,
with or without the trailing slash, and may hold slashes).

Members read the current state; former members the state when they left;
anyone a world-readable room's current state; others get ``403``.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from trioserver.api.client.membership import visible_state_ids
from trioserver.api.client.room_common import (
    PREFIX,
    check_event_content,
    check_room_id,
    client_events,
    require_joined,
    send_local,
)
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.api.ratelimit import rate_limit
from trioserver.db.directory import get_alias_txn
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.identifiers import is_valid_room_alias

blueprint = Blueprint("client_room_state", __name__)


async def _version_or_403(room_id: str) -> str:
    version = await services().rooms.room_version(room_id)
    if version is None:
        raise MatrixError("M_FORBIDDEN", "You aren't a member of the room")
    return version


@blueprint.get(f"{PREFIX}/rooms/<roomId>/state")
async def get_state(prefix: str, roomId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    version = await _version_or_403(roomId)
    state = await visible_state_ids(roomId, owner.user_id)
    events = await client_events([state[k] for k in sorted(state)], roomId, version)
    return json_response(events)


@blueprint.get(f"{PREFIX}/rooms/<roomId>/state/<eventType>", defaults={"stateKey": ""})
@blueprint.get(f"{PREFIX}/rooms/<roomId>/state/<eventType>/<path:stateKey>")
async def get_state_event(prefix: str, roomId: str, eventType: str, stateKey: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    output = request.args.get("format", "content")
    if output not in ("content", "event"):
        raise MatrixError("M_INVALID_PARAM", "'format' must be 'content' or 'event'")
    version = await _version_or_403(roomId)
    state = await visible_state_ids(roomId, owner.user_id, [(eventType, stateKey)])
    event_id = state.get((eventType, stateKey))
    if event_id is None:
        raise MatrixError("M_NOT_FOUND", "The room has no such state")
    events = await client_events([event_id], roomId, version)
    if not events:
        raise MatrixError("M_NOT_FOUND", "The room has no such state")
    if output == "event":
        return json_response(events[0])
    return json_response(events[0]["content"])


@blueprint.put(f"{PREFIX}/rooms/<roomId>/state/<eventType>", defaults={"stateKey": ""})
@blueprint.put(f"{PREFIX}/rooms/<roomId>/state/<eventType>/<path:stateKey>")
async def put_state_event(prefix: str, roomId: str, eventType: str, stateKey: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    body = await json_body()
    content = check_event_content(body)
    if eventType == "m.room.canonical_alias" and stateKey == "":
        await _check_canonical_alias(roomId, content)
    rate_limit("message", user_id=owner.user_id)
    if eventType != "m.room.member":
        await require_joined(roomId, owner.user_id)
    elif await services().rooms.room_version(roomId) is None:
        raise MatrixError("M_FORBIDDEN", "You aren't a member of the room")
    event_id = await send_local(roomId, owner.user_id, eventType, content, state_key=stateKey)
    return json_response({"event_id": event_id})


async def _check_canonical_alias(room_id: str, content: dict[str, Any]) -> None:
    """Spec ``m.room.canonical_alias``: the aliases must be valid (``400
    M_INVALID_PARAM``) and, where local, point to this room (``400 M_BAD_ALIAS``)."""
    aliases: list[Any] = []
    if "alias" in content and content["alias"] is not None:
        aliases.append(content["alias"])
    alt = content.get("alt_aliases")
    if alt is not None:
        if not isinstance(alt, list):
            raise MatrixError("M_INVALID_PARAM", "'alt_aliases' must be a list")
        aliases.extend(alt)
    server_name = services().server_name
    for alias in aliases:
        if not isinstance(alias, str) or not is_valid_room_alias(alias):
            raise MatrixError("M_INVALID_PARAM", f"Invalid alias {alias!r}")
        if alias.split(":", 1)[1] != server_name:
            continue
        if await services().db.run_read(get_alias_txn, alias) != room_id:
            raise MatrixError("M_BAD_ALIAS", f"The alias {alias} does not point to this room")
