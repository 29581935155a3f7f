"""Bundled aggregations (spec: "Aggregations of child events"): the
``unsigned.m.relations`` of events served to clients.

:func:`bundle_aggregations` adds them to ClientEvents in place. It is meant
for every endpoint the spec lists (``/messages``, ``/context``, ``/event``,
``/relations``, ``/threads``, ``/search``, limited ``/sync`` timelines).
The rules are :mod:`trioserver.relations.aggregation`; the rows
:mod:`trioserver.db.relations`. Children sent by users the requester ignores
are never counted. State events get no aggregations. A thread's
``latest_event`` carries its own aggregations (one level: no loops).
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from functools import partial
from typing import Any

from trioserver.api.client.room_common import client_events
from trioserver.api.client.visibility import visible_events
from trioserver.api.context import services
from trioserver.db.relations import RelationRow, relations_for_parents_txn, thread_summaries_txn
from trioserver.relations.aggregation import latest_valid_edit, thread_participated
from trioserver.rooms.ignored import ignored_users

ClientEvent = MutableMapping[str, Any]

_BUNDLED = ("m.reference", "m.replace")


async def bundle_aggregations(
    user_id: str,
    room_id: str,
    room_version: str,
    events: Sequence[ClientEvent],
    *,
    ignored: frozenset[str] | None = None,
    _nested: bool = False,
) -> None:
    """Add ``unsigned.m.relations`` to those of ``events`` (ClientEvents of
    ``room_id``) that have aggregatable children visible to ``user_id``."""
    parents = [
        e
        for e in events
        if isinstance(e.get("event_id"), str) and not isinstance(e.get("state_key"), str)
    ]
    if not parents:
        return
    svc = services()
    if ignored is None:
        ignored = await ignored_users(svc.db, user_id)
    ids = [str(e["event_id"]) for e in parents]
    ignored_list = sorted(ignored)
    rows = await svc.db.run_read(
        partial(relations_for_parents_txn, ignored_senders=ignored_list), room_id, ids, _BUNDLED
    )
    threads = await svc.db.run_read(
        partial(thread_summaries_txn, ignored_senders=ignored_list), room_id, ids, user_id
    )
    by_parent: dict[str, list[RelationRow]] = {}
    for row in rows:
        by_parent.setdefault(row.relates_to_id, []).append(row)
    edits: dict[str, str] = {}
    for event in parents:
        event_id = str(event["event_id"])
        unsigned = event.get("unsigned")
        redacted = isinstance(unsigned, dict) and "redacted_because" in unsigned
        if not redacted and event_id in by_parent:
            edit = latest_valid_edit(event, by_parent[event_id])
            if edit is not None:
                edits[event_id] = edit
    wanted = set(edits.values())
    if not _nested:
        wanted |= {t.latest_event_id for t in threads.values()}
    children = [r.event_id for group in by_parent.values() for r in group]
    visible = set(await visible_events(user_id, [*wanted, *children], room_id=room_id))
    served: dict[str, ClientEvent] = {}
    shown = [e for e in wanted if e in visible]
    if shown:
        for served_event in await client_events(shown, room_id, room_version, user_id=user_id):
            served[str(served_event["event_id"])] = served_event
        latest = [
            served[t.latest_event_id] for t in threads.values() if t.latest_event_id in served
        ]
        if latest and not _nested:
            await bundle_aggregations(
                user_id, room_id, room_version, latest, ignored=ignored, _nested=True
            )
    for event in parents:
        event_id = str(event["event_id"])
        relations: dict[str, Any] = {}
        references = [
            {"event_id": r.event_id}
            for r in by_parent.get(event_id, [])
            if r.rel_type == "m.reference" and r.event_id in visible
        ]
        if references:
            relations["m.reference"] = {"chunk": references}
        edit_id = edits.get(event_id)
        if edit_id is not None and edit_id in served:
            relations["m.replace"] = served[edit_id]
        thread = threads.get(event_id) if not _nested else None
        if thread is not None and thread.latest_event_id in served:
            relations["m.thread"] = {
                "latest_event": served[thread.latest_event_id],
                "count": thread.count,
                "current_user_participated": thread_participated(
                    event, user_id, thread.user_participated
                ),
            }
        if relations:
            unsigned = event.setdefault("unsigned", {})
            unsigned["m.relations"] = relations
