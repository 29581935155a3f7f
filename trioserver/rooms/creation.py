"""``POST /createRoom`` as a plan of events (spec: client-server API,
``create_room.yaml`` and "Creation").

Pure: the request body in, the events to send in the order the spec gives
out (create; the creator's join; power levels; canonical alias; the
preset's join rules, history visibility and guest access; ``initial_state``;
name and topic; invites). Invalid requests raise :class:`MatrixError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from trioserver.protocol.errors import MatrixError
from trioserver.protocol.identifiers import is_valid_room_alias, is_valid_user_id
from trioserver.protocol.json import find_non_canonical_value
from trioserver.protocol.room_versions import UnsupportedRoomVersion, room_version

__all__ = ["PRESETS", "CreationPlan", "PlannedEvent", "Preset", "plan_room_creation"]


@dataclass(frozen=True, slots=True)
class Preset:
    join_rule: str
    history_visibility: str
    guest_access: str
    #: Invitees get the creator's power (v1-v11) or become creators (v12+).
    trusted: bool = False


#: The presets' state (``create_room.yaml``, "The available presets").
PRESETS: Final[Mapping[str, Preset]] = {
    "private_chat": Preset("invite", "shared", "can_join"),
    "trusted_private_chat": Preset("invite", "shared", "can_join", trusted=True),
    "public_chat": Preset("public", "shared", "forbidden"),
}

#: The level of each event type in the default power levels.
_EVENT_LEVELS: Final[Mapping[str, int]] = {
    "m.room.name": 50,
    "m.room.topic": 50,
    "m.room.avatar": 50,
    "m.room.canonical_alias": 50,
    "m.room.pinned_events": 50,
    "m.room.power_levels": 100,
    "m.room.history_visibility": 100,
    "m.room.server_acl": 100,
    "m.room.encryption": 100,
    "m.room.tombstone": 100,
}

_CREATOR_LEVEL = 100


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    event_type: str
    content: dict[str, Any]
    state_key: str | None = ""


@dataclass(frozen=True, slots=True)
class CreationPlan:
    room_version: str
    #: Content of ``m.room.create`` (``room_version``/``creator`` are added
    #: by the roomserver).
    create_content: dict[str, Any]
    #: Events after the create event, in order (the creator's join first).
    events: list[PlannedEvent] = field(default_factory=list)
    #: ``#local:server`` to map to the room, or None.
    alias: str | None = None
    #: The room directory visibility.
    visibility: str = "private"
    #: Users invited (their invite events are the last of :attr:`events`).
    invites: tuple[str, ...] = ()


def _bad(message: str, errcode: str = "M_INVALID_PARAM") -> MatrixError:
    return MatrixError(errcode, message)


def _optional(body: Mapping[str, Any], key: str, kind: type, what: str) -> Any:
    value = body.get(key)
    if value is None:
        return None
    ok = isinstance(value, bool) if kind is bool else isinstance(value, kind)
    if not ok or (kind is not bool and isinstance(value, bool)):
        raise _bad(f"'{key}' must be {what}")
    return value


def _initial_state(value: Any) -> list[PlannedEvent]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad("'initial_state' must be a list")
    events: list[PlannedEvent] = []
    for item in value:
        if not isinstance(item, dict):
            raise _bad("each 'initial_state' item must be an object")
        event_type, content = item.get("type"), item.get("content")
        state_key = item.get("state_key", "")
        if not isinstance(event_type, str) or not event_type:
            raise _bad("each 'initial_state' item needs a 'type' string")
        if not isinstance(content, dict):
            raise _bad("each 'initial_state' item needs a 'content' object")
        if not isinstance(state_key, str):
            raise _bad("'state_key' in 'initial_state' must be a string")
        if event_type == "m.room.create":
            raise MatrixError("M_INVALID_ROOM_STATE", "initial_state cannot hold m.room.create")
        events.append(PlannedEvent(event_type, dict(content), state_key))
    return events


def default_power_levels(
    creator: str, version_id: str, trusted_invitees: list[str]
) -> dict[str, Any]:
    """The default ``m.room.power_levels`` content (before the override).

    v1-v11: the creator (and trusted invitees) get 100. v12 (privileged
    creators): creators are not listed, and ``m.room.tombstone`` needs more
    than ``state_default`` (150)."""
    version = room_version(version_id)
    events = dict(_EVENT_LEVELS)
    users: dict[str, int] = {}
    if version.privileged_creators:
        events["m.room.tombstone"] = 150
    else:
        users[creator] = _CREATOR_LEVEL
        for invitee in trusted_invitees:
            users[invitee] = _CREATOR_LEVEL
    return {
        "users": users,
        "users_default": 0,
        "events": events,
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 0,
        "notifications": {"room": 50},
    }


def topic_content(topic: str) -> dict[str, Any]:
    """``m.room.topic`` content with the plain-text ``m.topic`` block (v1.15)."""
    return {"topic": topic, "m.topic": {"m.text": [{"body": topic, "mimetype": "text/plain"}]}}


def plan_room_creation(
    creator: str,
    body: Mapping[str, Any],
    *,
    server_name: str,
    default_version: str,
    creator_profile: Mapping[str, Any],
) -> CreationPlan:
    """The events ``creator`` sends to create a room as ``body`` asks."""
    problem = find_non_canonical_value(body)
    if problem is not None:
        raise MatrixError("M_BAD_JSON", problem)
    visibility = _optional(body, "visibility", str, "'public' or 'private'") or "private"
    if visibility not in ("public", "private"):
        raise _bad("'visibility' must be 'public' or 'private'")
    preset_name = _optional(body, "preset", str, "a preset name")
    if preset_name is None:
        preset_name = "public_chat" if visibility == "public" else "private_chat"
    preset = PRESETS.get(preset_name)
    if preset is None:
        raise _bad(f"unknown preset {preset_name!r}")
    version_id = _optional(body, "room_version", str, "a string")
    version_id = default_version if version_id is None else version_id
    try:
        version = room_version(version_id)
    except UnsupportedRoomVersion:
        raise MatrixError(
            "M_UNSUPPORTED_ROOM_VERSION", f"Room version {version_id!r} is not supported"
        ) from None
    name = _optional(body, "name", str, "a string")
    topic = _optional(body, "topic", str, "a string")
    is_direct = _optional(body, "is_direct", bool, "a boolean")
    alias_name = _optional(body, "room_alias_name", str, "a string")
    alias = None
    if alias_name is not None:
        alias = f"#{alias_name}:{server_name}"
        if not alias_name or ":" in alias_name or any(c.isspace() for c in alias_name):
            raise _bad("'room_alias_name' must be an alias local part", "M_INVALID_PARAM")
        if not is_valid_room_alias(alias):
            raise _bad("'room_alias_name' gives an invalid alias")
    invites = _optional(body, "invite", list, "a list of user IDs") or []
    for user_id in invites:
        if not isinstance(user_id, str) or not is_valid_user_id(user_id):
            raise _bad("'invite' must hold user IDs")
    invites = [u for u in dict.fromkeys(invites) if u != creator]
    invite_3pid = _optional(body, "invite_3pid", list, "a list")
    if invite_3pid:
        raise _bad("third-party invites (invite_3pid) are not supported by this server")
    creation_content = dict(_optional(body, "creation_content", dict, "an object") or {})
    override = _optional(body, "power_level_content_override", dict, "an object")
    initial = _initial_state(body.get("initial_state"))

    creation_content.pop("room_version", None)
    creation_content.pop("creator", None)
    trusted_invitees = invites if preset.trusted else []
    if version.privileged_creators:
        extra = creation_content.get("additional_creators", [])
        if not isinstance(extra, list) or not all(
            isinstance(u, str) and is_valid_user_id(u) for u in extra
        ):
            raise _bad("'additional_creators' must be a list of user IDs")
        if trusted_invitees:
            creation_content["additional_creators"] = list(dict.fromkeys([*extra, *invites]))
        trusted_invitees = []

    events: list[PlannedEvent] = []
    member: dict[str, Any] = {"membership": "join"}
    for key in ("displayname", "avatar_url"):
        if isinstance(creator_profile.get(key), str):
            member[key] = creator_profile[key]
    events.append(PlannedEvent("m.room.member", member, creator))
    power_levels = default_power_levels(creator, version_id, trusted_invitees)
    if override:
        power_levels.update(override)
    events.append(PlannedEvent("m.room.power_levels", power_levels))
    if alias is not None:
        events.append(PlannedEvent("m.room.canonical_alias", {"alias": alias}))
    given = {(e.event_type, e.state_key) for e in initial}
    for event_type, key, value in (
        ("m.room.join_rules", "join_rule", preset.join_rule),
        ("m.room.history_visibility", "history_visibility", preset.history_visibility),
        ("m.room.guest_access", "guest_access", preset.guest_access),
    ):
        if (event_type, "") not in given:
            events.append(PlannedEvent(event_type, {key: value}))
    overridden = {t for t, v in (("m.room.name", name), ("m.room.topic", topic)) if v is not None}
    events.extend(e for e in initial if not (e.event_type in overridden and e.state_key == ""))
    if name is not None:
        events.append(PlannedEvent("m.room.name", {"name": name}))
    if topic is not None:
        events.append(PlannedEvent("m.room.topic", topic_content(topic)))
    for invitee in invites:
        content: dict[str, Any] = {"membership": "invite"}
        if is_direct:
            content["is_direct"] = True
        events.append(PlannedEvent("m.room.member", content, invitee))
    return CreationPlan(
        room_version=version_id,
        create_content=creation_content,
        events=events,
        alias=alias,
        visibility=visibility,
        invites=tuple(invites),
    )
