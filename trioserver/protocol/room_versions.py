"""The room versions this server knows, as one table of rule flags.

Every rule that differs between room versions is decided by a flag of
:class:`RoomVersion`, never by comparing version strings
(spec: "Room Versions", ``rooms/v1.md`` .. ``rooms/v12.md``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class EventFormat(enum.Enum):
    """How event IDs are made and how events cite other events."""

    #: v1, v2: ``event_id`` is a field chosen by the origin server
    #: (``$local:server``); ``prev_events``/``auth_events`` are
    #: ``[[event_id, {"sha256": hash}], ...]``.
    V1 = 1
    #: v3: the event ID is ``$`` + unpadded standard base64 of the
    #: reference hash; references are plain lists of event IDs.
    V2 = 2
    #: v4+: as V2 but with URL-safe base64.
    V3 = 3


class StateResAlgorithm(enum.Enum):
    V1 = 1  #: rooms v1
    V2 = 2  #: rooms v2 .. v11
    V2_1 = 3  #: room v12 (MSC4297): conflicted subgraph, empty starting state


@dataclass(frozen=True, slots=True)
class RoomVersion:
    """The rule flags of one room version."""

    identifier: str
    stable: bool
    event_format: EventFormat
    state_res: StateResAlgorithm
    #: v5+: a signature only counts if the key was valid at ``origin_server_ts``.
    enforce_key_validity: bool
    #: v1-v5: auth rule 4 for ``m.room.aliases`` (allowed if state_key is
    #: the sender's domain), and ``aliases`` kept on redaction.
    special_case_aliases_auth: bool
    #: v1, v2: auth rule 11 checks ``m.room.redaction`` (redact level, or the
    #: same ``event_id`` domain). From v3 the auth rules ignore the redact
    #: level; the check moves to "Handling redactions" (``rooms/v3.md``).
    redaction_auth_rule: bool
    #: v6+: floats and integers outside the canonical range are rejected.
    strict_canonical_json: bool
    #: v6+: ``notifications`` in power levels is checked on change.
    limit_notifications_power_levels: bool
    #: v7+: ``knock`` join rule and membership.
    knock_join_rule: bool
    #: v8+: ``restricted`` join rule with ``join_authorised_via_users_server``;
    #: redaction keeps ``allow`` of ``m.room.join_rules``.
    restricted_join_rule: bool
    #: v9+: redaction keeps ``join_authorised_via_users_server`` of members.
    restricted_join_rule_fix: bool
    #: v10+: ``knock_restricted`` join rule.
    knock_restricted_join_rule: bool
    #: v10+: power level values must be integers (not strings).
    enforce_int_power_levels: bool
    #: v11+ (MSC2175): the room creator is the create event's ``sender``;
    #: ``creator`` is no longer required in its content.
    implicit_room_creator: bool
    #: v11+ (MSC2176, MSC2174, MSC3821, MSC3989): the updated redaction
    #: rules (create keeps all content, power levels keep ``invite``,
    #: redactions keep ``content.redacts``, members keep
    #: ``third_party_invite.signed``; top-level ``origin``, ``membership``
    #: and ``prev_state`` no longer kept) and ``redacts`` moved into content.
    updated_redaction_rules: bool
    #: v12+ (MSC4289): creators (sender + ``additional_creators``) have
    #: infinite power and cannot be given a power level.
    privileged_creators: bool
    #: v12+ (MSC4291): the room ID is derived from the create event's
    #: reference hash; the create event has no ``room_id`` and is never
    #: cited in ``auth_events``.
    room_id_from_create_event: bool

    @property
    def event_ids_are_hashes(self) -> bool:
        return self.event_format is not EventFormat.V1


def _v(identifier: str, number: int) -> RoomVersion:
    return RoomVersion(
        identifier=identifier,
        stable=True,
        event_format=(
            EventFormat.V1 if number <= 2 else EventFormat.V2 if number == 3 else EventFormat.V3
        ),
        state_res=(
            StateResAlgorithm.V1
            if number == 1
            else StateResAlgorithm.V2_1
            if number >= 12
            else StateResAlgorithm.V2
        ),
        enforce_key_validity=number >= 5,
        special_case_aliases_auth=number <= 5,
        redaction_auth_rule=number <= 2,
        strict_canonical_json=number >= 6,
        limit_notifications_power_levels=number >= 6,
        knock_join_rule=number >= 7,
        restricted_join_rule=number >= 8,
        restricted_join_rule_fix=number >= 9,
        knock_restricted_join_rule=number >= 10,
        enforce_int_power_levels=number >= 10,
        implicit_room_creator=number >= 11,
        updated_redaction_rules=number >= 11,
        privileged_creators=number >= 12,
        room_id_from_create_event=number >= 12,
    )


#: Every room version we implement, keyed by its identifier string.
ROOM_VERSIONS: dict[str, RoomVersion] = {str(n): _v(str(n), n) for n in range(1, 13)}

#: The version new rooms get unless the client asks otherwise (spec v1.19).
DEFAULT_ROOM_VERSION = "12"


class UnsupportedRoomVersion(ValueError):
    """A room version identifier this server does not implement."""


def room_version(identifier: str) -> RoomVersion:
    """The :class:`RoomVersion` for ``identifier``; raises :class:`UnsupportedRoomVersion`."""
    try:
        return ROOM_VERSIONS[identifier]
    except (KeyError, TypeError):
        raise UnsupportedRoomVersion(f"unsupported room version {identifier!r}") from None
