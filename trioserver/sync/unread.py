"""Unread notification counts and ``GET /notifications``, derived lazily per
user from push-rule evaluation (client-server API, "Receiving
notifications", "Threading": "Unread counts"; "Listing Notifications").

Contract:

* Nothing is stored per member per message: a message in a 1,000-member
  room costs the same rows as in a 2-member room. Counts are computed when
  asked, from the room's events after the user's read receipt (``m.read`` or
  ``m.read.private``, whichever is further; spec: "Private read receipts"),
  or after the user's member event when there is no receipt.
* A computed count is cached per (user, room) with the room position it
  covers, the receipts it was computed against and the version of the
  user's push rules. A new event extends it (only the new events are
  evaluated); a new receipt or rule change recomputes it.
* Threads (spec: "Threading", receipts "Threaded read receipts"): an event
  is in thread ``T`` when it has ``rel_type: m.thread`` to ``T``, or relates
  to an event in ``T`` seen by the same scan; all else (thread roots
  included) is ``main``. A thread's events count after the later of the
  unthreaded receipt and the thread's own receipt.
* Evaluation uses the room's current state (member count, power levels,
  display name), not the state at each event.
* At most :data:`MAX_SCAN` events are evaluated per room and request.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import trio

from trioserver.db import Database
from trioserver.db import push_rules as rules_sql
from trioserver.db import receipts as sql
from trioserver.db.roomserver_current import rooms_for_user_txn
from trioserver.push.evaluate import (
    CompiledRules,
    PushContext,
    compile_rules,
    evaluate,
    highlights,
    notifies,
)
from trioserver.push.rules import DefaultChange, Ruleset, UserRule, ruleset
from trioserver.sync.receipts import RECEIPT_TYPES

MAIN = "main"
#: Most events evaluated for one room per request (older unread ones are not counted).
MAX_SCAN = 5000
_BATCH = 500
_CACHE_SIZE = 20_000
_MAX_THREAD_MAP = 2000


@dataclass(slots=True)
class _Counts:
    notify: int = 0
    highlight: int = 0


@dataclass(slots=True)
class _Entry:
    receipts_key: tuple[tuple[str, int], ...]
    rules_version: int
    scanned_to: int
    scanned: int
    counts: dict[str, _Counts] = field(default_factory=dict)
    #: event ID -> thread of events in a thread (for relations to them)
    threads: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Inputs:
    receipts: dict[str, int]  #: thread ('' unthreaded) -> receipt event position
    joined_at: int
    latest: int


def _inputs_txn(conn: sqlite3.Connection, user_id: str, room_id: str) -> _Inputs:
    receipts: dict[str, int] = {}
    for receipt in sql.user_receipts_txn(conn, user_id, room_id):
        if receipt.receipt_type in RECEIPT_TYPES:
            current = receipts.get(receipt.thread_id, 0)
            receipts[receipt.thread_id] = max(current, receipt.event_position)
    return _Inputs(
        receipts,
        sql.member_event_position_txn(conn, room_id, user_id),
        sql.latest_position_txn(conn, room_id),
    )


def _start_of(inputs: _Inputs) -> int:
    start = inputs.receipts.get(sql.UNTHREADED)
    return inputs.joined_at if start is None else start


def _room_read_txn(
    conn: sqlite3.Connection,
    user_id: str,
    room_id: str,
    cached: tuple[tuple[tuple[str, int], ...], int] | None,
) -> tuple[_Inputs, sql.PushRoomState | None, list[sql.RoomEvent]]:
    """Everything one room's count needs in one read: the inputs and, when
    there are events to evaluate past the cached ``(receipts, scanned_to)``
    (or the receipt), the room's push state and the first batch of them."""
    inputs = _inputs_txn(conn, user_id, room_id)
    if cached is not None and cached[0] == tuple(sorted(inputs.receipts.items())):
        start = cached[1]
    else:
        start = _start_of(inputs)
    if start >= inputs.latest:
        return inputs, None, []
    state = sql.push_room_state_txn(conn, room_id, user_id)
    return inputs, state, sql.events_after_txn(conn, room_id, start, _BATCH, inputs.latest)


def thread_of(pdu: Mapping[str, Any], known: Mapping[str, str]) -> str:
    """The thread of an event: ``main`` or the thread root's event ID."""
    content = pdu.get("content")
    relates = content.get("m.relates_to") if isinstance(content, Mapping) else None
    if not isinstance(relates, Mapping):
        return MAIN
    parent = relates.get("event_id")
    if not isinstance(parent, str):
        return MAIN
    if relates.get("rel_type") == "m.thread":
        return parent
    return known.get(parent, MAIN)


@dataclass(frozen=True, slots=True)
class Notification:
    """One entry of ``GET /notifications`` (the event still to be formatted)."""

    room_id: str
    event_id: str
    position: int
    pdu: dict[str, Any]
    actions: list[Any]
    read: bool


class UnreadCounter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: collections.OrderedDict[tuple[str, str], _Entry] = collections.OrderedDict()
        self._rules: dict[str, tuple[int, Ruleset, CompiledRules]] = {}
        self._rules_version: dict[str, int] = {}

    # -- push rules ---------------------------------------------------------

    def rules_changed(self, user_id: str) -> None:
        """The user's push rules changed: forget what was computed with them."""
        self._rules_version[user_id] = self._rules_version.get(user_id, 0) + 1
        self._rules.pop(user_id, None)

    async def ruleset(self, user_id: str) -> Ruleset:
        """The user's full ruleset, in evaluation order."""
        return (await self._cached_rules(user_id))[0]

    async def compiled_rules(self, user_id: str) -> CompiledRules:
        """The user's ruleset, compiled for evaluation."""
        return (await self._cached_rules(user_id))[1]

    async def _cached_rules(self, user_id: str) -> tuple[Ruleset, CompiledRules]:
        version = self._rules_version.get(user_id, 0)
        cached = self._rules.get(user_id)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        own, changes = await self._db.run_read(_rules_txn, user_id)
        rules = ruleset(
            user_id,
            [UserRule(k, r, b, a, e) for k, r, b, a, e in own],
            [DefaultChange(k, r, e, a) for k, r, e, a in changes],
        )
        compiled = compile_rules(rules)
        if self._rules_version.get(user_id, 0) == version:
            self._rules[user_id] = (version, rules, compiled)
        return rules, compiled

    # -- counts ------------------------------------------------------------

    async def unread_counts(
        self, user_id: str, room_ids: Iterable[str], *, threaded: bool = True
    ) -> dict[str, dict[str, Any]]:
        """``{room_id: {"notification_count", "highlight_count",
        "unread_thread_notifications"}}``. With ``threaded`` the two counts are
        the main timeline's and each thread's are under
        ``unread_thread_notifications`` (the ``unread_thread_notifications``
        filter); without, the counts cover the whole room and the map is empty."""
        out: dict[str, dict[str, Any]] = {}
        counted = {room_id: await self._room_counts(user_id, room_id) for room_id in room_ids}
        for room_id, counts in counted.items():
            main = counts.get(MAIN, _Counts())
            if threaded:
                threads = {
                    thread: {"notification_count": c.notify, "highlight_count": c.highlight}
                    for thread, c in sorted(counts.items())
                    if thread != MAIN and (c.notify or c.highlight)
                }
                out[room_id] = {
                    "notification_count": main.notify,
                    "highlight_count": main.highlight,
                    "unread_thread_notifications": threads,
                }
            else:
                out[room_id] = {
                    "notification_count": sum(c.notify for c in counts.values()),
                    "highlight_count": sum(c.highlight for c in counts.values()),
                    "unread_thread_notifications": {},
                }
        return out

    async def _room_counts(self, user_id: str, room_id: str) -> dict[str, _Counts]:
        version = self._rules_version.get(user_id, 0)
        key = (user_id, room_id)
        entry = self._cache.get(key)
        usable = entry is not None and entry.rules_version == version
        cached = (entry.receipts_key, entry.scanned_to) if entry is not None and usable else None
        # At once on this thread, like a sync's room reads (see SyncService._rooms).
        inputs, state, first = self._db.read_now(_room_read_txn, user_id, room_id, cached)
        if cached is None:
            await trio.lowlevel.checkpoint()
        receipts_key = tuple(sorted(inputs.receipts.items()))
        if entry is None or entry.receipts_key != receipts_key or entry.rules_version != version:
            entry = _Entry(receipts_key, version, scanned_to=_start_of(inputs), scanned=0)
        if state is not None and entry.scanned_to < inputs.latest and entry.scanned < MAX_SCAN:
            await self._scan(user_id, room_id, entry, inputs, state, first)
        elif state is None:
            entry.scanned_to = max(entry.scanned_to, inputs.latest)
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return entry.counts

    async def _scan(
        self,
        user_id: str,
        room_id: str,
        entry: _Entry,
        inputs: _Inputs,
        state: sql.PushRoomState,
        batch: list[sql.RoomEvent],
    ) -> None:
        """Evaluate the events after ``entry.scanned_to``, starting with ``batch``."""
        rules = await self.compiled_rules(user_id)
        ctx = PushContext(
            user_id=user_id,
            member_count=state.member_count,
            display_name=state.display_name,
            power_levels=state.power_levels,
            create_event=state.create_event,
            room_version=state.room_version,
        )
        unthreaded = inputs.receipts.get(sql.UNTHREADED, 0)
        while entry.scanned_to < inputs.latest and entry.scanned < MAX_SCAN:
            if not batch:
                batch = await self._db.run_read(
                    sql.events_after_txn, room_id, entry.scanned_to, _BATCH, inputs.latest
                )
            if not batch:
                entry.scanned_to = inputs.latest
                break
            for event in batch:
                if event.position <= entry.scanned_to:
                    continue
                entry.scanned += 1
                entry.scanned_to = event.position
                thread = thread_of(event.pdu, entry.threads)
                if thread != MAIN and len(entry.threads) < _MAX_THREAD_MAP:
                    entry.threads[event.event_id] = thread
                read_to = max(unthreaded, inputs.receipts.get(thread, 0))
                if event.position <= read_to:
                    continue
                actions = evaluate(rules, event.pdu, ctx)
                if not notifies(actions):
                    continue
                counts = entry.counts.setdefault(thread, _Counts())
                counts.notify += 1
                if highlights(actions):
                    counts.highlight += 1
            batch = []

    # -- GET /notifications --------------------------------------------------

    async def notifications(
        self,
        user_id: str,
        before: int | None,
        limit: int,
        *,
        only_highlight: bool = False,
        max_scan: int = 2000,
    ) -> tuple[list[Notification], int | None]:
        """Events that notified ``user_id`` in their joined rooms, newest
        first, before stream position ``before`` (None: from the newest);
        the position to continue from (None: nothing older)."""
        rooms = await self._db.run_read(rooms_for_user_txn, user_id, ["join"])
        if not rooms:
            return [], None
        rules = await self.compiled_rules(user_id)
        contexts: dict[str, PushContext | None] = {}
        receipts: dict[str, _Inputs] = {}
        found: list[Notification] = []
        cursor = before if before is not None else 2**62
        scanned = 0
        while len(found) < limit and scanned < max_scan:
            batch = await self._db.run_read(sql.events_before_txn, rooms, cursor, _BATCH)
            if not batch:
                return found, None
            for room_id, event in batch:
                scanned += 1
                cursor = event.position
                if room_id not in contexts:
                    contexts[room_id] = await self._context(user_id, room_id)
                    receipts[room_id] = await self._db.run_read(_inputs_txn, user_id, room_id)
                ctx = contexts[room_id]
                if ctx is None:
                    continue
                actions = evaluate(rules, event.pdu, ctx)
                if not notifies(actions) or (only_highlight and not highlights(actions)):
                    continue
                room_receipts = receipts[room_id].receipts
                thread = thread_of(event.pdu, {})
                read_to = max(room_receipts.get(sql.UNTHREADED, 0), room_receipts.get(thread, 0))
                found.append(
                    Notification(
                        room_id,
                        event.event_id,
                        event.position,
                        event.pdu,
                        actions,
                        read=event.position <= read_to,
                    )
                )
                if len(found) >= limit:
                    break
        return found, cursor

    async def _context(self, user_id: str, room_id: str) -> PushContext | None:
        state = await self._db.run_read(sql.push_room_state_txn, room_id, user_id)
        if state is None:
            return None
        return PushContext(
            user_id=user_id,
            member_count=state.member_count,
            display_name=state.display_name,
            power_levels=state.power_levels,
            create_event=state.create_event,
            room_version=state.room_version,
        )


def _rules_txn(
    conn: sqlite3.Connection, user_id: str
) -> tuple[list[rules_sql.StoredRule], list[rules_sql.StoredDefault]]:
    return rules_sql.user_rules_txn(conn, user_id), rules_sql.default_changes_txn(conn, user_id)
