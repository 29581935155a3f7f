"""Profiles (client-server API, "Profiles"): ``GET /profile/{userId}`` and
``GET/PUT/DELETE /profile/{userId}/{keyName}`` (any field since v1.16).

Profiles of local users are public (no token needed to read them). Remote
users' profiles would be asked of their server over federation, which this
server does not do yet: they are 404 like unknown users. A change of the
display name or avatar URL calls ``hooks.profile_changed`` so the roomserver
can update the user's member events.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from trioserver.accounts import profiles
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.protocol.errors import MatrixError

blueprint = Blueprint("client_profile", __name__)

_PREFIXES = "<any(v3, r0):prefix>"


async def _profile_of(user_id: str) -> dict[str, Any]:
    try:
        return await profiles.get_profile(services().db, user_id)
    except profiles.UnknownUser:
        raise MatrixError("M_NOT_FOUND", "Profile not found") from None


async def _owner_may_change(user_id: str, key: str) -> None:
    owner = await require_user()
    if owner.user_id != user_id:
        raise MatrixError("M_FORBIDDEN", "You cannot change another user's profile")
    if owner.is_guest and key != profiles.DISPLAYNAME:
        raise MatrixError("M_GUEST_ACCESS_FORBIDDEN", "Guests may only change their display name")


@blueprint.get(f"/_matrix/client/{_PREFIXES}/profile/<userId>")
async def get_profile(prefix: str, userId: str) -> Response:
    return json_response(await _profile_of(userId))


@blueprint.get(f"/_matrix/client/{_PREFIXES}/profile/<userId>/<keyName>")
async def get_profile_field(prefix: str, userId: str, keyName: str) -> Response:
    profiles.check_key(keyName)
    profile = await _profile_of(userId)
    if keyName not in profile:
        raise MatrixError("M_NOT_FOUND", f"The profile has no field {keyName!r}")
    return json_response({keyName: profile[keyName]})


@blueprint.put(f"/_matrix/client/{_PREFIXES}/profile/<userId>/<keyName>")
async def set_profile_field(prefix: str, userId: str, keyName: str) -> Response:
    await _owner_may_change(userId, keyName)
    profiles.check_key(keyName)
    body = await json_body()
    if keyName not in body:
        raise MatrixError("M_MISSING_PARAM", f"Missing '{keyName}'")
    value = profiles.check_value(keyName, body[keyName])
    await _change(userId, keyName, value)
    return json_response({})


@blueprint.delete(f"/_matrix/client/{_PREFIXES}/profile/<userId>/<keyName>")
async def delete_profile_field(prefix: str, userId: str, keyName: str) -> Response:
    await _owner_may_change(userId, keyName)
    profiles.check_key(keyName)
    await _change(userId, keyName, None)
    return json_response({})


async def _change(user_id: str, key: str, value: Any) -> None:
    svc = services()
    await profiles.set_field(svc.db, user_id, key, value)
    if key in profiles.MEMBER_EVENT_FIELDS:
        await svc.hooks.notify(svc.hooks.profile_changed, user_id)
