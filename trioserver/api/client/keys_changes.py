"""``GET /keys/changes?from&to`` (spec: ``modules/end_to_end_encryption.md``,
"Tracking the device list for a user"; ``keys.yaml``): the users sharing a
room with the requester whose devices or keys changed between two sync
tokens (``changed``), and those who no longer share a room (``left``).

Both tokens are ``next_batch`` values of ``/sync`` (malformed: ``400
M_INVALID_PARAM``); ``from`` after ``to`` answers empty lists.
"""

from __future__ import annotations

import sqlite3

from quart import Blueprint, Response, request

from trioserver.api.context import services
from trioserver.api.http import json_response, require_user
from trioserver.db import e2e_keys as keys_sql
from trioserver.db import sync_rooms as rooms_sql
from trioserver.protocol.errors import MatrixError
from trioserver.rooms.tokens import InvalidToken, SyncToken

blueprint = Blueprint("client_keys_changes", __name__)


def _token(name: str) -> SyncToken:
    value = request.args.get(name)
    if not value:
        raise MatrixError("M_MISSING_PARAM", f"Missing '{name}'")
    try:
        return SyncToken.parse(value)
    except InvalidToken:
        raise MatrixError("M_INVALID_PARAM", f"'{name}' is not a sync token") from None


def _changes_txn(
    conn: sqlite3.Connection, user_id: str, start: SyncToken, end: SyncToken
) -> dict[str, list[str]]:
    sharing = rooms_sql.users_sharing_rooms_txn(conn, user_id) | {user_id}
    changed: set[str] = set()
    if end.device_lists > start.device_lists:
        found = keys_sql.device_list_changes_txn(
            conn, start.device_lists, end.device_lists, user_id
        )
        changed = set(found) & sharing
    left: set[str] = set()
    if end.events > start.events:
        rooms = set(rooms_sql.user_rooms_txn(conn, user_id))
        for _, other, membership in rooms_sql.member_changes_txn(
            conn, sorted(rooms), start.events, end.events
        ):
            if other == user_id:
                continue
            if membership == "join" and other in sharing:
                changed.add(other)
            elif membership in ("leave", "ban") and other not in sharing:
                left.add(other)
    return {"changed": sorted(changed - left), "left": sorted(left)}


@blueprint.get("/_matrix/client/<any(v3, r0):prefix>/keys/changes")
async def keys_changes(prefix: str) -> Response:
    owner = await require_user()
    start, end = _token("from"), _token("to")
    result = await services().db.run_read(_changes_txn, owner.user_id, start, end)
    return json_response(result)
