"""Room alias rules shared by the directory endpoints and the rooms engineer's
state-sending code (client-server API, "Room aliases" and
``m.room.canonical_alias``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from trioserver.db import Database
from trioserver.db import directory as directory_sql
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.identifiers import InvalidIdentifier, RoomAlias


def parse_alias(text: str) -> RoomAlias:
    """A room alias, or ``400 M_INVALID_PARAM``."""
    try:
        return RoomAlias.parse(text)
    except InvalidIdentifier as exc:
        raise MatrixError("M_INVALID_PARAM", f"Room alias invalid: {exc}") from None


def _aliases_of(content: Mapping[str, Any] | None, *, strict: bool) -> set[str]:
    """The aliases an ``m.room.canonical_alias`` content names. With ``strict``,
    a malformed value is ``400 M_INVALID_PARAM``; otherwise it is ignored."""
    if content is None:
        return set()
    found: set[str] = set()
    alias = content.get("alias")
    if alias is not None:
        if isinstance(alias, str):
            found.add(alias)
        elif strict:
            raise MatrixError("M_INVALID_PARAM", "'alias' must be a string")
    alt = content.get("alt_aliases")
    if alt is not None:
        if isinstance(alt, list) and all(isinstance(a, str) for a in alt):
            found.update(alt)
        elif strict:
            raise MatrixError("M_INVALID_PARAM", "'alt_aliases' must be a list of strings")
    return found


async def check_canonical_alias_content(
    db: Database,
    room_id: str,
    content: Mapping[str, Any],
    previous_content: Mapping[str, Any] | None = None,
) -> None:
    """Check the content of an ``m.room.canonical_alias`` event a local client
    is about to send to ``room_id`` (spec: ``PUT /rooms/{roomId}/state``, 400):

    * every alias must have the alias grammar, ``alt_aliases`` must be a list
      of strings: else ``400 M_INVALID_PARAM``;
    * every alias not already named by the room's current canonical alias
      event (``previous_content``) must exist and point to ``room_id``: else
      ``400 M_BAD_ALIAS``. Aliases of other servers cannot be resolved
      without federation, so a new one is ``M_BAD_ALIAS`` too.
    """
    named = _aliases_of(content, strict=True)
    for alias in named:
        parse_alias(alias)
    new = named - _aliases_of(previous_content, strict=False)
    if not new:
        return
    targets = await db.run_read(_targets_txn, sorted(new))
    for alias in sorted(new):
        if targets.get(alias) != room_id:
            raise MatrixError("M_BAD_ALIAS", f"Room alias {alias} does not point to the room")


def _targets_txn(conn: sqlite3.Connection, aliases: list[str]) -> dict[str, str | None]:
    return {alias: directory_sql.get_alias_txn(conn, alias) for alias in aliases}
