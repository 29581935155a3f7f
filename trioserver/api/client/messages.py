"""``GET /rooms/{roomId}/messages`` (spec: "Getting events for a room",
``message_pagination.yaml``; "Lazy-loading room members").

* ``dir`` (required) ``b``: newest first from ``from`` (default: the latest
  event); ``f``: oldest first from ``from`` (default: the room's start).
* ``to`` bounds the walk; ``limit`` defaults to 10 and is capped at 1000;
  ``filter`` is a ``RoomEventFilter`` as JSON.
* Only events the user may see (history visibility) are returned; redacted
  events come redacted; events of ignored users are left out; each event
  carries its bundled aggregations.
* ``start`` is the ``from`` given (or the token of the starting point);
  ``end`` is omitted once there is nothing more in that direction.
* ``state``: with ``lazy_load_members``, the member events of the chunk's
  senders. Redundant members are always included (the spec allows it; no
  per-client record is kept), so ``include_redundant_members`` changes nothing.
* A user who was never in the room (and it is not ``world_readable``), or an
  unknown room: ``403 M_FORBIDDEN`` (the only error the spec lists).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from trioserver.api.client.history import (
    event_keeper,
    ignored_by,
    member_event_ids,
    paginate,
    parse_direction,
    parse_filter,
    parse_limit,
    parse_position,
    reader_membership,
    room_version_or,
    serve_events,
)
from trioserver.api.client.room_common import PREFIX, check_room_id
from trioserver.api.context import services
from trioserver.api.http import json_response, require_user
from trioserver.db.roomserver_events import latest_stream_position_txn
from trioserver.db.timeline import MAX_POSITION
from trioserver.protocol.errors import MatrixError
from trioserver.rooms.tokens import room_token

blueprint = Blueprint("client_messages", __name__)

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000


@blueprint.get(f"{PREFIX}/rooms/<roomId>/messages")
async def room_messages(prefix: str, roomId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    args = request.args
    backwards = parse_direction(args.get("dir"))
    given_from = args.get("from")
    start = parse_position(given_from, "from")
    to = parse_position(args.get("to"), "to")
    event_filter = parse_filter(args.get("filter"))
    default_limit = event_filter.limit or DEFAULT_LIMIT
    limit = parse_limit(args.get("limit"), default=default_limit, maximum=MAX_LIMIT)
    svc = services()
    forbidden = MatrixError("M_FORBIDDEN", "You aren't a member of the room")
    version = await room_version_or(roomId, forbidden)
    membership = await reader_membership(roomId, owner.user_id, forbidden)
    if start is None:
        start = await svc.db.run_read(latest_stream_position_txn) if backwards else 0
    stop = (to if to is not None else 0) if backwards else (to if to is not None else MAX_POSITION)
    ignored = await ignored_by(owner.user_id)
    page = await paginate(
        owner.user_id,
        roomId,
        start=start,
        stop=stop,
        backwards=backwards,
        limit=limit,
        keep=event_keeper(event_filter, ignored, roomId),
        membership_now=membership,
    )
    chunk = await serve_events(
        owner, roomId, version, [e.event_id for e in page.events], ignored=ignored
    )
    body: dict[str, Any] = {
        "start": given_from if given_from is not None else room_token(start),
        "chunk": chunk,
    }
    if not page.exhausted:
        body["end"] = room_token(page.cursor)
    if event_filter.lazy_load_members and page.events:
        members = await member_event_ids(roomId, page.events)
        body["state"] = await serve_events(
            owner, roomId, version, members, ignored=frozenset(), aggregate=False
        )
    else:
        body["state"] = []
    return json_response(body)
