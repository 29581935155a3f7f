"""History visibility for request handlers: which of some stored events a
user may see (spec: "Room History Visibility"; the rule is
:mod:`trioserver.rooms.visibility`, the facts :mod:`trioserver.db.visibility`)."""

from __future__ import annotations

from collections.abc import Iterable

from trioserver.api.context import services
from trioserver.db.visibility import visibility_facts_txn
from trioserver.rooms.visibility import filter_visible


async def visible_events(
    user_id: str, event_ids: Iterable[str], *, room_id: str | None = None
) -> list[str]:
    """The IDs among ``event_ids`` that ``user_id`` may see, in the given
    order. Events not stored, outliers, rejected and soft-failed events are
    never visible. ``room_id``: all events are of that room (saves a lookup)."""
    svc = services()
    wanted = list(dict.fromkeys(event_ids))
    if not wanted:
        return []
    infos = await svc.rooms.event_info(wanted)
    shown = [e for e in wanted if (i := infos.get(e)) is not None and i.position is not None]
    if not shown:
        return []
    facts = await svc.db.run_read(visibility_facts_txn, user_id, shown)
    pdus = await svc.rooms.events(shown)
    rooms = {room_id} if room_id is not None else {infos[e].room_id for e in shown}
    now = {r: await svc.rooms.membership(r, user_id) for r in rooms}
    visible: list[str] = []
    for room in rooms:
        in_room = [
            (e, pdus[e]) for e in shown if e in pdus and (room_id or infos[e].room_id) == room
        ]
        visible.extend(filter_visible(user_id, in_room, facts, now[room]))
    keep = set(visible)
    return [e for e in shown if e in keep]
