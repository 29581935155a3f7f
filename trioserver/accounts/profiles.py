"""Profiles (spec: client-server API, "Profiles"; extended fields since v1.16).

A profile is a set of fields: ``displayname``, ``avatar_url``, ``m.tz`` and
custom keys in the Common Namespaced Identifier Grammar, each any JSON value
(the three defined ones: strings). The whole profile stays under 64 KiB.
New users get their localpart as display name.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from trioserver.db import Database
from trioserver.db import accounts as accounts_sql
from trioserver.db import profiles as sql
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.identifiers import is_valid_server_name

DISPLAYNAME = "displayname"
AVATAR_URL = "avatar_url"
TIME_ZONE = "m.tz"
#: The fields propagated into room member events (by the roomserver).
MEMBER_EVENT_FIELDS = frozenset({DISPLAYNAME, AVATAR_URL})

MAX_PROFILE_BYTES = 64 * 1024
MAX_KEY_BYTES = 255
MAX_DISPLAYNAME_LENGTH = 256

#: The keyName grammar of ``/profile/{userId}/{keyName}``.
_KEY = re.compile(r"(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)")
_MEDIA_ID = re.compile(r"[A-Za-z0-9_\-]+")


def _encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def check_key(key: str) -> None:
    """Raise the spec's 400 for a profile key that may not be used."""
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise MatrixError("M_KEY_TOO_LARGE", "Profile key is longer than 255 bytes")
    if _KEY.fullmatch(key) is None:
        raise MatrixError("M_INVALID_PARAM", f"Invalid profile key {key!r}")


def is_mxc_uri(value: str) -> bool:
    """``mxc://<server-name>/<media-id>`` (spec: "Matrix Content (mxc://) URIs")."""
    if not value.startswith("mxc://"):
        return False
    server_name, slash, media_id = value[len("mxc://") :].partition("/")
    return bool(slash) and is_valid_server_name(server_name) and bool(_MEDIA_ID.fullmatch(media_id))


def check_value(key: str, value: Any) -> Any:
    """The value to store for ``key``, or None to remove the field (an empty
    display name or avatar URL clears it); raises ``M_INVALID_PARAM``."""
    if key in (DISPLAYNAME, AVATAR_URL, TIME_ZONE) and not isinstance(value, str):
        raise MatrixError("M_INVALID_PARAM", f"'{key}' must be a string")
    if key in (DISPLAYNAME, AVATAR_URL) and value == "":
        return None
    if key == DISPLAYNAME and len(value) > MAX_DISPLAYNAME_LENGTH:
        raise MatrixError(
            "M_INVALID_PARAM", f"'displayname' is longer than {MAX_DISPLAYNAME_LENGTH} characters"
        )
    if key == AVATAR_URL and not is_mxc_uri(value):
        raise MatrixError("M_INVALID_PARAM", "'avatar_url' must be an mxc:// URI")
    return value


class UnknownUser(Exception):
    """No such local user."""


def _profile_txn(conn: sqlite3.Connection, user_id: str) -> dict[str, Any] | None:
    if not accounts_sql.user_exists_txn(conn, user_id):
        return None
    return {key: json.loads(value) for key, value in sql.get_profile_txn(conn, user_id).items()}


async def get_profile(db: Database, user_id: str) -> dict[str, Any]:
    """Every field of a local user's profile; raises :class:`UnknownUser`."""
    profile = await db.run_read(_profile_txn, user_id)
    if profile is None:
        raise UnknownUser(user_id)
    return profile


async def set_field(db: Database, user_id: str, key: str, value: Any) -> None:
    """Set (``value`` not None) or remove (None) one field of ``user_id``'s
    profile; raises ``M_PROFILE_TOO_LARGE`` past 64 KiB."""

    def txn(conn: sqlite3.Connection) -> None:
        if value is None:
            sql.delete_field_txn(conn, user_id, key)
            return
        profile = sql.get_profile_txn(conn, user_id)
        profile[key] = _encode(value)
        size = sum(len(k.encode()) + len(v.encode()) + 6 for k, v in profile.items()) + 2
        if size > MAX_PROFILE_BYTES:
            raise MatrixError("M_PROFILE_TOO_LARGE", "The profile would exceed 64 KiB")
        sql.set_field_txn(conn, user_id, key, profile[key])

    await db.run_write(txn)
