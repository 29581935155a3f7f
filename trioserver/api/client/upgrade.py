"""``POST /rooms/{roomId}/upgrade`` (spec: ``modules/room_upgrades.md``,
``room_upgrades.yaml``). In order:

1. The user must be joined and have the power to send ``m.room.tombstone``
   (``403 M_FORBIDDEN``); an unknown ``new_version`` is ``400
   M_UNSUPPORTED_ROOM_VERSION``; an unknown room ``404``.
2. The new room is created with ``predecessor`` (``room_id``, and
   ``event_id`` of the old room's newest event, left out for v12+ targets
   as v1.16 allows) and the old room's ``type``. For targets with privileged
   creators (v12+), ``additional_creators`` are those of the request (never
   copied, spec v1.16) and creators are left out of the copied power levels.
3. The recommended state is copied: server ACL, encryption, name, avatar,
   topic, guest access, history visibility, join rules, power levels (and the
   canonical alias, with the local aliases). Of membership, only bans are
   copied (with their reasons). If the
   copied power levels would not let the user send that state, they are
   raised for the user while the room is set up, then restored.
4. Local aliases (and a published room directory entry) move to the new room.
5. ``m.room.tombstone`` is sent to the old room.
6. The old room's ``events_default`` and ``invite`` are raised to
   ``max(50, users_default + 1)`` (best effort).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from quart import Blueprint, Response

from trioserver.accounts import profiles
from trioserver.api.client.membership import carry_over_from_predecessor
from trioserver.api.client.room_common import (
    PREFIX,
    check_room_id,
    require_joined,
    room_version_of,
    send_local,
)
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.api.ratelimit import rate_limit
from trioserver.db.upgrades import move_room_directory_txn
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.identifiers import is_valid_user_id
from trioserver.protocol.power_levels import (
    PowerLevels,
    creators,
    required_level_for_event,
    user_power_level,
)
from trioserver.protocol.room_versions import UnsupportedRoomVersion, room_version
from trioserver.rooms.creation import plan_room_creation
from trioserver.roomserver.inputs import Verdict

log = logging.getLogger(__name__)

blueprint = Blueprint("client_upgrade", __name__)

#: State copied to the new room (spec: "Server behaviour", step 3).
TRANSFERRED = (
    "m.room.server_acl",
    "m.room.encryption",
    "m.room.name",
    "m.room.avatar",
    "m.room.topic",
    "m.room.guest_access",
    "m.room.history_visibility",
    "m.room.join_rules",
)

StateMap = Mapping[tuple[str, str], Mapping[str, Any]]


def _content(state: StateMap, event_type: str) -> dict[str, Any]:
    event = state.get((event_type, ""))
    content = event.get("content") if event is not None else None
    return dict(content) if isinstance(content, Mapping) else {}


def _parse_request(body: Mapping[str, Any]) -> tuple[str, list[str]]:
    new_version = body.get("new_version")
    if new_version is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'new_version'")
    if not isinstance(new_version, str):
        raise MatrixError("M_INVALID_PARAM", "'new_version' must be a string")
    try:
        room_version(new_version)
    except UnsupportedRoomVersion:
        raise MatrixError(
            "M_UNSUPPORTED_ROOM_VERSION", f"Room version {new_version[:40]!r} is not supported"
        ) from None
    extra = body.get("additional_creators", [])
    if not isinstance(extra, list) or not all(
        isinstance(u, str) and is_valid_user_id(u) for u in extra
    ):
        raise MatrixError("M_INVALID_PARAM", "'additional_creators' must be a list of user IDs")
    return new_version, list(dict.fromkeys(extra))


def _new_power_levels(
    old: Mapping[str, Any],
    user_id: str,
    new_creators: set[str],
    *,
    privileged: bool,
    was_creator: bool,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The new room's power levels, and (if the user needs more power to set
    the room up) the temporary ones to send first.

    ``privileged`` (v12+ target): creators are left out of ``users`` (they
    have infinite power). Otherwise a creator of a v12+ old room, unlisted
    there, gets 100 (what createRoom gives a creator)."""
    final = dict(old)
    raw_users = old.get("users")
    users = dict(raw_users) if isinstance(raw_users, Mapping) else {}
    final["users"] = users
    if privileged:
        for creator in new_creators:
            users.pop(creator, None)
        return final, None
    if was_creator and user_id not in users:
        users[user_id] = 100
    levels = PowerLevels.from_content(final, "10")
    needed = max(
        levels.required_level(t, is_state=True)
        for t in (*TRANSFERRED, "m.room.canonical_alias", "m.room.power_levels")
    )
    current = levels.users.get(user_id, levels.users_default)
    if current >= needed:
        return final, None
    return final, {**final, "users": {**users, user_id: needed}}


@blueprint.post(f"{PREFIX}/rooms/<roomId>/upgrade")
async def upgrade_room(prefix: str, roomId: str) -> Response:
    owner = await require_user(allow_guest=False)
    check_room_id(roomId)
    new_version, additional = _parse_request(await json_body())
    rate_limit("message", user_id=owner.user_id)
    svc = services()
    user_id = owner.user_id
    old_version = await room_version_of(roomId)
    await require_joined(roomId, user_id)
    keys = [(t, "") for t in (*TRANSFERRED, "m.room.create", "m.room.power_levels")]
    keys.append(("m.room.canonical_alias", ""))
    state: StateMap = await svc.rooms.current_state_events(roomId, keys) or {}
    create = state.get(("m.room.create", ""), {})
    power = state.get(("m.room.power_levels", ""))
    tombstone = {"type": "m.room.tombstone", "state_key": ""}
    if user_power_level(user_id, power, create, old_version) < required_level_for_event(
        tombstone, power, old_version
    ):
        raise MatrixError("M_FORBIDDEN", "You cannot upgrade this room")

    target = room_version(new_version)
    creation_content: dict[str, Any] = {}
    old_type = _content(state, "m.room.create").get("type")
    if isinstance(old_type, str):
        creation_content["type"] = old_type
    predecessor: dict[str, Any] = {"room_id": roomId}
    if not target.room_id_from_create_event:
        extremities = await svc.rooms.forward_extremities(roomId)
        if extremities:
            predecessor["event_id"] = extremities[-1]
    creation_content["predecessor"] = predecessor
    if target.privileged_creators and additional:
        creation_content["additional_creators"] = additional

    if power is not None:
        old_levels = _content(state, "m.room.power_levels")
    else:
        # No power levels: creators had 100 and others 0.
        old_levels = {"users": {c: 100 for c in creators(create, old_version)}}
    old_creators = creators(create, old_version)
    final_levels, raised = _new_power_levels(
        old_levels,
        user_id,
        {user_id, *additional},
        privileged=target.privileged_creators,
        was_creator=room_version(old_version).privileged_creators and user_id in old_creators,
    )
    initial_state = [
        {"type": t, "state_key": "", "content": _content(state, t)}
        for t in (*TRANSFERRED, "m.room.canonical_alias")
        if (t, "") in state and _content(state, t)
    ]
    try:
        profile = await profiles.get_profile(svc.db, user_id)
    except profiles.UnknownUser:
        profile = {}
    plan = plan_room_creation(
        user_id,
        {
            "room_version": new_version,
            "creation_content": creation_content,
            "power_level_content_override": raised or final_levels,
            "initial_state": initial_state,
            "preset": "private_chat",
        },
        server_name=svc.server_name,
        default_version=new_version,
        creator_profile=profile,
    )
    new_room, result = await svc.roomserver.create_room(
        user_id, plan.room_version, plan.create_content
    )
    if result.verdict is not Verdict.ACCEPTED:
        raise MatrixError(
            "M_UNKNOWN", f"Could not create the new room: {result.reason}", status=500
        )
    for event in plan.events:
        await send_local(
            new_room, user_id, event.event_type, event.content, state_key=event.state_key
        )
    await _copy_bans(roomId, new_room, user_id)
    await carry_over_from_predecessor(user_id, new_room)
    if raised is not None:
        await send_local(new_room, user_id, "m.room.power_levels", final_levels, state_key="")
    await svc.db.run_write(move_room_directory_txn, roomId, new_room, svc.clock.time_ms())
    await send_local(
        roomId,
        user_id,
        "m.room.tombstone",
        {"body": "This room has been replaced", "replacement_room": new_room},
        state_key="",
    )
    await _restrict_old_room(roomId, user_id, power)
    return json_response({"replacement_room": new_room})


async def _copy_bans(old_room: str, new_room: str, user_id: str) -> None:
    """Step 3, membership: users banned from the old room are banned from
    the new one, with the same reason (best effort: a ban the new room's
    power levels refuse is logged and skipped)."""
    svc = services()
    banned = await svc.rooms.members(old_room, "ban")
    if not banned:
        return
    keys = [("m.room.member", target) for target in banned]
    bans = await svc.rooms.current_state_events(old_room, keys) or {}
    for target in sorted(banned):
        content: dict[str, Any] = {"membership": "ban"}
        reason = bans.get(("m.room.member", target), {}).get("content", {}).get("reason")
        if isinstance(reason, str):
            content["reason"] = reason
        try:
            await send_local(new_room, user_id, "m.room.member", content, state_key=target)
        except MatrixError as exc:
            log.info("upgrade of %s: could not copy the ban of %s: %s", old_room, target, exc)


async def _restrict_old_room(room_id: str, user_id: str, power: Mapping[str, Any] | None) -> None:
    """Step 6: stop ordinary users sending and inviting in the old room."""
    content = dict(power.get("content") or {}) if power is not None else {}
    users_default = content.get("users_default", 0)
    if not isinstance(users_default, int) or isinstance(users_default, bool):
        users_default = 0
    restricted = max(50, users_default + 1)
    changed = False
    for key in ("events_default", "invite"):
        value = content.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < restricted:
            content[key] = restricted
            changed = True
    if not changed:
        return
    try:
        await send_local(room_id, user_id, "m.room.power_levels", content, state_key="")
    except MatrixError as exc:
        log.info("upgrade of %s: could not restrict the old power levels: %s", room_id, exc)
