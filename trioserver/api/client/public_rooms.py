"""The published room directory: ``GET/POST /publicRooms`` (client-server API,
"Listing rooms").

Rooms come most joined members first, then by room ID (a stable order, as
the spec recommends). ``since``/``next_batch``/``prev_batch`` are opaque
offset tokens (``o<offset>``). ``server`` naming another server would need
federation: 404 until it exists. No third-party networks are bridged here,
so a ``third_party_instance_id`` lists nothing.
"""

from __future__ import annotations

import re
from typing import Any

from quart import Blueprint, Response, request

from trioserver.api.client.directory import wait_indexed
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, optional_user, require_user
from trioserver.db import directory as directory_sql
from trioserver.db.directory import RoomSummary
from trioserver.protocol.errors import MatrixError

blueprint = Blueprint("client_public_rooms", __name__)

_PREFIXES = "<any(v3, r0):prefix>"
_TOKEN = re.compile(r"o(\d{1,9})")
#: Most rooms in one page, whatever the client asks.
MAX_LIMIT = 500


def _limit(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not re.fullmatch(r"\d{1,9}", value):
            raise MatrixError("M_INVALID_PARAM", "'limit' must be a non-negative integer")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MatrixError("M_INVALID_PARAM", "'limit' must be a non-negative integer")
    return min(value, MAX_LIMIT)


def _body_limit(value: Any) -> Any:
    if isinstance(value, str):
        raise MatrixError("M_INVALID_PARAM", "'limit' must be an integer")
    return value


def _offset(since: Any) -> int:
    if since is None:
        return 0
    match = _TOKEN.fullmatch(since) if isinstance(since, str) else None
    if match is None:
        raise MatrixError("M_INVALID_PARAM", "Unknown pagination token 'since'")
    return int(match.group(1))


def _room_types(filter_: Any) -> tuple[bool, set[str | None]]:
    """Whether room types are filtered, and which (None: rooms without a type)."""
    if filter_ is None:
        return False, set()
    if not isinstance(filter_, dict):
        raise MatrixError("M_INVALID_PARAM", "'filter' must be an object")
    types = filter_.get("room_types")
    if types is None:
        return False, set()
    if not isinstance(types, list) or not all(t is None or isinstance(t, str) for t in types):
        raise MatrixError("M_INVALID_PARAM", "'room_types' must be a list of strings or nulls")
    return True, set(types)


def _search_term(filter_: Any) -> str | None:
    if not isinstance(filter_, dict):
        return None
    term = filter_.get("generic_search_term")
    if term is None:
        return None
    if not isinstance(term, str):
        raise MatrixError("M_INVALID_PARAM", "'generic_search_term' must be a string")
    return term.strip().casefold() or None


def _matches(room: RoomSummary, term: str) -> bool:
    fields = (room.name, room.topic, room.canonical_alias, room.room_id)
    return any(term in value.casefold() for value in fields if value)


def chunk_entry(room: RoomSummary) -> dict[str, Any]:
    """A ``PublishedRoomsChunk`` (also the base of a space hierarchy room)."""
    entry: dict[str, Any] = {
        "room_id": room.room_id,
        "num_joined_members": room.joined_members,
        "world_readable": room.world_readable,
        "guest_can_join": room.guest_can_join,
    }
    for key, value in (
        ("name", room.name),
        ("topic", room.topic),
        ("canonical_alias", room.canonical_alias),
        ("avatar_url", room.avatar_url),
        ("join_rule", room.join_rule),
        ("room_type", room.room_type),
    ):
        if value is not None:
            entry[key] = value
    return entry


async def _list(
    *, server: str | None, limit: int | None, since: Any, filter_: Any, third_party: bool
) -> Response:
    svc = services()
    if server is not None and server != svc.server_name:
        raise MatrixError("M_NOT_FOUND", "Listing other servers' rooms needs federation")
    offset = _offset(since)
    filtered, types = _room_types(filter_)
    term = _search_term(filter_)
    await wait_indexed()
    rooms = await svc.db.run_read(directory_sql.public_room_summaries_txn)
    total = len(rooms)
    if third_party:
        rooms = []
    if filtered:
        rooms = [r for r in rooms if r.room_type in types]
    if term is not None:
        rooms = [r for r in rooms if _matches(r, term)]
    end = len(rooms) if limit is None else offset + limit
    page = rooms[offset:end]
    body: dict[str, Any] = {
        "chunk": [chunk_entry(r) for r in page],
        "total_room_count_estimate": total,
    }
    if end < len(rooms):
        body["next_batch"] = f"o{end}"
    if offset > 0:
        body["prev_batch"] = f"o{max(0, offset - (limit or offset))}"
    return json_response(body)


@blueprint.get(f"/_matrix/client/{_PREFIXES}/publicRooms")
async def get_public_rooms(prefix: str) -> Response:
    await optional_user()
    return await _list(
        server=request.args.get("server"),
        limit=_limit(request.args.get("limit")),
        since=request.args.get("since"),
        filter_=None,
        third_party=False,
    )


@blueprint.post(f"/_matrix/client/{_PREFIXES}/publicRooms")
async def post_public_rooms(prefix: str) -> Response:
    await require_user()
    body = await json_body()
    third_party = body.get("third_party_instance_id")
    if third_party is not None and not isinstance(third_party, str):
        raise MatrixError("M_INVALID_PARAM", "'third_party_instance_id' must be a string")
    include_all = body.get("include_all_networks", False)
    if not isinstance(include_all, bool):
        raise MatrixError("M_INVALID_PARAM", "'include_all_networks' must be a boolean")
    if include_all and third_party is not None:
        raise MatrixError(
            "M_INVALID_PARAM", "'include_all_networks' and 'third_party_instance_id' conflict"
        )
    since = body.get("since")
    if since is not None and not isinstance(since, str):
        raise MatrixError("M_INVALID_PARAM", "'since' must be a string")
    return await _list(
        server=request.args.get("server"),
        limit=_limit(_body_limit(body.get("limit"))),
        since=since,
        filter_=body.get("filter"),
        third_party=third_party is not None,
    )
