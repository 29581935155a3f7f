"""Reporting content (spec: ``modules/report_content.md``,
``report_content.yaml``): ``POST /rooms/{roomId}/report/{eventId}``,
``POST /rooms/{roomId}/report`` and ``POST /users/{userId}/report``.

Reports are stored in ``content_reports`` for the server's administrators.

* An event report needs the reporter joined to the room now (spec v1.8) and
  the event visible to them; otherwise, or for an unknown or redacted event,
  ``404 M_NOT_FOUND``. ``reason`` is optional (``score``, removed in v1.18,
  is ignored).
* A room report does not need the reporter in the room (spec v1.13); an
  unknown room is ``404``. ``reason`` is required (it may be blank).
* A user report does not need shared rooms (spec v1.14); an unknown local
  user is ``404``; remote users are accepted. ``reason`` is required.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from quart import Blueprint, Response

from trioserver.api.client.room_common import PREFIX, check_event_id, check_room_id
from trioserver.api.client.visibility import visible_events
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.api.ratelimit import rate_limit
from trioserver.db.reports import add_report_txn
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.identifiers import UserID, is_valid_user_id

blueprint = Blueprint("client_report", __name__)

_MAX_REASON = 4096


def _reason(body: dict[str, Any], *, required: bool) -> str | None:
    reason = body.get("reason")
    if reason is None:
        if required:
            raise MatrixError("M_MISSING_PARAM", "Missing 'reason'")
        return None
    if not isinstance(reason, str):
        raise MatrixError("M_INVALID_PARAM", "'reason' must be a string")
    if len(reason) > _MAX_REASON:
        raise MatrixError("M_INVALID_PARAM", "'reason' is too long")
    return reason


async def _store(
    reporter: str,
    *,
    room_id: str | None = None,
    event_id: str | None = None,
    target_user_id: str | None = None,
    reason: str | None,
) -> None:
    svc = services()
    store = partial(
        add_report_txn,
        room_id=room_id,
        event_id=event_id,
        target_user_id=target_user_id,
        reason=reason,
        received_ts=svc.clock.time_ms(),
    )
    await svc.db.run_write(store, reporter)


@blueprint.post(f"{PREFIX}/rooms/<roomId>/report/<eventId>")
async def report_event(prefix: str, roomId: str, eventId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    check_event_id(eventId)
    body = await json_body()
    reason = _reason(body, required=False)
    rate_limit("message", user_id=owner.user_id)
    svc = services()
    not_found = MatrixError(
        "M_NOT_FOUND", "The event was not found or you are not joined to the room"
    )
    if await svc.rooms.membership(roomId, owner.user_id) != "join":
        raise not_found
    info = (await svc.rooms.event_info([eventId])).get(eventId)
    if info is None or info.room_id != roomId or info.redacted_by is not None:
        raise not_found
    if not await visible_events(owner.user_id, [eventId], room_id=roomId):
        raise not_found
    await _store(owner.user_id, room_id=roomId, event_id=eventId, reason=reason)
    return json_response({})


@blueprint.post(f"{PREFIX}/rooms/<roomId>/report")
async def report_room(prefix: str, roomId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    reason = _reason(await json_body(), required=True)
    rate_limit("message", user_id=owner.user_id)
    if await services().rooms.room_version(roomId) is None:
        raise MatrixError("M_NOT_FOUND", "The room was not found")
    await _store(owner.user_id, room_id=roomId, reason=reason)
    return json_response({})


@blueprint.post(f"{PREFIX}/users/<userId>/report")
async def report_user(prefix: str, userId: str) -> Response:
    owner = await require_user()
    if not is_valid_user_id(userId):
        raise MatrixError("M_INVALID_PARAM", "Invalid user ID")
    reason = _reason(await json_body(), required=True)
    rate_limit("message", user_id=owner.user_id)
    svc = services()
    local = UserID.parse(userId).server_name == svc.server_name
    if local and await svc.accounts.get_user(userId) is None:
        raise MatrixError("M_NOT_FOUND", "The user was not found")
    await _store(owner.user_id, target_user_id=userId, reason=reason)
    return json_response({})
