"""Room membership (spec: client-server API, "Room membership"): join,
knock, invite, leave, forget, kick, ban, unban, and the membership lists
(``/joined_rooms``, ``/members``, ``/joined_members``).

Every change is an ``m.room.member`` event sent through the roomserver; the
auth rules decide (a rejected event answers ``403 M_FORBIDDEN``). Rooms this
server has no state of (remote rooms) answer ``404 M_NOT_FOUND``: joining
over federation is not implemented yet, and neither are invites of users on
other servers (``403``).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from trioserver.accounts import account_data, profiles
from trioserver.api.client.room_common import (
    PREFIX,
    check_room_id,
    check_user_id,
    client_events,
    optional_reason,
    resolve_room,
    room_version_of,
    send_local,
)
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.api.ratelimit import rate_limit
from trioserver.db.accounts import TokenOwner
from trioserver.db.room_forgotten import forget_room_txn, unforget_room_txn
from trioserver.db.room_positions import last_event_at_position_txn
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.identifiers import UserID
from trioserver.protocol.power_levels import PowerLevels, user_power_level
from trioserver.rooms.tokens import InvalidToken, SyncToken
from trioserver.roomserver.context import StateKey

blueprint = Blueprint("client_membership", __name__)

MEMBERSHIPS = frozenset({"join", "invite", "knock", "leave", "ban"})


async def member_content(user_id: str, membership: str, reason: str | None) -> dict[str, Any]:
    """A member event's content with the user's profile (display name, avatar)."""
    content: dict[str, Any] = {"membership": membership}
    try:
        profile = await profiles.get_profile(services().db, user_id)
    except profiles.UnknownUser:
        profile = {}
    for key in ("displayname", "avatar_url"):
        if isinstance(profile.get(key), str):
            content[key] = profile[key]
    if reason is not None:
        content["reason"] = reason
    return content


def _server_of(user_id: str) -> str:
    return UserID.parse(user_id).server_name


async def _join(owner: TokenOwner, room_id: str, reason: str | None) -> str:
    svc = services()
    rate_limit("join", user_id=owner.user_id)
    await room_version_of(room_id)
    current = await svc.rooms.membership(room_id, owner.user_id)
    if current == "join":
        return room_id
    state = await svc.rooms.current_state_events(
        room_id, [("m.room.join_rules", ""), ("m.room.guest_access", "")]
    )
    state = state or {}
    if owner.is_guest:
        guest = state.get(("m.room.guest_access", ""), {}).get("content", {})
        if not isinstance(guest, dict) or guest.get("guest_access") != "can_join":
            raise MatrixError("M_FORBIDDEN", "Guests may not join this room")
    content = await member_content(owner.user_id, "join", reason)
    rule = state.get(("m.room.join_rules", ""), {}).get("content", {})
    restricted = isinstance(rule, dict) and rule.get("join_rule") in (
        "restricted",
        "knock_restricted",
    )
    if current != "invite" and restricted:
        authoriser = await _restricted_authoriser(room_id, owner.user_id, rule)
        if authoriser is not None:
            content["join_authorised_via_users_server"] = authoriser
    await send_local(room_id, owner.user_id, "m.room.member", content, state_key=owner.user_id)
    await svc.db.run_write(unforget_room_txn, owner.user_id, room_id)
    await carry_over_from_predecessor(owner.user_id, room_id)
    return room_id


#: Per-room account data a user takes along into an upgraded room's
#: replacement when they join it (spec: "Room Upgrades", server behaviour:
#: "transfer/replicate some of the user's personalized settings such as ...
#: tags"). Set in the new room already: left as it is.
CARRIED_OVER = ("m.tag",)


async def carry_over_from_predecessor(user_id: str, room_id: str) -> None:
    svc = services()
    state = await svc.rooms.current_state_events(room_id, [("m.room.create", "")]) or {}
    content = state.get(("m.room.create", ""), {}).get("content", {})
    predecessor = content.get("predecessor") if isinstance(content, dict) else None
    old_room = predecessor.get("room_id") if isinstance(predecessor, dict) else None
    if not isinstance(old_room, str):
        return
    for type_ in CARRIED_OVER:
        old = await account_data.get(svc.db, user_id, old_room, type_)
        if not old or await account_data.get(svc.db, user_id, room_id, type_) is not None:
            continue
        position = await account_data.put(svc.db, user_id, room_id, type_, old)
        await svc.hooks.notify(svc.hooks.account_data_changed, user_id, position)


async def _restricted_authoriser(room_id: str, user_id: str, rule: dict[str, Any]) -> str | None:
    """A local member able to invite who vouches for a join under a
    ``restricted`` rule, if the user is in one of the allowed rooms (spec:
    "Restricted rooms"); None if not (the auth rules then reject the join)."""
    svc = services()
    allow = rule.get("allow")
    if not isinstance(allow, list):
        return None
    allowed = False
    for item in allow:
        if isinstance(item, dict) and item.get("type") == "m.room_membership":
            other = item.get("room_id")
            if isinstance(other, str) and await svc.rooms.membership(other, user_id) == "join":
                allowed = True
                break
    if not allowed:
        return None
    version = await room_version_of(room_id)
    state = await svc.rooms.current_state_events(
        room_id, [("m.room.create", ""), ("m.room.power_levels", "")]
    )
    state = state or {}
    create = state.get(("m.room.create", ""), {})
    power = state.get(("m.room.power_levels", ""))
    needed = PowerLevels.from_event(power, version).invite
    for member in sorted(await svc.rooms.joined_members(room_id)):
        if _server_of(member) != svc.server_name:
            continue
        if user_power_level(member, power, create, version) >= needed:
            return member
    return None


@blueprint.post(f"{PREFIX}/rooms/<roomId>/join")
async def join_room_by_id(prefix: str, roomId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    body = await json_body(allow_empty=True)
    return json_response({"room_id": await _join(owner, roomId, optional_reason(body))})


@blueprint.post(f"{PREFIX}/join/<roomIdOrAlias>")
async def join_room(prefix: str, roomIdOrAlias: str) -> Response:
    owner = await require_user()
    body = await json_body(allow_empty=True)
    reason = optional_reason(body)
    room_id = await resolve_room(roomIdOrAlias)
    return json_response({"room_id": await _join(owner, room_id, reason)})


@blueprint.post(f"{PREFIX}/knock/<roomIdOrAlias>")
async def knock(prefix: str, roomIdOrAlias: str) -> Response:
    owner = await require_user(allow_guest=False)
    body = await json_body(allow_empty=True)
    reason = optional_reason(body)
    room_id = await resolve_room(roomIdOrAlias)
    rate_limit("join", user_id=owner.user_id)
    await room_version_of(room_id)
    content = await member_content(owner.user_id, "knock", reason)
    await send_local(room_id, owner.user_id, "m.room.member", content, state_key=owner.user_id)
    await services().db.run_write(unforget_room_txn, owner.user_id, room_id)
    return json_response({"room_id": room_id})


async def _target_change(
    room_id: str, membership: str, *, limit: str | None = None, allow_guest: bool = False
) -> Response:
    """Invite, kick, ban, unban: the sender changes ``user_id``'s membership."""
    owner = await require_user(allow_guest=allow_guest)
    check_room_id(room_id)
    body = await json_body()
    target = check_user_id(body.get("user_id"))
    reason = optional_reason(body)
    if limit == "invite":
        rate_limit("invite", user_id=owner.user_id)
    await room_version_of(room_id)
    if membership == "invite":
        if _server_of(target) != services().server_name:
            raise MatrixError("M_FORBIDDEN", "Inviting users of other servers is not supported yet")
        content = await member_content(target, "invite", reason)
    else:
        content = {"membership": membership}
        if reason is not None:
            content["reason"] = reason
    await send_local(room_id, owner.user_id, "m.room.member", content, state_key=target)
    if membership == "invite":
        await services().db.run_write(unforget_room_txn, target, room_id)
    return json_response({})


@blueprint.post(f"{PREFIX}/rooms/<roomId>/invite")
async def invite(prefix: str, roomId: str) -> Response:
    return await _target_change(roomId, "invite", limit="invite")


@blueprint.post(f"{PREFIX}/rooms/<roomId>/kick")
async def kick(prefix: str, roomId: str) -> Response:
    return await _target_change(roomId, "leave")


@blueprint.post(f"{PREFIX}/rooms/<roomId>/ban")
async def ban(prefix: str, roomId: str) -> Response:
    return await _target_change(roomId, "ban")


@blueprint.post(f"{PREFIX}/rooms/<roomId>/unban")
async def unban(prefix: str, roomId: str) -> Response:
    owner = await require_user(allow_guest=False)
    check_room_id(roomId)
    body = await json_body()
    target = check_user_id(body.get("user_id"))
    reason = optional_reason(body)
    await room_version_of(roomId)
    if await services().rooms.membership(roomId, target) != "ban":
        raise MatrixError("M_FORBIDDEN", f"{target} is not banned")
    content: dict[str, Any] = {"membership": "leave"}
    if reason is not None:
        content["reason"] = reason
    await send_local(roomId, owner.user_id, "m.room.member", content, state_key=target)
    return json_response({})


@blueprint.post(f"{PREFIX}/rooms/<roomId>/leave")
async def leave(prefix: str, roomId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    body = await json_body(allow_empty=True)
    reason = optional_reason(body)
    await room_version_of(roomId)
    current = await services().rooms.membership(roomId, owner.user_id)
    if current in (None, "leave", "ban"):
        if current is None:
            raise MatrixError("M_FORBIDDEN", "You are not in the room")
        return json_response({})
    content: dict[str, Any] = {"membership": "leave"}
    if reason is not None:
        content["reason"] = reason
    await send_local(roomId, owner.user_id, "m.room.member", content, state_key=owner.user_id)
    return json_response({})


@blueprint.post(f"{PREFIX}/rooms/<roomId>/forget")
async def forget(prefix: str, roomId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    await json_body(allow_empty=True)
    svc = services()
    current = await svc.rooms.membership(roomId, owner.user_id)
    if current in ("join", "invite", "knock"):
        raise MatrixError("M_UNKNOWN", f"User {owner.user_id} is in room {roomId}")
    if current is None:
        raise MatrixError("M_NOT_FOUND", "You were never in this room")
    await svc.db.run_write(forget_room_txn, owner.user_id, roomId, svc.clock.time_ms())
    return json_response({})


@blueprint.get(f"{PREFIX}/joined_rooms")
async def joined_rooms(prefix: str) -> Response:
    owner = await require_user()
    rooms = await services().rooms.rooms_for_user(owner.user_id, ["join"])
    return json_response({"joined_rooms": sorted(rooms)})


def _membership_param(name: str) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in MEMBERSHIPS:
        raise MatrixError("M_INVALID_PARAM", f"'{name}' must be one of {sorted(MEMBERSHIPS)}")
    return value


async def _is_world_readable(room_id: str) -> bool:
    state = await services().rooms.current_state_events(
        room_id, [("m.room.history_visibility", "")]
    )
    event = (state or {}).get(("m.room.history_visibility", ""))
    content = event.get("content") if event is not None else None
    return isinstance(content, dict) and content.get("history_visibility") == "world_readable"


async def visible_state_ids(
    room_id: str, user_id: str, keys: list[StateKey] | None = None
) -> dict[StateKey, str]:
    """The state ``user_id`` may read (spec ``GET /state``, ``/members``):
    the current state while joined (or in a world-readable room), the state
    when they left for former members; ``403`` otherwise."""
    svc = services()
    current = await svc.rooms.membership(room_id, user_id)
    if current == "join" or await _is_world_readable(room_id):
        return await svc.rooms.current_state(room_id, keys) or {}
    if current in ("leave", "ban"):
        mine = await svc.rooms.current_state(room_id, [("m.room.member", user_id)]) or {}
        own_event = mine.get(("m.room.member", user_id))
        if own_event is not None:
            return await svc.rooms.state_at_event(own_event, after=True, keys=keys) or {}
    raise MatrixError("M_FORBIDDEN", "You aren't a member of the room and weren't previously")


@blueprint.get(f"{PREFIX}/rooms/<roomId>/members")
async def members(prefix: str, roomId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    membership = _membership_param("membership")
    not_membership = _membership_param("not_membership")
    at = request.args.get("at")
    position = None
    if at is not None:
        try:
            position = SyncToken.parse(at).events
        except InvalidToken:
            raise MatrixError("M_INVALID_PARAM", "Invalid 'at' token") from None
    svc = services()
    version = await svc.rooms.room_version(roomId)
    if version is None:
        raise MatrixError("M_FORBIDDEN", "You aren't a member of the room")
    state = await visible_state_ids(roomId, owner.user_id)
    if position is not None:
        # Never later than what the user may see now (former members: their leaving).
        own = state.get(("m.room.member", owner.user_id))
        if own is not None and await svc.rooms.membership(roomId, owner.user_id) != "join":
            info = (await svc.rooms.event_info([own])).get(own)
            if info is not None and info.position is not None:
                position = min(position, info.position)
        at_event = await svc.db.run_read(last_event_at_position_txn, roomId, position)
        state = {}
        if at_event is not None:
            state = await svc.rooms.state_at_event(at_event, after=True) or {}
    member_ids = [event_id for (t, _), event_id in sorted(state.items()) if t == "m.room.member"]
    pdus = await svc.rooms.events(member_ids)

    def wanted(event_id: str) -> bool:
        content = pdus.get(event_id, {}).get("content")
        value = content.get("membership") if isinstance(content, dict) else None
        if membership is None and not_membership is None:
            return True
        if membership is not None and value == membership:
            return True
        return not_membership is not None and value != not_membership

    chunk = await client_events([e for e in member_ids if wanted(e)], roomId, version)
    return json_response({"chunk": chunk})


@blueprint.get(f"{PREFIX}/rooms/<roomId>/joined_members")
async def joined_members(prefix: str, roomId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    svc = services()
    if await svc.rooms.membership(roomId, owner.user_id) != "join":
        raise MatrixError("M_FORBIDDEN", "You aren't a member of the room")
    state = await svc.rooms.current_state(roomId) or {}
    ids = {k: e for k, e in state.items() if k[0] == "m.room.member"}
    pdus = await svc.rooms.events(ids.values())
    joined: dict[str, dict[str, Any]] = {}
    for (_, user_id), event_id in sorted(ids.items()):
        content = pdus.get(event_id, {}).get("content")
        if not isinstance(content, dict) or content.get("membership") != "join":
            continue
        member: dict[str, Any] = {}
        if isinstance(content.get("displayname"), str):
            member["display_name"] = content["displayname"]
        if isinstance(content.get("avatar_url"), str):
            member["avatar_url"] = content["avatar_url"]
        joined[user_id] = member
    return json_response({"joined": joined})
