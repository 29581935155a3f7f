"""``GET /rooms/{roomId}/context/{eventId}`` (spec: "Getting events for a
room", ``event_context.yaml``, ``modules/event_context.md``).

* ``limit`` (default 10, at most 100) is split: ``limit // 2`` events before,
  the rest after. The event itself is always returned, unfiltered.
* ``filter`` (a ``RoomEventFilter``) applies to ``events_before``,
  ``events_after`` and ``state``; with ``lazy_load_members`` the state holds
  only the member events of the senders of the returned events.
* ``state`` is the state after the last event returned (spec: "The state of
  the room at the last event returned").
* ``start`` / ``end`` are ``/messages`` tokens before the first and after the
  last event returned.
* An event that is unknown, of another room, or not visible to the user
  (history visibility, ignored sender): ``404 M_NOT_FOUND``.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from trioserver.api.client.history import (
    event_keeper,
    ignored_by,
    member_event_ids,
    paginate,
    parse_filter,
    parse_limit,
    serve_events,
)
from trioserver.api.client.room_common import PREFIX, check_event_id, check_room_id
from trioserver.api.client.visibility import visible_events
from trioserver.api.context import services
from trioserver.api.http import json_response, require_user
from trioserver.db.timeline import MAX_POSITION, TimelineEvent, event_position_txn
from trioserver.protocol.errors import MatrixError
from trioserver.rooms.ignored import is_hidden_by_ignore
from trioserver.rooms.tokens import room_token

blueprint = Blueprint("client_context", __name__)

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


@blueprint.get(f"{PREFIX}/rooms/<roomId>/context/<eventId>")
async def event_context(prefix: str, roomId: str, eventId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    check_event_id(eventId)
    event_filter = parse_filter(request.args.get("filter"))
    limit = parse_limit(request.args.get("limit"), default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    svc = services()
    not_found = MatrixError("M_NOT_FOUND", "Event not found")
    position = await svc.db.run_read(event_position_txn, roomId, eventId)
    version = await svc.rooms.room_version(roomId)
    if position is None or version is None:
        raise not_found
    if not await visible_events(owner.user_id, [eventId], room_id=roomId):
        raise not_found
    pdu = (await svc.rooms.events([eventId])).get(eventId)
    ignored = await ignored_by(owner.user_id)
    if pdu is None or is_hidden_by_ignore(pdu, ignored):
        raise not_found
    membership = await svc.rooms.membership(roomId, owner.user_id)
    keep = event_keeper(event_filter, ignored, roomId)
    before = await paginate(
        owner.user_id,
        roomId,
        start=position - 1,
        stop=0,
        backwards=True,
        limit=limit // 2,
        keep=keep,
        membership_now=membership,
    )
    after = await paginate(
        owner.user_id,
        roomId,
        start=position,
        stop=MAX_POSITION,
        backwards=False,
        limit=limit - limit // 2,
        keep=keep,
        membership_now=membership,
    )
    served = await serve_events(
        owner,
        roomId,
        version,
        [*(e.event_id for e in before.events), eventId, *(e.event_id for e in after.events)],
        ignored=ignored,
    )
    by_id = {e["event_id"]: e for e in served}
    last = after.events[-1].event_id if after.events else eventId
    state = await svc.rooms.state_at_event(last, after=True) or {}
    if event_filter.lazy_load_members:
        shown = [*before.events, TimelineEvent(position, eventId, pdu), *after.events]
        wanted = set(await member_event_ids(roomId, shown))
        state_ids = [
            e for (t, _), e in sorted(state.items()) if t != "m.room.member" or e in wanted
        ]
    else:
        state_ids = [e for _, e in sorted(state.items())]
    state_events = await serve_events(
        owner, roomId, version, state_ids, ignored=frozenset(), aggregate=False
    )
    if event_filter.filters_events:
        state_events = [e for e in state_events if event_filter.matches(e)]
    return json_response(
        {
            "start": room_token(before.cursor),
            "end": room_token(after.cursor),
            "events_before": [by_id[e.event_id] for e in before.events if e.event_id in by_id],
            "event": by_id[eventId],
            "events_after": [by_id[e.event_id] for e in after.events if e.event_id in by_id],
            "state": state_events,
        }
    )
