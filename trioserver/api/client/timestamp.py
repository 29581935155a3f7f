"""``GET /rooms/{roomId}/timestamp_to_event`` (spec: "Getting events for a
room", ``room_event_by_timestamp.yaml``).

The closest client-visible event of the room at or after ``ts``
(``dir=f``) or at or before it (``dir=b``), among those the user may see.
Only this server's copy of the room is searched (asking other servers over
federation is not implemented). No such event: ``404 M_NOT_FOUND``; an
unknown room: ``404``; a user who may not read the room: ``403``.
"""

from __future__ import annotations

from functools import partial

from quart import Blueprint, Response, request

from trioserver.api.client.history import (
    invalid,
    parse_direction,
    parse_int,
    reader_membership,
    room_version_or,
)
from trioserver.api.client.room_common import check_room_id
from trioserver.api.client.visibility import visible_events
from trioserver.api.context import services
from trioserver.api.http import json_response, require_user
from trioserver.db.timeline import events_near_ts_txn
from trioserver.protocol.errors import MatrixError

blueprint = Blueprint("client_timestamp", __name__)

V1 = "/_matrix/client/<any(v1, unstable):prefix>"
_CANDIDATES = 50
_ROUNDS = 10
_MAX_TS = 2**53


@blueprint.get(f"{V1}/rooms/<roomId>/timestamp_to_event")
async def timestamp_to_event(prefix: str, roomId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    ts = parse_int(request.args.get("ts"), "ts")
    if ts is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'ts' parameter")
    if not 0 <= ts < _MAX_TS:
        raise invalid("'ts' is out of range")
    backwards = parse_direction(request.args.get("dir"))
    svc = services()
    await room_version_or(roomId, MatrixError("M_NOT_FOUND", "Unknown room"))
    await reader_membership(
        roomId, owner.user_id, MatrixError("M_FORBIDDEN", "You may not read this room")
    )
    seen = 0
    for _ in range(_ROUNDS):
        candidates = await svc.db.run_read(
            partial(events_near_ts_txn, forwards=not backwards, limit=seen + _CANDIDATES),
            roomId,
            ts,
        )
        fresh = candidates[seen:]
        if not fresh:
            break
        visible = set(await visible_events(owner.user_id, [e for e, _ in fresh], room_id=roomId))
        for event_id, origin_ts in fresh:
            if event_id in visible:
                return json_response({"event_id": event_id, "origin_server_ts": origin_ts})
        seen = len(candidates)
    direction = "backward" if backwards else "forward"
    raise MatrixError("M_NOT_FOUND", f"Unable to find event from {ts} in {direction} direction")
