"""Account data and room tags (client-server API, "Client Config", "Room Tagging"):
``GET/PUT /user/{userId}/account_data/{type}``,
``GET/PUT /user/{userId}/rooms/{roomId}/account_data/{type}``,
``GET /user/{userId}/rooms/{roomId}/tags``, ``PUT/DELETE .../tags/{tag}``.

Users may only read and write their own. Every change calls
``hooks.account_data_changed`` (sync wakes the user with it).
"""

from __future__ import annotations

from quart import Blueprint, Response

from trioserver.accounts import account_data
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.identifiers import is_valid_room_id

blueprint = Blueprint("client_account_data", __name__)

_USER = "/_matrix/client/<any(v3, r0):prefix>/user/<userId>"


async def _own(user_id: str, room_id: str | None = None) -> None:
    owner = await require_user(allow_guest=False)
    if owner.user_id != user_id:
        raise MatrixError("M_FORBIDDEN", "You cannot access another user's account data")
    if room_id is not None and not is_valid_room_id(room_id):
        raise MatrixError("M_INVALID_PARAM", f"{room_id!r} is not a valid room ID")


async def _changed(user_id: str, stream_pos: int | None) -> None:
    if stream_pos is not None:
        hooks = services().hooks
        await hooks.notify(hooks.account_data_changed, user_id, stream_pos)


async def _put(user_id: str, room_id: str | None, type_: str) -> Response:
    await _own(user_id, room_id)
    if type_ in account_data.SERVER_MANAGED_TYPES:
        raise MatrixError("M_BAD_JSON", f"Cannot set {type_} through this API", status=405)
    content = await json_body()
    position = await account_data.put(services().db, user_id, room_id, type_, content)
    await _changed(user_id, position)
    return json_response({})


async def _get(user_id: str, room_id: str | None, type_: str) -> Response:
    await _own(user_id, room_id)
    content = await account_data.get(services().db, user_id, room_id, type_)
    if content is None:
        raise MatrixError("M_NOT_FOUND", "Account data not found")
    return json_response(content)


@blueprint.put(f"{_USER}/account_data/<path:type_>")
async def put_global(prefix: str, userId: str, type_: str) -> Response:
    return await _put(userId, None, type_)


@blueprint.get(f"{_USER}/account_data/<path:type_>")
async def get_global(prefix: str, userId: str, type_: str) -> Response:
    return await _get(userId, None, type_)


@blueprint.put(f"{_USER}/rooms/<roomId>/account_data/<path:type_>")
async def put_room(prefix: str, userId: str, roomId: str, type_: str) -> Response:
    return await _put(userId, roomId, type_)


@blueprint.get(f"{_USER}/rooms/<roomId>/account_data/<path:type_>")
async def get_room(prefix: str, userId: str, roomId: str, type_: str) -> Response:
    return await _get(userId, roomId, type_)


@blueprint.get(f"{_USER}/rooms/<roomId>/tags")
async def get_tags(prefix: str, userId: str, roomId: str) -> Response:
    await _own(userId, roomId)
    tags = await account_data.get_tags(services().db, userId, roomId)
    return json_response({"tags": tags})


@blueprint.put(f"{_USER}/rooms/<roomId>/tags/<path:tag>")
async def put_tag(prefix: str, userId: str, roomId: str, tag: str) -> Response:
    await _own(userId, roomId)
    content = await json_body()
    account_data.check_tag(tag, content)
    position = await account_data.set_tag(services().db, userId, roomId, tag, content)
    await _changed(userId, position)
    return json_response({})


@blueprint.delete(f"{_USER}/rooms/<roomId>/tags/<path:tag>")
async def delete_tag(prefix: str, userId: str, roomId: str, tag: str) -> Response:
    await _own(userId, roomId)
    position = await account_data.set_tag(services().db, userId, roomId, tag, None)
    await _changed(userId, position)
    return json_response({})
