"""Reading ``m.room.power_levels`` and the creators of a room, per room version.

Defaults (client-server API, ``m.room.power_levels``): ``users_default`` 0,
``events_default`` 0, ``state_default`` 50, ``ban`` 50, ``kick`` 50,
``redact`` 50, ``invite`` 0, ``notifications.room`` 50. Without a power
levels event the room's creator(s) have 100 and everyone else 0; from room
v12 (MSC4289) the creators have infinite power whether or not there is one.

How a level may be written depends on the room version:

- v1-v5: integers, strings holding integers (``" +100 "``), and floats,
  truncated (``rooms/fragments/v1-stringy-power-levels.md`` and
  ``v1-floaty-power-levels.md``);
- v6-v9: integers and integer strings (canonical JSON forbids floats);
- v10+: integers only (``enforce_int_power_levels``).

Reading is lenient: a value not valid for the version counts as absent (the
default applies). Validation for the authorisation rules is strict:
:func:`check_power_levels_content` (auth rules, v10, rules 9.1-9.3).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from trioserver.protocol.identifiers import is_valid_user_id
from trioserver.protocol.room_versions import RoomVersion, room_version

#: A user's power level: an integer, or ``math.inf`` for a room v12 creator.
Level = int | float

#: The power level of a room creator from room v12 (MSC4289).
CREATOR_LEVEL: float = math.inf

#: The level a creator has in room v1-v11 when there is no power levels event.
CREATOR_DEFAULT_LEVEL = 100

#: The properties holding a single level, with their defaults.
LEVEL_KEYS: Mapping[str, int] = {
    "users_default": 0,
    "events_default": 0,
    "state_default": 50,
    "ban": 50,
    "kick": 50,
    "redact": 50,
    "invite": 0,
}

#: ``notifications.room`` when absent.
NOTIFICATION_DEFAULT = 50

# A base 10 integer, optional sign, optional surrounding whitespace (v1 fragment).
_INT_STRING = re.compile(r"[ \t\n\r\f\v]*([+-]?[0-9]+)[ \t\n\r\f\v]*")


class InvalidPowerLevels(ValueError):
    """``m.room.power_levels`` content that breaks the rules of its room version.

    ``rule`` names the failing check: ``"levels"``, ``"maps"`` or ``"users"``
    (auth rules, v10, rules 9.1, 9.2, 9.3; v1 rule 10.1 is ``"users"``).
    """

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def _version(version: RoomVersion | str) -> RoomVersion:
    return version if isinstance(version, RoomVersion) else room_version(version)


def parse_power_level(value: Any, version: RoomVersion | str) -> int | None:
    """``value`` as a power level in ``version``, or None if not valid there.

    Booleans are never levels. Strings are accepted before v10, floats
    (truncated towards zero, finite only) before v6.
    """
    rv = _version(version)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if rv.enforce_int_power_levels:
        return None
    if isinstance(value, str):
        match = _INT_STRING.fullmatch(value)
        return int(match.group(1)) if match else None
    if isinstance(value, float) and not rv.strict_canonical_json and math.isfinite(value):
        return int(value)
    return None


class LevelMap(Mapping[str, int]):
    """A read-only view of ``users``, ``events`` or ``notifications``: the
    entries whose key is a string and whose value is a level valid for the
    room version. Lookups parse one value, so reading one user's level from
    a room with thousands of listed users costs no more than a dict lookup."""

    __slots__ = ("_raw", "_version")

    def __init__(self, raw: Any, version: RoomVersion) -> None:
        self._raw: Mapping[Any, Any] = raw if isinstance(raw, Mapping) else {}
        self._version = version

    def __getitem__(self, key: str) -> int:
        level = parse_power_level(self._raw[key], self._version)
        if level is None:
            raise KeyError(key)
        return level

    def __iter__(self) -> Iterator[str]:
        for key, raw in self._raw.items():
            if isinstance(key, str) and parse_power_level(raw, self._version) is not None:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"LevelMap({dict(self)!r})"


@dataclass(frozen=True, slots=True)
class PowerLevels:
    """The content of one ``m.room.power_levels`` event, read with defaults.

    Build it with :meth:`from_content` or :meth:`from_event`. The maps
    (:class:`LevelMap`) show only the entries valid for the room version.
    """

    users: Mapping[str, int] = field(default_factory=dict)
    users_default: int = 0
    events: Mapping[str, int] = field(default_factory=dict)
    events_default: int = 0
    state_default: int = 50
    ban: int = 50
    kick: int = 50
    redact: int = 50
    invite: int = 0
    notifications: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_content(cls, content: Any, version: RoomVersion | str) -> PowerLevels:
        rv = _version(version)
        content = content if isinstance(content, Mapping) else {}
        levels: dict[str, int] = {}
        for key, default in LEVEL_KEYS.items():
            parsed = parse_power_level(content.get(key), rv)
            levels[key] = default if parsed is None else parsed
        return cls(
            users=LevelMap(content.get("users"), rv),
            events=LevelMap(content.get("events"), rv),
            notifications=LevelMap(content.get("notifications"), rv),
            **levels,
        )

    @classmethod
    def from_event(cls, event: Mapping[str, Any] | None, version: RoomVersion | str) -> PowerLevels:
        """The levels of ``event``; all defaults (and no users) if None."""
        if event is None:
            return cls()
        return cls.from_content(event.get("content"), version)

    def required_level(self, event_type: str, *, is_state: bool) -> int:
        """The *required power level* of an event type (server-server API,
        "Definitions"): ``events[type]``, else ``state_default`` for state
        events and ``events_default`` for others."""
        level = self.events.get(event_type)
        if level is not None:
            return level
        return self.state_default if is_state else self.events_default

    def notification_level(self, key: str) -> int:
        """The level needed to trigger a notification of ``key`` (``"room"``:
        an ``@room`` mention); 50 when not given (the spec defines only ``room``)."""
        level = self.notifications.get(key)
        return NOTIFICATION_DEFAULT if level is None else level


def creators(create_event: Mapping[str, Any], version: RoomVersion | str) -> frozenset[str]:
    """The room's creators, from its ``m.room.create`` event.

    v1-v10: ``content.creator``; v11 (MSC2175, ``implicit_room_creator``): the
    event's ``sender``; v12 (MSC4289, ``privileged_creators``): the ``sender``
    plus the strings of ``content.additional_creators``. Values that are not
    strings are left out (the create event's auth rules reject them in v12).
    """
    rv = _version(version)
    content = create_event.get("content")
    content = content if isinstance(content, Mapping) else {}
    if not rv.implicit_room_creator:
        creator = content.get("creator")
        return frozenset([creator]) if isinstance(creator, str) else frozenset()
    found: set[str] = set()
    sender = create_event.get("sender")
    if isinstance(sender, str):
        found.add(sender)
    if rv.privileged_creators:
        extra = content.get("additional_creators")
        if isinstance(extra, list):
            found.update(item for item in extra if isinstance(item, str))
    return frozenset(found)


def power_level_of(
    user_id: str,
    levels: PowerLevels | None,
    room_creators: frozenset[str],
    version: RoomVersion | str,
) -> Level:
    """``user_id``'s power level given the parsed levels (None: no power
    levels event) and the room's creators (:func:`creators`).

    v12: creators have :data:`CREATOR_LEVEL` (infinite). Otherwise a listed
    user has their ``users`` entry, others ``users_default``; with no power
    levels event, creators have 100 and others 0.
    """
    rv = _version(version)
    if rv.privileged_creators and user_id in room_creators:
        return CREATOR_LEVEL
    if levels is None:
        return CREATOR_DEFAULT_LEVEL if user_id in room_creators else 0
    level = levels.users.get(user_id)
    return levels.users_default if level is None else level


def user_power_level(
    user_id: str,
    power_levels_event: Mapping[str, Any] | None,
    create_event: Mapping[str, Any],
    version: RoomVersion | str,
) -> Level:
    """``user_id``'s power level in a room with these power levels and create events."""
    rv = _version(version)
    levels = None if power_levels_event is None else PowerLevels.from_event(power_levels_event, rv)
    return power_level_of(user_id, levels, creators(create_event, rv), rv)


def required_level_for_event(
    event: Mapping[str, Any],
    power_levels_event: Mapping[str, Any] | None,
    version: RoomVersion | str,
) -> int:
    """The level needed to send ``event`` (a dict with ``type`` and, for
    state events, ``state_key``) under these power levels."""
    levels = PowerLevels.from_event(power_levels_event, version)
    return levels.required_level(
        str(event.get("type")), is_state=isinstance(event.get("state_key"), str)
    )


def check_power_levels_content(content: Any, version: RoomVersion | str) -> None:
    """Raise :class:`InvalidPowerLevels` unless ``content`` is well formed for ``version``.

    v10+ (``enforce_int_power_levels``), rules 9.1 and 9.2: the single levels,
    and the values of ``events`` and ``notifications``, must be integers when
    present. All versions (v1 rule 10.1, v10 rule 9.3): ``users``, when
    present, must map valid user IDs (historical grammar allowed) to levels
    valid for the version.
    """
    rv = _version(version)
    content = content if isinstance(content, Mapping) else {}
    if rv.enforce_int_power_levels:
        for key in LEVEL_KEYS:
            if key in content and parse_power_level(content[key], rv) is None:
                raise InvalidPowerLevels("levels", f"{key!r} is not an integer")
        for key in ("events", "notifications"):
            value = content.get(key)
            if key in content and not (
                isinstance(value, Mapping)
                and all(parse_power_level(v, rv) is not None for v in value.values())
            ):
                raise InvalidPowerLevels("maps", f"{key!r} is not an object of integers")
    if "users" in content:
        users = content["users"]
        if not isinstance(users, Mapping):
            raise InvalidPowerLevels("users", "'users' is not an object")
        for user, value in users.items():
            if not (isinstance(user, str) and is_valid_user_id(user)):
                raise InvalidPowerLevels("users", f"{user!r} in 'users' is not a user ID")
            if parse_power_level(value, rv) is None:
                raise InvalidPowerLevels("users", f"the level of {user!r} is not an integer")
