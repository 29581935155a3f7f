"""Presence (client-server API, "Presence"): ``GET/PUT /presence/{userId}/status``.

Only your own presence may be set (403). Anyone's may be read by themselves
and by users sharing a joined room with them (403 otherwise); unknown users
are 404.
"""

from __future__ import annotations

from quart import Blueprint, Response

from trioserver.accounts import profiles
from trioserver.api.client.room_common import PREFIX
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.identifiers import is_valid_user_id
from trioserver.sync.presence import STATES

blueprint = Blueprint("client_presence", __name__)

#: Longest status message accepted.
MAX_STATUS_LENGTH = 1000


@blueprint.put(f"{PREFIX}/presence/<userId>/status")
async def put_presence(prefix: str, userId: str) -> Response:
    owner = await require_user()
    if owner.user_id != userId:
        raise MatrixError("M_FORBIDDEN", "You may only set your own presence")
    body = await json_body()
    state = body.get("presence")
    if state is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'presence'")
    if state not in STATES:
        raise MatrixError("M_INVALID_PARAM", f"'presence' must be one of {', '.join(STATES)}")
    status = body.get("status_msg")
    if status is not None and (not isinstance(status, str) or len(status) > MAX_STATUS_LENGTH):
        raise MatrixError("M_INVALID_PARAM", "'status_msg' must be a short string")
    await services().presence.set_presence(userId, state, status)
    return json_response({})


@blueprint.get(f"{PREFIX}/presence/<userId>/status")
async def get_presence(prefix: str, userId: str) -> Response:
    owner = await require_user()
    if not is_valid_user_id(userId):
        raise MatrixError("M_INVALID_PARAM", "Invalid user ID")
    svc = services()
    try:
        await profiles.get_profile(svc.db, userId)
    except profiles.UnknownUser:
        raise MatrixError("M_NOT_FOUND", "Unknown user") from None
    if not await svc.presence.may_see(owner.user_id, userId):
        raise MatrixError("M_FORBIDDEN", "You cannot see this user's presence")
    return json_response(svc.presence.presence_of(userId))
