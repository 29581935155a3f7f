"""What rooms do when an account changes (wired by the composition root into
:class:`trioserver.api.context.AccountHooks`).

* A display name or avatar change sends a new ``m.room.member`` join event
  with the new profile into each room the user has joined (spec: "Events on
  Change of Profile Information").
* A deactivated user leaves every room they are joined to, invited to or
  knocking on (spec: ``POST /account/deactivate``).

One room failing (say, the user may no longer send there) is logged and does
not stop the others.
"""

from __future__ import annotations

import logging
from typing import Any

from trioserver.accounts import profiles
from trioserver.api.context import Services
from trioserver.protocol.errors import MatrixError
from trioserver.roomserver.inputs import LocalEvent

log = logging.getLogger(__name__)

_PROFILE_KEYS = ("displayname", "avatar_url")


async def update_member_profiles(svc: Services, user_id: str) -> None:
    try:
        profile = await profiles.get_profile(svc.db, user_id)
    except profiles.UnknownUser:
        profile = {}
    for room_id in sorted(await svc.rooms.rooms_for_user(user_id, ["join"])):
        state = await svc.rooms.current_state_events(room_id, [("m.room.member", user_id)])
        event = (state or {}).get(("m.room.member", user_id))
        old = event.get("content") if event is not None else None
        content: dict[str, Any] = dict(old) if isinstance(old, dict) else {}
        if content.get("membership") != "join":
            continue
        new = {k: v for k, v in content.items() if k not in _PROFILE_KEYS and k != "reason"}
        for key in _PROFILE_KEYS:
            if isinstance(profile.get(key), str):
                new[key] = profile[key]
        if new == content:
            continue
        await _send(svc, room_id, LocalEvent(user_id, "m.room.member", new, user_id))


async def leave_all_rooms(svc: Services, user_id: str) -> None:
    rooms = await svc.rooms.rooms_for_user(user_id, ["join", "invite", "knock"])
    for room_id in sorted(rooms):
        event = LocalEvent(user_id, "m.room.member", {"membership": "leave"}, user_id)
        await _send(svc, room_id, event)


async def _send(svc: Services, room_id: str, event: LocalEvent) -> None:
    try:
        result = await svc.roomserver.send(room_id, event)
    except MatrixError as exc:
        log.warning("%s: cannot update %s in %s: %s", event.sender, event.event_type, room_id, exc)
        return
    if not result.accepted:
        log.warning("%s: member event in %s not accepted: %s", event.sender, room_id, result.reason)


def install_room_hooks(svc: Services) -> None:
    """Set the profile and deactivation hooks of ``svc.hooks``."""

    async def profile_changed(user_id: str) -> None:
        await update_member_profiles(svc, user_id)

    async def user_deactivated(user_id: str) -> None:
        await leave_all_rooms(svc, user_id)

    svc.hooks.profile_changed = profile_changed
    svc.hooks.user_deactivated = user_deactivated
