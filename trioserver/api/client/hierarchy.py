"""``GET /_matrix/client/v1/rooms/{roomId}/hierarchy``: the rooms of a space
tree the requester may see (spec: "Spaces", "Discovering rooms within
spaces"). The walk itself is :mod:`trioserver.directory.hierarchy`; this
module looks rooms up and decides which ones the requester may see.

A room is shown when the requester is joined or invited, or it is
``world_readable``, or its join rule is ``public``, ``knock`` or
``knock_restricted``, or it is ``restricted``/``knock_restricted`` and the
requester is joined to one of the rooms its rule allows. Rooms this server
has no state of (remote rooms: no federation yet) are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart import Blueprint, Response, request

from trioserver.api.client.directory import wait_indexed
from trioserver.api.client.history import invalid, parse_bool, parse_int, parse_limit
from trioserver.api.client.public_rooms import chunk_entry
from trioserver.api.client.room_common import check_room_id
from trioserver.api.context import services
from trioserver.api.http import json_response, require_user
from trioserver.db import directory as directory_sql
from trioserver.db.directory import RoomSummary
from trioserver.directory.hierarchy import Child, Walk, child_of
from trioserver.protocol.errors import MatrixError

blueprint = Blueprint("client_hierarchy", __name__)

V1 = "/_matrix/client/<any(v1, unstable):prefix>"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
DEFAULT_MAX_DEPTH = 50
MAX_DEPTH = 50
_OPEN_RULES = frozenset({"public", "knock", "knock_restricted"})


async def _may_see(user_id: str, room_id: str, summary: RoomSummary) -> bool:
    rooms = services().rooms
    if await rooms.membership(room_id, user_id) in ("join", "invite"):
        return True
    if summary.world_readable or summary.join_rule in _OPEN_RULES:
        return True
    if summary.join_rule not in ("restricted", "knock_restricted"):
        return False
    state = await rooms.current_state_events(room_id, [("m.room.join_rules", "")]) or {}
    content = state.get(("m.room.join_rules", ""), {}).get("content", {})
    allow = content.get("allow") if isinstance(content, Mapping) else None
    for rule in allow if isinstance(allow, list) else []:
        if not isinstance(rule, Mapping) or rule.get("type") != "m.room_membership":
            continue
        allowed = rule.get("room_id")
        if isinstance(allowed, str) and await rooms.membership(allowed, user_id) == "join":
            return True
    return False


async def _children(room_id: str) -> list[Child]:
    svc = services()
    event_ids = await svc.db.run_read(directory_sql.space_children_txn, room_id)
    pdus = await svc.rooms.events(event_ids.values())
    found = (child_of(pdus[event_id]) for event_id in event_ids.values() if event_id in pdus)
    return [child for child in found if child is not None]


def _query() -> tuple[bool, int, int, str | None]:
    args = request.args
    suggested_only = parse_bool(args.get("suggested_only"), "suggested_only") or False
    limit = parse_limit(args.get("limit"), default=DEFAULT_LIMIT, maximum=MAX_LIMIT, minimum=1)
    max_depth = parse_int(args.get("max_depth"), "max_depth")
    if max_depth is None:
        max_depth = DEFAULT_MAX_DEPTH
    elif max_depth < 0:
        raise invalid("'max_depth' must not be negative")
    return suggested_only, limit, min(max_depth, MAX_DEPTH), args.get("from")


@blueprint.get(f"{V1}/rooms/<roomId>/hierarchy")
async def hierarchy(prefix: str, roomId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    suggested_only, limit, max_depth, from_ = _query()
    await wait_indexed()
    svc = services()
    root = (await svc.db.run_read(directory_sql.room_summaries_txn, [roomId])).get(roomId)
    if root is None:
        raise MatrixError("M_NOT_FOUND", "Unknown room")
    if not await _may_see(owner.user_id, roomId, root):
        raise MatrixError("M_FORBIDDEN", "You may not see this room's hierarchy")
    if from_ is None:
        walk = Walk.start(roomId, suggested_only=suggested_only, max_depth=max_depth)
    else:
        walk = Walk.resume(from_, roomId, suggested_only=suggested_only, max_depth=max_depth)
    rooms: list[dict[str, Any]] = []
    while len(rooms) < limit and (step := walk.next_room()) is not None:
        room_id, depth = step
        summaries = await svc.db.run_read(directory_sql.room_summaries_txn, [room_id])
        summary = summaries.get(room_id)
        if summary is None or not await _may_see(owner.user_id, room_id, summary):
            continue
        children = walk.children_to_show(await _children(room_id))
        entry = chunk_entry(summary)
        entry["children_state"] = [child.stripped for child in children]
        rooms.append(entry)
        walk.descend(depth, children)
    answer: dict[str, Any] = {"rooms": rooms}
    if not walk.done:
        answer["next_batch"] = walk.token()
    return json_response(answer)
