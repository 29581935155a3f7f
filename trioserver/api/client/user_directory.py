"""``POST /user_directory/search`` (client-server API, "User directory").

Searches the users who share a room with the requester or are joined to a
public room (join rule ``public`` or world-readable history), matching every
word of the term against the user ID and the display name, case-insensitive.
Results are ranked: an exact match of the display name, localpart or user
ID first, then prefixes of the display name or localpart, then a word of the
display name starting with the term, then any other match; ties by display
name and user ID. Only local users and users seen in our rooms are known.
"""

from __future__ import annotations

import re
from typing import Any

from quart import Blueprint, Response

from trioserver.api.client.directory import wait_indexed
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.db import user_directory as users_sql
from trioserver.db.user_directory import DirectoryUser
from trioserver.protocol.errors import MatrixError

blueprint = Blueprint("client_user_directory", __name__)

_PREFIXES = "<any(v3, r0):prefix>"
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
#: Rows read before ranking; past it, ``limited`` is true.
MAX_CANDIDATES = 1000
_WORD = re.compile(r"[^\s@:]+")


def _rank(user: DirectoryUser, term: str) -> tuple[int, str, str]:
    name = (user.display_name or "").casefold()
    user_id = user.user_id.casefold()
    localpart = user_id[1:].partition(":")[0]
    if term in (name, localpart, user_id):
        score = 0
    elif name.startswith(term) or localpart.startswith(term) or user_id.startswith(term):
        score = 1
    elif any(word.startswith(term) for word in name.split()):
        score = 2
    else:
        score = 3
    return score, name or localpart, user.user_id


def _entry(user: DirectoryUser) -> dict[str, Any]:
    entry: dict[str, Any] = {"user_id": user.user_id}
    if user.display_name is not None:
        entry["display_name"] = user.display_name
    if user.avatar_url is not None:
        entry["avatar_url"] = user.avatar_url
    return entry


@blueprint.post(f"/_matrix/client/{_PREFIXES}/user_directory/search")
async def search_users(prefix: str) -> Response:
    owner = await require_user()
    body = await json_body()
    term = body.get("search_term")
    if term is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'search_term'")
    if not isinstance(term, str):
        raise MatrixError("M_INVALID_PARAM", "'search_term' must be a string")
    limit = body.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise MatrixError("M_INVALID_PARAM", "'limit' must be a non-negative integer")
    limit = min(limit, MAX_LIMIT)
    words = [w.casefold() for w in _WORD.findall(term)][:10]
    if not words:
        return json_response({"limited": False, "results": []})
    svc = services()
    await wait_indexed()
    found = await svc.db.run_read(
        users_sql.search_users_txn, owner.user_id, words, MAX_CANDIDATES + 1
    )
    needle = term.strip().casefold()
    found.sort(key=lambda user: _rank(user, needle))
    limited = len(found) > limit
    return json_response({"limited": limited, "results": [_entry(u) for u in found[:limit]]})
