"""Matrix identifiers: server names, user IDs, room IDs, room aliases, event IDs
(spec: appendices, "Identifier Grammar"; room versions for event and room ID formats).

Every identifier is at most 255 bytes of UTF-8, sigil and domain included.
Localparts of user IDs come in two grammars: the strict one that new accounts
must use (``[a-z0-9._=/+-]+``, "User Identifiers") and the historical one that
must still be accepted over federation (any non-surrogate code point except
``:`` and NUL, possibly empty: "Historical User IDs").
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from trioserver.protocol.room_versions import EventFormat, RoomVersion, room_version

__all__ = [
    "MAX_IDENTIFIER_BYTES",
    "InvalidIdentifier",
    "RoomAlias",
    "RoomID",
    "UserID",
    "is_valid_event_id",
    "is_valid_localpart",
    "is_valid_namespaced_identifier",
    "is_valid_room_alias",
    "is_valid_room_id",
    "is_valid_server_name",
    "is_valid_user_id",
    "parse_server_name",
]

#: Identifiers, sigil and domain included, must not exceed this many bytes.
MAX_IDENTIFIER_BYTES = 255


class InvalidIdentifier(ValueError):
    """A string that is not a valid identifier of the expected kind."""


_STRICT_LOCALPART = re.compile(r"[a-z0-9._=\-/+]+")
# Historical localparts, room ID localparts and alias localparts: no ':' (it
# ends the localpart), no NUL, no surrogate code point.
_BAD_OPAQUE_CHAR = re.compile("[\x00\ud800-\udfff]")
_DNS_NAME = re.compile(r"[A-Za-z0-9\-.]{1,255}")
_IPV4_SHAPE = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]{2,45}")
_PORT = re.compile(r"[0-9]{1,5}")
_HASH_STD = re.compile(r"[A-Za-z0-9+/]{43}")
_HASH_URLSAFE = re.compile(r"[A-Za-z0-9\-_]{43}")
_NAMESPACED = re.compile(r"[a-z][a-z0-9._\-]{0,254}")


def _too_long(text: str) -> bool:
    # Cheap first: a str of n code points has at least n UTF-8 bytes.
    return len(text) > MAX_IDENTIFIER_BYTES or (
        not text.isascii() and len(text.encode("utf-8", "surrogatepass")) > MAX_IDENTIFIER_BYTES
    )


def _valid_hostname(host: str) -> bool:
    if host.startswith("["):
        if not host.endswith("]"):
            return False
        literal = host[1:-1]
        if _IPV6_CHARS.fullmatch(literal) is None:
            return False
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            return False
        return True
    if _DNS_NAME.fullmatch(host) is None:
        return False
    # A dotted quad is an IPv4 literal, whose numbers must be 0..255.
    if _IPV4_SHAPE.fullmatch(host):
        return all(int(part) <= 255 for part in host.split("."))
    return True


def parse_server_name(server_name: str) -> tuple[str, int | None]:
    """Split a server name into ``(hostname, port or None)`` (appendices, "Server
    Name"). The hostname keeps the brackets of an IPv6 literal.

    Beyond the grammar: IPv4 literals must have numbers 0..255, IPv6 literals
    must be valid RFC 3513 addresses, ports must be at most 65535, and the whole
    name at most 255 bytes. Raises :class:`InvalidIdentifier`.
    """
    if not isinstance(server_name, str) or not server_name or _too_long(server_name):
        raise InvalidIdentifier(f"invalid server name {server_name!r}")
    port: int | None = None
    host = server_name
    colon = server_name.rfind(":")
    if colon != -1 and not server_name.endswith("]"):
        host, port_text = server_name[:colon], server_name[colon + 1 :]
        if _PORT.fullmatch(port_text) is None or int(port_text) > 65535:
            raise InvalidIdentifier(f"invalid port in server name {server_name!r}")
        port = int(port_text)
    if not _valid_hostname(host):
        raise InvalidIdentifier(f"invalid server name {server_name!r}")
    return host, port


def is_valid_server_name(server_name: str) -> bool:
    """Whether ``server_name`` passes :func:`parse_server_name`."""
    try:
        parse_server_name(server_name)
    except InvalidIdentifier:
        return False
    return True


def is_valid_localpart(localpart: str) -> bool:
    """The strict user ID localpart grammar that new registrations must follow:
    non-empty, only ``a-z 0-9 . _ = - / +`` (appendices, "User Identifiers")."""
    return isinstance(localpart, str) and _STRICT_LOCALPART.fullmatch(localpart) is not None


def _split(text: str, sigil: str, kind: str) -> tuple[str, str]:
    """``&localpart:domain`` into its parts; the localpart may be empty."""
    if not isinstance(text, str) or not text.startswith(sigil):
        raise InvalidIdentifier(f"{kind} must start with {sigil!r}: {text!r}")
    if _too_long(text):
        raise InvalidIdentifier(f"{kind} is longer than {MAX_IDENTIFIER_BYTES} bytes")
    localpart, colon, domain = text[1:].partition(":")
    if not colon:
        raise InvalidIdentifier(f"{kind} has no server name: {text!r}")
    if _BAD_OPAQUE_CHAR.search(localpart):
        raise InvalidIdentifier(f"{kind} has NUL or a surrogate in its localpart")
    if not is_valid_server_name(domain):
        raise InvalidIdentifier(f"{kind} has an invalid server name: {text!r}")
    return localpart, domain


@dataclass(frozen=True, slots=True)
class UserID:
    """``@localpart:server_name`` (appendices, "User Identifiers")."""

    localpart: str
    server_name: str

    @classmethod
    def parse(cls, text: str, *, historical: bool = True) -> UserID:
        """Parse a user ID. With ``historical`` (the default, for anything received
        over federation) the localpart may be any non-surrogate code points except
        ``:`` and NUL, even empty; without it the strict grammar applies.
        Raises :class:`InvalidIdentifier`."""
        localpart, domain = _split(text, "@", "user ID")
        if not historical and not is_valid_localpart(localpart):
            raise InvalidIdentifier(f"user ID localpart is not allowed: {localpart!r}")
        return cls(localpart, domain)

    @property
    def is_compliant(self) -> bool:
        """False for historical localparts: empty, or with a character outside
        U+0021..U+007E ("Historical User IDs": such IDs are non-compliant)."""
        return bool(self.localpart) and all("!" <= c <= "~" for c in self.localpart)

    def __str__(self) -> str:
        return f"@{self.localpart}:{self.server_name}"


def is_valid_user_id(text: str, historical: bool = True) -> bool:
    """Whether ``text`` is a user ID (see :meth:`UserID.parse`)."""
    try:
        UserID.parse(text, historical=historical)
    except InvalidIdentifier:
        return False
    return True


@dataclass(frozen=True, slots=True)
class RoomID:
    """``!opaque_id:server_name`` (rooms v1..v11) or ``!`` + the create event's
    URL-safe reference hash, with no server name (v12, MSC4291; appendices,
    "Room IDs"). ``server_name`` is None for the second form."""

    opaque_id: str
    server_name: str | None

    @classmethod
    def parse(cls, text: str, version: RoomVersion | str | None = None) -> RoomID:
        """Parse a room ID. With ``version`` only that version's form is accepted;
        without it either form is. Raises :class:`InvalidIdentifier`."""
        rv = room_version(version) if isinstance(version, str) else version
        if isinstance(text, str) and ":" not in text and text.startswith("!"):
            if rv is not None and not rv.room_id_from_create_event:
                raise InvalidIdentifier(f"room ID has no server name: {text!r}")
            if _HASH_URLSAFE.fullmatch(text[1:]) is None:
                raise InvalidIdentifier(f"room ID is not a reference hash: {text!r}")
            return cls(text[1:], None)
        if rv is not None and rv.room_id_from_create_event:
            raise InvalidIdentifier(f"room ID must be a reference hash: {text!r}")
        opaque_id, domain = _split(text, "!", "room ID")
        return cls(opaque_id, domain)

    def __str__(self) -> str:
        if self.server_name is None:
            return f"!{self.opaque_id}"
        return f"!{self.opaque_id}:{self.server_name}"


def is_valid_room_id(text: str, version: RoomVersion | str | None = None) -> bool:
    """Whether ``text`` is a room ID (see :meth:`RoomID.parse`)."""
    try:
        RoomID.parse(text, version)
    except InvalidIdentifier:
        return False
    return True


@dataclass(frozen=True, slots=True)
class RoomAlias:
    """``#localpart:server_name`` (appendices, "Room Aliases")."""

    localpart: str
    server_name: str

    @classmethod
    def parse(cls, text: str) -> RoomAlias:
        """Parse a room alias: any non-surrogate code points but ``:`` and NUL in
        the localpart. Raises :class:`InvalidIdentifier`."""
        localpart, domain = _split(text, "#", "room alias")
        return cls(localpart, domain)

    def __str__(self) -> str:
        return f"#{self.localpart}:{self.server_name}"


def is_valid_room_alias(text: str) -> bool:
    """Whether ``text`` is a room alias (see :meth:`RoomAlias.parse`)."""
    try:
        RoomAlias.parse(text)
    except InvalidIdentifier:
        return False
    return True


def is_valid_event_id(text: str, version: RoomVersion | str | None = None) -> bool:
    """Whether ``text`` is an event ID (appendices, "Event IDs"; rooms v1, v3, v4).

    Rooms v1-v2: ``$opaque_id:server_name``. Room v3: ``$`` + 43 characters of
    standard unpadded Base64. Rooms v4+: ``$`` + 43 characters of URL-safe
    unpadded Base64. Without ``version``, any ``$`` string of at most 255 bytes
    with no NUL or surrogate.
    """
    if not isinstance(text, str) or not text.startswith("$") or _too_long(text):
        return False
    rv = room_version(version) if isinstance(version, str) else version
    if rv is None:
        return len(text) > 1 and _BAD_OPAQUE_CHAR.search(text) is None
    if rv.event_format is EventFormat.V1:
        try:
            _split(text, "$", "event ID")
        except InvalidIdentifier:
            return False
        return True
    pattern = _HASH_STD if rv.event_format is EventFormat.V2 else _HASH_URLSAFE
    return pattern.fullmatch(text[1:]) is not None


def is_valid_namespaced_identifier(text: str) -> bool:
    """The Common Namespaced Identifier Grammar: 1..255 characters, ``[a-z]`` then
    ``[a-z0-9._-]`` (appendices). Whether ``m.`` is reserved is the caller's rule."""
    return isinstance(text, str) and _NAMESPACED.fullmatch(text) is not None
