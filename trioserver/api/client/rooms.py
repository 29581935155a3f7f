"""``POST /createRoom`` (spec: "Creation") and ``GET
/rooms/{roomId}/event/{eventId}`` (spec: "Getting events for a room").

Room creation sends the events of :func:`trioserver.rooms.creation.plan_room_creation`
one by one through the roomserver. The alias is checked before anything is
created and mapped once the room exists; an event of the plan that the auth
rules reject (say, an ``initial_state`` the creator may not send) answers
``400 M_INVALID_ROOM_STATE``, leaving the room as far as it got.
"""

from __future__ import annotations

from quart import Blueprint, Response

from trioserver.accounts import profiles
from trioserver.api.client.room_common import (
    PREFIX,
    check_event_id,
    check_room_id,
    client_events,
    send_local,
)
from trioserver.api.client.visibility import visible_events
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.api.ratelimit import rate_limit
from trioserver.db.directory import (
    AliasExists,
    create_alias_txn,
    get_alias_txn,
    set_room_visibility_txn,
)
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.room_versions import DEFAULT_ROOM_VERSION
from trioserver.rooms.creation import plan_room_creation
from trioserver.roomserver.inputs import Verdict

blueprint = Blueprint("client_rooms", __name__)


@blueprint.post(f"{PREFIX}/createRoom")
async def create_room(prefix: str) -> Response:
    owner = await require_user(allow_guest=False)
    body = await json_body()
    svc = services()
    try:
        profile = await profiles.get_profile(svc.db, owner.user_id)
    except profiles.UnknownUser:
        profile = {}
    plan = plan_room_creation(
        owner.user_id,
        body,
        server_name=svc.server_name,
        default_version=DEFAULT_ROOM_VERSION,
        creator_profile=profile,
    )
    if plan.invites:
        rate_limit("invite", user_id=owner.user_id)
        for invitee in plan.invites:
            if invitee.split(":", 1)[1] != svc.server_name:
                raise MatrixError(
                    "M_FORBIDDEN", "Inviting users of other servers is not supported yet"
                )
    if plan.alias is not None and await svc.db.run_read(get_alias_txn, plan.alias) is not None:
        raise MatrixError("M_ROOM_IN_USE", "Room alias already taken")
    room_id, result = await svc.roomserver.create_room(
        owner.user_id, plan.room_version, plan.create_content
    )
    if result.verdict is not Verdict.ACCEPTED:
        raise MatrixError("M_INVALID_ROOM_STATE", f"Invalid creation content: {result.reason}")
    if plan.alias is not None:
        try:
            await svc.db.run_write(
                create_alias_txn, plan.alias, room_id, owner.user_id, svc.clock.time_ms()
            )
        except AliasExists:
            raise MatrixError("M_ROOM_IN_USE", "Room alias already taken") from None
    for event in plan.events:
        try:
            await send_local(
                room_id, owner.user_id, event.event_type, event.content, state_key=event.state_key
            )
        except MatrixError as exc:
            if exc.errcode in ("M_FORBIDDEN", "M_BAD_JSON"):
                raise MatrixError(
                    "M_INVALID_ROOM_STATE",
                    f"Cannot send {event.event_type} while creating the room: {exc.message}",
                ) from None
            raise
    if plan.visibility == "public":
        await svc.db.run_write(set_room_visibility_txn, room_id, "public")
    return json_response({"room_id": room_id})


@blueprint.get(f"{PREFIX}/rooms/<roomId>/event/<eventId>")
async def get_event(prefix: str, roomId: str, eventId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    check_event_id(eventId)
    svc = services()
    not_found = MatrixError("M_NOT_FOUND", "Event not found")
    info = (await svc.rooms.event_info([eventId])).get(eventId)
    if info is None or info.room_id != roomId or info.position is None:
        raise not_found
    if not await visible_events(owner.user_id, [eventId], room_id=roomId):
        raise not_found
    version = await svc.rooms.room_version(roomId)
    if version is None:
        raise not_found
    events = await client_events(
        [eventId], roomId, version, user_id=owner.user_id, device_id=owner.device_id
    )
    if not events:
        raise not_found
    return json_response(events[0])
