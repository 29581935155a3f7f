"""What the authorisation rules share: their errors, the rule numbers of each
room version, and the state an event is checked against.

The public entry points are in :mod:`trioserver.protocol.auth`; the rules
for ``m.room.member`` events are in :mod:`trioserver.protocol.auth_member`.

Rules are named by version-independent keys (``"member.join.banned"``); the
spec numbers them differently per version (v8 inserted rule 4.2, v6 removed
the ``m.room.aliases`` rule, v12 inserted rule 2, ...), so the number shown in
an error is derived from the room version's flags by :func:`rule_numbers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, NoReturn

from trioserver.protocol.errors import MatrixError
from trioserver.protocol.power_levels import Level, PowerLevels, creators, power_level_of
from trioserver.protocol.room_versions import RoomVersion

Event = Mapping[str, Any]
StateKey = tuple[str, str]

CREATE = "m.room.create"
MEMBER = "m.room.member"
POWER_LEVELS = "m.room.power_levels"
JOIN_RULES = "m.room.join_rules"
THIRD_PARTY_INVITE = "m.room.third_party_invite"
ALIASES = "m.room.aliases"
REDACTION = "m.room.redaction"

CREATE_KEY: StateKey = (CREATE, "")
POWER_LEVELS_KEY: StateKey = (POWER_LEVELS, "")
JOIN_RULES_KEY: StateKey = (JOIN_RULES, "")


class AuthError(MatrixError):
    """An event the authorisation rules reject (``M_FORBIDDEN``).

    ``rule`` is the version-independent key of the failing rule (e.g.
    ``"member.join.banned"``), ``rule_number`` its number in the room
    version (e.g. ``"4.3.3"``); the message names both.
    """

    def __init__(
        self,
        message: str,
        *,
        rule: str = "",
        rule_number: str = "",
        errcode: str = "M_FORBIDDEN",
    ) -> None:
        super().__init__(errcode, message)
        self.rule = rule
        self.rule_number = rule_number


class EventFormatError(AuthError):
    """The event lacks the shape the rules read (a ``sender`` that is not a
    user ID, a create event without an empty ``state_key``, a redaction
    without an event ID to redact...). Such an event should have been dropped
    by the format check ("Checks performed on receipt of a PDU", step 1);
    it is an :class:`AuthError` so that callers of the rules need catch one
    class. ``errcode`` is ``M_BAD_JSON``."""

    def __init__(self, message: str) -> None:
        super().__init__(f"malformed event: {message}", rule="format", errcode="M_BAD_JSON")


# --- rule numbers -----------------------------------------------------------


def _number(out: dict[str, str], prefix: str, label: str, names: list[str | None]) -> None:
    position = 0
    for name in names:
        if name is None:
            continue
        position += 1
        out[f"{prefix}{name}" if prefix else name] = f"{label}{position}"


@cache
def rule_numbers(rv: RoomVersion) -> Mapping[str, str]:
    """Rule key → the rule's number in the authorisation rules of ``rv``
    (as the spec renders its ordered lists)."""
    out: dict[str, str] = {}
    top: list[str | None] = [
        "create",
        "room_id" if rv.room_id_from_create_event else None,
        "auth_events",
        "federate",
        "aliases" if rv.special_case_aliases_auth else None,
        "member",
        "joined",
        "third_party_invite",
        "required_level",
        "state_key",
        "power_levels",
        "redaction" if rv.redaction_auth_rule else None,
    ]
    _number(out, "", "", top)

    def sub(parent: str, names: list[str | None]) -> None:
        _number(out, f"{parent}.", f"{out[parent]}.", names)

    sub(
        "create",
        [
            "prev_events",
            "room_id",
            "room_version",
            None if rv.implicit_room_creator else "creator",
            "additional_creators" if rv.privileged_creators else None,
        ],
    )
    sub(
        "auth_events",
        [
            "duplicates",
            "selection",
            "rejected",
            None if rv.room_id_from_create_event else "no_create",
            "room_id",
        ],
    )
    if rv.special_case_aliases_auth:
        sub("aliases", ["state_key", "domain"])
    sub(
        "member",
        [
            "shape",
            "authorised_via" if rv.restricted_join_rule else None,
            "join",
            "invite",
            "leave",
            "ban",
            "knock" if rv.knock_join_rule else None,
            "unknown",
        ],
    )
    sub(
        "member.join",
        [
            "creator",
            "sender",
            "banned",
            "invite",
            "restricted" if rv.restricted_join_rule else None,
            "public",
            "otherwise",
        ],
    )
    if rv.restricted_join_rule:
        sub("member.join.restricted", ["member", "authoriser"])
    sub("member.invite", ["third_party", "sender", "target", "level", "otherwise"])
    sub(
        "member.invite.third_party",
        ["banned", "signed", "fields", "mxid", "token", "sender", "signature", "otherwise"],
    )
    sub("member.leave", ["self", "sender", "banned", "level", "otherwise"])
    sub("member.ban", ["sender", "level", "otherwise"])
    if rv.knock_join_rule:
        sub("member.knock", ["join_rule", "sender", "membership", "otherwise"])
    sub(
        "power_levels",
        [
            "levels" if rv.enforce_int_power_levels else None,
            "maps" if rv.enforce_int_power_levels else None,
            "users",
            "creators" if rv.privileged_creators else None,
            "no_previous",
            "keys",
            "events_old",
            "events_new",
            "users_old",
            "users_new",
        ],
    )
    if rv.redaction_auth_rule:
        sub("redaction", ["level", "domain", "otherwise"])
    return out


def reject(rv: RoomVersion, rule: str, reason: str) -> NoReturn:
    """Raise the :class:`AuthError` of ``rule`` (a key of :func:`rule_numbers`) in ``rv``."""
    number = rule_numbers(rv).get(rule, "?")
    raise AuthError(
        f"auth rule {number} (v{rv.identifier}): {reason}", rule=rule, rule_number=number
    )


# --- identifiers ------------------------------------------------------------


def domain_of(identifier: Any) -> str | None:
    """The server name of ``@user:server`` (also ``!room:server``,
    ``$event:server``): the text after the first colon, or None."""
    if not isinstance(identifier, str):
        return None
    _, colon, server = identifier.partition(":")
    return server if colon and server else None


def event_id_of(event: Event, rv: RoomVersion) -> str | None:
    """An event's ID: its ``event_id`` field (v1, v2; later versions' events
    may carry it in memory), else, from v3, computed from its reference hash
    (:func:`trioserver.protocol.hashes.compute_event_id`). None if neither works."""
    value = event.get("event_id")
    if isinstance(value, str):
        return value
    if not rv.event_ids_are_hashes:
        return None
    from trioserver.protocol.hashes import compute_event_id

    try:
        return compute_event_id(event, rv)
    except (ValueError, TypeError, KeyError):
        return None


def content_of(event: Event | None) -> Mapping[str, Any]:
    content = event.get("content") if event is not None else None
    return content if isinstance(content, Mapping) else {}


# --- the state an event is checked against ----------------------------------

_NO_LEVELS = PowerLevels()


@dataclass(slots=True)
class AuthContext:
    """One event, the room version, and the auth state it is checked against."""

    event: Event
    auth_events: Mapping[StateKey, Event]
    version: RoomVersion
    create: Event
    creators: frozenset[str]
    levels: PowerLevels | None
    create_event_id: str | None

    @classmethod
    def build(
        cls,
        event: Event,
        auth_events: Mapping[StateKey, Event],
        version: RoomVersion,
        create: Event,
        create_event_id: str | None,
    ) -> AuthContext:
        pl_event = auth_events.get(POWER_LEVELS_KEY)
        return cls(
            event=event,
            auth_events=auth_events,
            version=version,
            create=create,
            creators=creators(create, version),
            levels=None if pl_event is None else PowerLevels.from_event(pl_event, version),
            create_event_id=create_event_id,
        )

    def create_id(self) -> str | None:
        """The create event's ID (:func:`event_id_of`), computed once."""
        if self.create_event_id is None:
            self.create_event_id = event_id_of(self.create, self.version)
        return self.create_event_id

    @property
    def sender(self) -> str:
        return str(self.event["sender"])

    @property
    def content(self) -> Mapping[str, Any]:
        return content_of(self.event)

    def fail(self, rule: str, reason: str) -> NoReturn:
        """Reject the event under ``rule`` (a key of :func:`rule_numbers`)."""
        reject(self.version, rule, reason)

    def membership(self, user_id: Any) -> str | None:
        """``user_id``'s current membership, or None if it has no member event."""
        if not isinstance(user_id, str):
            return None
        member = self.auth_events.get((MEMBER, user_id))
        value = content_of(member).get("membership") if member is not None else None
        return value if isinstance(value, str) else None

    def power(self, user_id: Any) -> Level:
        """``user_id``'s current power level (v12 creators: infinite)."""
        if not isinstance(user_id, str):
            return 0
        return power_level_of(user_id, self.levels, self.creators, self.version)

    @property
    def pl(self) -> PowerLevels:
        """The current power levels; all defaults if there is no power levels
        event (the *invite*, *kick*, *ban* and *redact* levels, server-server
        API, "Definitions")."""
        return self.levels if self.levels is not None else _NO_LEVELS

    def join_rule(self) -> str:
        """The room's join rule. A room with no ``m.room.join_rules`` event, or
        one without a string ``join_rule``, is treated as ``invite``."""
        event = self.auth_events.get(JOIN_RULES_KEY)
        value = content_of(event).get("join_rule")
        return value if isinstance(value, str) else "invite"
