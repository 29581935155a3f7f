"""Typing notifications (client-server API, "Typing Notifications"):
``PUT /rooms/{roomId}/typing/{userId}``.

Only for yourself (403), in a room you are joined to (403; 404 for a room
this server does not know). ``timeout`` defaults to 30 s and is capped by
:data:`trioserver.sync.typing.MAX_TIMEOUT_MS`.
"""

from __future__ import annotations

from quart import Blueprint, Response

from trioserver.api.client.room_common import PREFIX, check_room_id, require_joined, room_version_of
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.protocol.errors import MatrixError

blueprint = Blueprint("client_typing", __name__)

DEFAULT_TIMEOUT_MS = 30_000


@blueprint.put(f"{PREFIX}/rooms/<roomId>/typing/<userId>")
async def put_typing(prefix: str, roomId: str, userId: str) -> Response:
    owner = await require_user()
    if owner.user_id != userId:
        raise MatrixError("M_FORBIDDEN", "You may only set your own typing notifications")
    check_room_id(roomId)
    body = await json_body()
    typing = body.get("typing")
    if typing is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'typing'")
    if not isinstance(typing, bool):
        raise MatrixError("M_INVALID_PARAM", "'typing' must be true or false")
    timeout = body.get("timeout", DEFAULT_TIMEOUT_MS)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
        raise MatrixError("M_INVALID_PARAM", "'timeout' must be a non-negative integer")
    await room_version_of(roomId)
    await require_joined(roomId, userId)
    await services().typing.set_typing(roomId, userId, typing, timeout)
    return json_response({})
