"""``GET /rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]``
(spec: "Relationships API", ``relations.yaml``) and ``GET
/rooms/{roomId}/threads`` (``modules/threading.md``, ``threads_list.yaml``).

Relations:

* The parent must be an event of the room the user may see (else ``404
  M_NOT_FOUND``, also for an unknown room).
* Children are ordered by stream position, newest first (``dir=b``, the
  default) or oldest first; ``from``/``to`` are room tokens (``/messages``
  and ``/sync`` tokens work too); ``limit`` defaults to 10, at most 100.
* ``recurse=true`` includes children of children up to depth
  :data:`MAX_RECURSION` (the spec asks for at least 3); ``rel_type`` and
  ``event_type`` apply at every level. ``recursion_depth`` is in the answer
  exactly when ``recurse`` was given (1 when false).
* Children the user may not see, or sent by users they ignore, are left out.
* ``prev_batch`` is the ``from`` given; ``next_batch`` is absent at the end.

Threads: the room's thread roots, most recently active first, each with its
bundled aggregations; ``include=participated`` keeps those whose root or a
thread event the user sent. A root sent by an ignored user is returned
redacted. Unknown room or not a member (and not ``world_readable``): ``403``.

Relations are read from the index the relations indexer fills; requests wait
(briefly) until it has caught up with everything committed, so a client
sees its own relations at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import trio
from quart import Blueprint, Response, current_app, request

from trioserver.api.client.history import (
    ignored_by,
    parse_bool,
    parse_direction,
    parse_limit,
    parse_position,
    reader_membership,
    room_version_or,
    serve_events,
)
from trioserver.api.client.room_common import check_event_id, check_room_id
from trioserver.api.client.visibility import visible_events
from trioserver.api.context import services
from trioserver.api.http import json_response, require_user
from trioserver.db.accounts import TokenOwner
from trioserver.db.relations import children_txn, thread_roots_txn
from trioserver.db.roomserver_events import latest_stream_position_txn
from trioserver.db.timeline import MAX_POSITION, event_position_txn
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.redaction import redact
from trioserver.relations import RelationsIndexer
from trioserver.rooms.ignored import is_hidden_by_ignore
from trioserver.rooms.tokens import room_token

blueprint = Blueprint("client_relations", __name__)

V1 = "/_matrix/client/<any(v1, unstable):prefix>"
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_RECURSION = 3
_SCAN_ROUNDS = 20
_INDEX_WAIT_SECONDS = 5.0
_EXTENSION = "trioserver.relations_indexer"


def attach_relations_indexer(app: Any, indexer: RelationsIndexer) -> None:
    """Let the endpoints wait for ``indexer`` (called by the composition root)."""
    app.extensions[_EXTENSION] = indexer


def relations_indexer_of(app: Any) -> RelationsIndexer | None:
    """The relations indexer attached to ``app`` (None if there is none)."""
    found = app.extensions.get(_EXTENSION)
    return found if isinstance(found, RelationsIndexer) else None


async def wait_until_indexed() -> None:
    """Wait (bounded) until the relations index covers every committed event."""
    indexer = current_app.extensions.get(_EXTENSION)
    if not isinstance(indexer, RelationsIndexer):
        return
    position = await services().db.run_read(latest_stream_position_txn)
    with trio.move_on_after(_INDEX_WAIT_SECONDS):
        await indexer.wait_for(position)


async def _kept(
    user_id: str, room_id: str, ids: Sequence[str], ignored: frozenset[str]
) -> set[str]:
    """Those of ``ids`` the user may see and whose sender they do not ignore."""
    visible = await visible_events(user_id, ids, room_id=room_id)
    if not ignored:
        return set(visible)
    pdus = await services().rooms.events(visible)
    return {e for e in visible if e in pdus and not is_hidden_by_ignore(pdus[e], ignored)}


async def _relations(
    owner: TokenOwner, room_id: str, event_id: str, rel_type: str | None, event_type: str | None
) -> Response:
    check_room_id(room_id)
    check_event_id(event_id)
    args = request.args
    given_from = args.get("from")
    start = parse_position(given_from, "from")
    to = parse_position(args.get("to"), "to")
    limit = parse_limit(args.get("limit"), default=DEFAULT_LIMIT, maximum=MAX_LIMIT, minimum=1)
    backwards = parse_direction(args.get("dir"), default="b")
    recurse = parse_bool(args.get("recurse"), "recurse")
    svc = services()
    not_found = MatrixError("M_NOT_FOUND", "Event not found")
    version = await room_version_or(room_id, not_found)
    if await svc.db.run_read(event_position_txn, room_id, event_id) is None:
        raise not_found
    if not await visible_events(owner.user_id, [event_id], room_id=room_id):
        raise not_found
    await wait_until_indexed()
    if start is None:
        start = MAX_POSITION if backwards else 0
    stop = (to or 0) if backwards else (to if to is not None else MAX_POSITION)
    depth = MAX_RECURSION if recurse else 1
    ignored = await ignored_by(owner.user_id)
    taken: list[str] = []
    cursor, exhausted = start, False
    for _ in range(_SCAN_ROUNDS):
        low, high = (stop, cursor) if backwards else (cursor, stop)
        if low >= high:
            exhausted = True
            break
        want = min(max(2 * (limit - len(taken)), 20), 500)
        rows = await svc.db.run_read(
            partial(
                children_txn,
                rel_type=rel_type,
                event_type=event_type,
                low=low,
                high=high,
                backwards=backwards,
                limit=want,
                max_depth=depth,
            ),
            room_id,
            event_id,
        )
        kept = await _kept(owner.user_id, room_id, [e for _, e in rows], ignored)
        full = False
        for index, (position, child) in enumerate(rows):
            cursor = position - 1 if backwards else position
            if child in kept:
                taken.append(child)
                if len(taken) >= limit:
                    full = True
                    exhausted = len(rows) < want and index == len(rows) - 1
                    break
        if full:
            break
        if len(rows) < want:
            exhausted = True
            break
    chunk = await serve_events(owner, room_id, version, taken, ignored=ignored)
    body: dict[str, Any] = {"chunk": chunk}
    if not exhausted:
        body["next_batch"] = room_token(cursor)
    if given_from is not None:
        body["prev_batch"] = given_from
    if recurse is not None:
        body["recursion_depth"] = depth
    return json_response(body)


@blueprint.get(f"{V1}/rooms/<roomId>/relations/<eventId>")
async def relations(prefix: str, roomId: str, eventId: str) -> Response:
    owner = await require_user()
    return await _relations(owner, roomId, eventId, None, None)


@blueprint.get(f"{V1}/rooms/<roomId>/relations/<eventId>/<relType>")
async def relations_of_type(prefix: str, roomId: str, eventId: str, relType: str) -> Response:
    owner = await require_user()
    return await _relations(owner, roomId, eventId, relType, None)


@blueprint.get(f"{V1}/rooms/<roomId>/relations/<eventId>/<relType>/<eventType>")
async def relations_of_type_and_event_type(
    prefix: str, roomId: str, eventId: str, relType: str, eventType: str
) -> Response:
    owner = await require_user()
    return await _relations(owner, roomId, eventId, relType, eventType)


@blueprint.get(f"{V1}/rooms/<roomId>/threads")
async def threads(prefix: str, roomId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    args = request.args
    include = args.get("include", "all")
    if include not in ("all", "participated"):
        raise MatrixError("M_INVALID_PARAM", "'include' must be 'all' or 'participated'")
    start = parse_position(args.get("from"), "from")
    limit = parse_limit(args.get("limit"), default=DEFAULT_LIMIT, maximum=MAX_LIMIT, minimum=1)
    svc = services()
    forbidden = MatrixError("M_FORBIDDEN", "You are not allowed to view this room")
    version = await room_version_or(roomId, forbidden)
    await reader_membership(roomId, owner.user_id, forbidden)
    await wait_until_indexed()
    participant = owner.user_id if include == "participated" else None
    cursor = MAX_POSITION if start is None else start
    ignored = await ignored_by(owner.user_id)
    roots: list[str] = []
    exhausted = False
    for _ in range(_SCAN_ROUNDS):
        want = min(max(2 * (limit - len(roots)), 20), 500)
        found = await svc.db.run_read(
            partial(thread_roots_txn, high=cursor, limit=want, participant=participant), roomId
        )
        visible = set(await visible_events(owner.user_id, [r for r, _ in found], room_id=roomId))
        full = False
        for index, (root, latest) in enumerate(found):
            cursor = latest - 1
            if root in visible:
                roots.append(root)
                if len(roots) >= limit:
                    full = True
                    exhausted = len(found) < want and index == len(found) - 1
                    break
        if full:
            break
        if len(found) < want:
            exhausted = True
            break
    chunk = await serve_events(owner, roomId, version, roots, ignored=ignored)
    for event in chunk:
        if event.get("sender") in ignored:
            _redact_served(event, version)
    body: dict[str, Any] = {"chunk": chunk}
    if not exhausted:
        body["next_batch"] = room_token(cursor)
    return json_response(body)


def _redact_served(event: dict[str, Any], version: str) -> None:
    """Strip a served event's content as a redaction would (a thread root
    of an ignored user: spec ``threads_list.yaml``)."""
    stripped = redact({k: v for k, v in event.items() if k != "unsigned"}, version)
    event["content"] = stripped.get("content", {})
