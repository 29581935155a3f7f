"""The authorisation rules of room versions 1-12 (spec: ``rooms/v1.md`` ..
``rooms/v12.md``, "Authorisation rules"; server-server API, "Auth events
selection" and "Checks performed on receipt of a PDU").

:func:`check_auth` decides whether an event is allowed given the state it is
checked against (its own auth events, the state before it, or the current
state: steps 4-6 of the checks on receipt). :func:`check_auth_events_selection`
checks the event's own ``auth_events`` list (rule 2.1/2.2, v12 rule 3.1/3.2),
and :func:`auth_event_types` names the state an event must cite.

Rule numbers in docstrings are those of room v11 unless said otherwise;
errors name the number of the version the event was checked in. Every
per-version difference is decided by a flag of
:class:`~trioserver.protocol.room_versions.RoomVersion`.

Not checked here, because pure code has neither the events nor the keys:
rule 2.3 (an auth event was itself rejected: the caller leaves rejected
events out of ``auth_events``) and v8+ rule 4.2 (a member event with
``join_authorised_via_users_server`` must be signed by that user's server:
see :func:`authorising_server`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trioserver.protocol import room_versions
from trioserver.protocol.auth_context import (
    ALIASES,
    CREATE,
    CREATE_KEY,
    JOIN_RULES_KEY,
    MEMBER,
    POWER_LEVELS,
    POWER_LEVELS_KEY,
    REDACTION,
    THIRD_PARTY_INVITE,
    AuthContext,
    AuthError,
    Event,
    EventFormatError,
    StateKey,
    content_of,
    domain_of,
    event_id_of,
    reject,
)
from trioserver.protocol.auth_member import check_member
from trioserver.protocol.events import prev_event_ids, redacts
from trioserver.protocol.identifiers import is_valid_user_id
from trioserver.protocol.power_levels import (
    LEVEL_KEYS,
    InvalidPowerLevels,
    Level,
    LevelMap,
    check_power_levels_content,
)
from trioserver.protocol.room_versions import RoomVersion

__all__ = [
    "AuthError",
    "EventFormatError",
    "auth_event_types",
    "authorising_server",
    "check_auth",
    "check_auth_events_selection",
]


def _version(version: RoomVersion | str) -> RoomVersion:
    return version if isinstance(version, RoomVersion) else room_versions.room_version(version)


# --- the shape the rules rely on ----------------------------------------------


def _check_format(event: Any, rv: RoomVersion) -> None:
    """The fields the rules read must have their types (a subset of step 1
    of the checks on receipt, so that a malformed event is rejected rather
    than crashing the rules): :class:`EventFormatError`."""
    if not isinstance(event, Mapping):
        raise EventFormatError("event is not an object")
    kind = event.get("type")
    if not isinstance(kind, str):
        raise EventFormatError("type is not a string")
    sender = event.get("sender")
    if not isinstance(sender, str) or not is_valid_user_id(sender):
        raise EventFormatError(f"sender {sender!r} is not a user ID")
    if not isinstance(event.get("content"), Mapping):
        raise EventFormatError("content is not an object")
    if "state_key" in event and not isinstance(event["state_key"], str):
        raise EventFormatError("state_key is not a string")
    if not (kind == CREATE and rv.room_id_from_create_event):
        room_id = event.get("room_id")
        if not (isinstance(room_id, str) and room_id.startswith("!") and len(room_id) > 1):
            raise EventFormatError(f"room_id {room_id!r} is not a room ID")
        if not rv.room_id_from_create_event and domain_of(room_id) is None:
            raise EventFormatError(f"room_id {room_id!r} has no server name")
    if kind == CREATE and event.get("state_key") != "":
        raise EventFormatError("m.room.create must have an empty state_key")
    if kind == REDACTION:
        target = redacts(event, rv)
        if not (isinstance(target, str) and target.startswith("$") and len(target) > 1):
            raise EventFormatError(f"redacts {target!r} is not an event ID")
        if not rv.event_ids_are_hashes and domain_of(target) is None:
            raise EventFormatError(f"redacts {target!r} has no server name")


# --- auth events selection ------------------------------------------------------


def auth_event_types(event: Event, room_version: RoomVersion | str) -> set[StateKey]:
    """The ``(type, state_key)`` pairs whose current state ``event`` must cite
    in ``auth_events`` (server-server API, "Auth events selection").

    None for ``m.room.create``. Otherwise the power levels and the sender's
    membership, the create event before v12 (``room_id_from_create_event``:
    it must never be cited), and for ``m.room.member``: the target's
    membership; the join rules for ``join``, ``invite`` and ``knock``; for an
    ``invite`` with ``third_party_invite``, the ``m.room.third_party_invite``
    of ``signed.token``; for a ``join`` with
    ``join_authorised_via_users_server`` (v8+), that user's membership.
    """
    rv = _version(room_version)
    kind = event.get("type")
    if kind == CREATE:
        return set()
    keys: set[StateKey] = {POWER_LEVELS_KEY}
    if not rv.room_id_from_create_event:
        keys.add(CREATE_KEY)
    sender = event.get("sender")
    if isinstance(sender, str):
        keys.add((MEMBER, sender))
    if kind != MEMBER:
        return keys
    target = event.get("state_key")
    if isinstance(target, str):
        keys.add((MEMBER, target))
    content = content_of(event)
    membership = content.get("membership")
    if membership in ("join", "invite", "knock"):
        keys.add(JOIN_RULES_KEY)
    if membership == "invite":
        third_party = content.get("third_party_invite")
        signed = third_party.get("signed") if isinstance(third_party, Mapping) else None
        token = signed.get("token") if isinstance(signed, Mapping) else None
        if isinstance(token, str):
            keys.add((THIRD_PARTY_INVITE, token))
    if membership == "join" and rv.restricted_join_rule:
        authoriser = content.get("join_authorised_via_users_server")
        if isinstance(authoriser, str):
            keys.add((MEMBER, authoriser))
    return keys


def check_auth_events_selection(
    event: Event, auth_event_list: Iterable[Event], room_version: RoomVersion | str
) -> None:
    """Rule 2 (v12: rule 3) on the events ``event`` cites in ``auth_events``,
    given as the list of those events (the caller resolves the IDs, and leaves
    out none; rule 2.3, "was itself rejected", is the caller's). Raises
    :class:`AuthError` if two entries share a ``(type, state_key)`` (2.1), if
    an entry is not one :func:`auth_event_types` selects (2.2; from v12 this
    includes any create event), if there is no create event (2.4, v1-v11), or
    if an entry is in another room (2.5). A create event is decided by rule 1
    alone, so nothing is checked for one.
    """
    rv = _version(room_version)
    if event.get("type") == CREATE:
        return
    cited: list[tuple[StateKey, Event]] = []
    seen: set[StateKey] = set()
    for auth in auth_event_list:
        key = auth.get("type"), auth.get("state_key")
        if not (isinstance(key[0], str) and isinstance(key[1], str)):
            reject(rv, "auth_events.selection", "an auth event is not a state event")
        state_key: StateKey = (key[0], key[1])
        if state_key in seen:
            reject(rv, "auth_events.duplicates", f"two auth events for {state_key}")
        seen.add(state_key)
        cited.append((state_key, auth))
    expected = auth_event_types(event, rv)
    for state_key, _ in cited:
        if state_key not in expected:
            why = "the create event must not be cited" if state_key == CREATE_KEY else "unexpected"
            reject(rv, "auth_events.selection", f"auth event {state_key}: {why}")
    if not rv.room_id_from_create_event and CREATE_KEY not in seen:
        reject(rv, "auth_events.no_create", "no m.room.create among the auth events")
    room_id = event.get("room_id")
    for state_key, auth in cited:
        if auth.get("room_id") != room_id:
            reject(rv, "auth_events.room_id", f"auth event {state_key} is in another room")


def authorising_server(event: Event, room_version: RoomVersion | str) -> str | None:
    """The server that must have signed ``event`` because of its
    ``join_authorised_via_users_server`` (v8+ rule 4.2), or None.

    The signature check on receipt must require a valid signature from this
    server in addition to the sender's."""
    rv = _version(room_version)
    if not rv.restricted_join_rule or event.get("type") != MEMBER:
        return None
    return domain_of(content_of(event).get("join_authorised_via_users_server"))


# --- the rules ------------------------------------------------------------------


def check_auth(
    event: Event,
    auth_events: Mapping[StateKey, Event],
    room_version: RoomVersion | str,
    *,
    create_event_id: str | None = None,
) -> None:
    """Raise :class:`AuthError` unless ``event`` passes the authorisation
    rules of ``room_version`` against the state ``auth_events``.

    ``auth_events`` maps ``(type, state_key)`` to event dicts and must hold at
    least the keys :func:`auth_event_types` names that exist in the state
    checked against (it may be the whole state: other entries are ignored,
    rule 2.5 included). From v12 it must also hold the
    ``m.room.create`` event, found through the room ID, under
    ``("m.room.create", "")``. The create event's ID (needed by rule 4.3.1,
    the creator's first join, and by v12 rule 2) is ``create_event_id``, else
    the create event's ``event_id`` field, else computed from its reference
    hash: callers that check many events of a v12 room should pass it (or
    keep ``event_id`` on their events) to spare the hashing.

    A malformed event raises :class:`EventFormatError` (an :class:`AuthError`).
    :class:`~trioserver.protocol.room_versions.UnsupportedRoomVersion` for
    an unknown room version.
    """
    rv = _version(room_version)
    _check_format(event, rv)
    if event["type"] == CREATE:
        _check_create(event, rv)
        return
    create = auth_events.get(CREATE_KEY)
    if rv.room_id_from_create_event:
        create_event_id = _check_room_id_names_create(event, create, create_event_id, rv)
    elif create is None:
        reject(rv, "auth_events.no_create", "no m.room.create event in the auth events")
    assert create is not None
    room_id = event.get("room_id")
    for key in sorted(auth_event_types(event, rv)):
        auth = auth_events.get(key)
        if auth is not None and auth.get("room_id") != room_id:
            reject(rv, "auth_events.room_id", f"auth event {key} is in another room")
    ctx = AuthContext.build(event, auth_events, rv, create, create_event_id)
    _check_event(ctx)


def _check_create(event: Event, rv: RoomVersion) -> None:
    """Rule 1: ``m.room.create``."""
    if prev_event_ids(event) or event.get("prev_events"):
        reject(rv, "create.prev_events", "the create event has prev_events")
    if rv.room_id_from_create_event:
        if "room_id" in event:
            reject(rv, "create.room_id", "the create event has a room_id")
    elif domain_of(event.get("room_id")) != domain_of(event["sender"]):
        reject(rv, "create.room_id", "room_id and sender have different domains")
    content = content_of(event)
    if "room_version" in content:
        version = content["room_version"]
        if not isinstance(version, str) or version not in room_versions.ROOM_VERSIONS:
            reject(rv, "create.room_version", f"unknown room_version {version!r}")
    if not rv.implicit_room_creator and "creator" not in content:
        reject(rv, "create.creator", "content has no creator")
    if rv.privileged_creators and "additional_creators" in content:
        extra = content["additional_creators"]
        if not isinstance(extra, list) or not all(
            isinstance(user, str) and is_valid_user_id(user) for user in extra
        ):
            reject(
                rv, "create.additional_creators", "additional_creators is not a list of user IDs"
            )


def _check_room_id_names_create(
    event: Event, create: Event | None, create_event_id: str | None, rv: RoomVersion
) -> str:
    """Rule 2 (v12): the room ID must be an accepted create event's ID with
    ``!``. Returns the create event's ID."""
    if create is None:
        reject(rv, "room_id", "no m.room.create event for the room ID")
    if "room_id" in create:
        reject(rv, "room_id", "the m.room.create event has a room_id (it was rejected)")
    known = create_event_id if create_event_id is not None else event_id_of(create, rv)
    if known is None:
        reject(rv, "room_id", "the m.room.create event's ID cannot be computed")
    if event.get("room_id") != "!" + known[1:]:
        reject(rv, "room_id", "the room ID does not name the m.room.create event")
    return known


def _check_event(ctx: AuthContext) -> None:
    """Rules 3-10 (v11) for anything but a create event."""
    event, rv, sender = ctx.event, ctx.version, ctx.sender
    kind = event["type"]
    if content_of(ctx.create).get("m.federate") is False and domain_of(sender) != domain_of(
        ctx.create.get("sender")
    ):
        ctx.fail("federate", "the room is not federated and sender is on another server")
    if rv.special_case_aliases_auth and kind == ALIASES:
        if not isinstance(event.get("state_key"), str):
            ctx.fail("aliases.state_key", "m.room.aliases has no state_key")
        if event["state_key"] != domain_of(sender):
            ctx.fail("aliases.domain", "state_key is not the sender's domain")
        return
    if kind == MEMBER:
        check_member(ctx)
        return
    if ctx.membership(sender) != "join":
        ctx.fail("joined", "sender is not joined")
    power = ctx.power(sender)
    if kind == THIRD_PARTY_INVITE:
        if power >= ctx.pl.invite:
            return
        ctx.fail("third_party_invite", "sender's power level is below the invite level")
    state_key = event.get("state_key")
    required = ctx.pl.required_level(kind, is_state=isinstance(state_key, str))
    if required > power:
        ctx.fail("required_level", f"{kind} needs power level {required}, sender has {power}")
    if isinstance(state_key, str) and state_key.startswith("@") and state_key != sender:
        ctx.fail("state_key", "state_key starts with @ and is not the sender")
    if kind == POWER_LEVELS:
        _check_power_levels(ctx, power)
    if rv.redaction_auth_rule and kind == REDACTION:
        _check_redaction_v1(ctx, power)


def _check_redaction_v1(ctx: AuthContext, power: Level) -> None:
    """Rule 11 (v1, v2 only): the redact level, or the same ``event_id`` domain."""
    if power >= ctx.pl.redact:
        return
    target = redacts(ctx.event, ctx.version)
    own = domain_of(ctx.event.get("event_id"))
    if own is not None and domain_of(target) == own:
        return
    ctx.fail("redaction.otherwise", "below the redact level and the event is from another server")


def _levels_of(value: Any, rv: RoomVersion) -> dict[str, int]:
    return dict(LevelMap(value, rv))


def _changes(old: dict[str, int], new: dict[str, int]) -> list[tuple[str, int | None, int | None]]:
    return [
        (key, old.get(key), new.get(key))
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    ]


def _check_power_levels(ctx: AuthContext, power: Level) -> None:
    """Rule 9 (v11; v1-v5: rule 10, v12: rule 10): ``m.room.power_levels``.

    Values are compared as parsed for the room version (``"50"`` and ``50``
    are the same value before v10). A property absent on one side has no
    current (or new) value to compare.
    """
    rv, content, sender = ctx.version, ctx.content, ctx.sender
    try:
        check_power_levels_content(content, rv)
    except InvalidPowerLevels as exc:
        ctx.fail(f"power_levels.{exc.rule}", str(exc))
    users = content.get("users")
    if rv.privileged_creators and isinstance(users, Mapping):
        listed = sorted(ctx.creators.intersection(users))
        if listed:
            ctx.fail("power_levels.creators", f"room creators {listed} are listed in users")
    current = ctx.auth_events.get(POWER_LEVELS_KEY)
    if current is None:
        return
    old_content = content_of(current)
    scalar_old = _levels_of({k: old_content[k] for k in LEVEL_KEYS if k in old_content}, rv)
    scalar_new = _levels_of({k: content[k] for k in LEVEL_KEYS if k in content}, rv)
    for key, old, new in _changes(scalar_old, scalar_new):
        if old is not None and old > power:
            ctx.fail("power_levels.keys", f"current {key} {old} is above sender's level {power}")
        if new is not None and new > power:
            ctx.fail("power_levels.keys", f"new {key} {new} is above sender's level {power}")
    maps = ["events", "notifications"] if rv.limit_notifications_power_levels else ["events"]
    map_changes = [
        (name, _changes(_levels_of(old_content.get(name), rv), _levels_of(content.get(name), rv)))
        for name in maps
    ]
    for name, changes in map_changes:
        for key, old, _new in changes:
            if old is not None and old > power:
                ctx.fail("power_levels.events_old", f"current {name}[{key!r}] is above sender's")
    for name, changes in map_changes:
        for key, _old, new in changes:
            if new is not None and new > power:
                ctx.fail("power_levels.events_new", f"new {name}[{key!r}] is above sender's")
    user_changes = _changes(_levels_of(old_content.get("users"), rv), _levels_of(users, rv))
    for user, old, _new in user_changes:
        if user != sender and old is not None and old >= power:
            ctx.fail("power_levels.users_old", f"{user}'s current level is not below sender's")
    for user, _old, new in user_changes:
        if new is not None and new > power:
            ctx.fail("power_levels.users_new", f"{user}'s new level is above sender's")
