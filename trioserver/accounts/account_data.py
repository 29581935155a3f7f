"""Account data, global and per room (spec: "Client Config"), and room tags
kept as the room's ``m.tag`` account data (spec: "Room Tagging").

Each change returns its position on the account-data stream; /sync reads
changes with :func:`trioserver.db.account_data.changes_since_txn`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from trioserver.db import Database
from trioserver.db import account_data as sql
from trioserver.protocol.errors import MatrixError

#: Types the server manages; clients may read but not set them (405 ``M_BAD_JSON``).
SERVER_MANAGED_TYPES = frozenset({"m.fully_read", "m.push_rules"})
TAG_TYPE = "m.tag"
MAX_TAG_BYTES = 255


def _encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def get(db: Database, user_id: str, room_id: str | None, type_: str) -> dict[str, Any] | None:
    """The content of ``type_`` (in ``room_id``, or global when None), or None if unset."""
    content = await db.run_read(sql.get_account_data_txn, user_id, room_id, type_)
    return None if content is None else dict(json.loads(content))


async def put(
    db: Database, user_id: str, room_id: str | None, type_: str, content: dict[str, Any]
) -> int:
    """Store account data; returns the change's stream position. Server-side
    writers (read markers, push rules) use this too: the refusal of
    server-managed types is the client API's rule, not this function's."""
    return await db.run_write(sql.set_account_data_txn, user_id, room_id, type_, _encode(content))


def _tags_of(content_json: str | None) -> dict[str, Any]:
    if content_json is None:
        return {}
    tags = json.loads(content_json).get("tags")
    return dict(tags) if isinstance(tags, dict) else {}


async def get_tags(db: Database, user_id: str, room_id: str) -> dict[str, Any]:
    content = await db.run_read(sql.get_account_data_txn, user_id, room_id, TAG_TYPE)
    return _tags_of(content)


def check_tag(tag: str, content: dict[str, Any]) -> None:
    """Raise 400 for a tag name over 255 bytes or an ``order`` that is not a number."""
    if len(tag.encode("utf-8")) > MAX_TAG_BYTES:
        raise MatrixError("M_INVALID_PARAM", "Tag names may not exceed 255 bytes")
    order = content.get("order")
    if "order" in content and (isinstance(order, bool) or not isinstance(order, int | float)):
        raise MatrixError("M_INVALID_PARAM", "'order' must be a number")


async def set_tag(
    db: Database, user_id: str, room_id: str, tag: str, content: dict[str, Any] | None
) -> int | None:
    """Add or replace ``tag`` (``content`` not None) or remove it (None) in the
    room's ``m.tag``; returns the stream position, or None if nothing changed."""

    def txn(conn: sqlite3.Connection) -> int | None:
        tags = _tags_of(sql.get_account_data_txn(conn, user_id, room_id, TAG_TYPE))
        if content is None:
            if tag not in tags:
                return None
            del tags[tag]
        else:
            tags[tag] = content
        return sql.set_account_data_txn(conn, user_id, room_id, TAG_TYPE, _encode({"tags": tags}))

    return await db.run_write(txn)
