"""``GET /sync`` assembled (spec: client-server API, "Syncing"; ``sync.yaml``).

The long-poll follows STYLE 8: take the user's wake-up, *then* read every
stream position, compute the response for ``(since, positions]``; if it is
empty, wait for the wake-up (or the timeout) and start again. A change
committed after the read always fires the wake-up, so none is lost; a
client that goes away simply cancels the handler.

Positions are read from their sources of truth (the output stream, the
database, the ephemeral trackers), not from the notifier's token, so the
order in which services start does not matter.

Rooms (from the user's own member events by stream position, read through
an index: cost grows with the user's memberships, not with rooms' history):

* ``join``: rooms joined at the end; a room joined in ``(since, end]`` that
  was not joined at ``since`` is *newly joined* (full state, ``limited``);
  a repeated join is not.
* ``invite`` / ``knock``: with stripped state, when the invite or knock is
  new (or on an initial sync).
* ``leave``: rooms left or banned from in ``(since, end]``, the timeline up
  to the leave; on an initial sync only with ``include_leave`` (and never
  forgotten rooms).

To-device messages are deleted once a ``since`` at or past them comes back
(a lost response re-delivers them).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import trio

from trioserver.db import Database
from trioserver.db import account_data as account_data_sql
from trioserver.db import e2e_keys as keys_sql
from trioserver.db import sync_rooms as rooms_sql
from trioserver.db import to_device as to_device_sql
from trioserver.db.room_forgotten import forgotten_rooms_txn
from trioserver.rooms.ignored import IGNORED_USER_LIST, ignored_users_from_json
from trioserver.rooms.tokens import SyncToken
from trioserver.sync.device_lists import LEFT, keys_txn
from trioserver.sync.filters import SyncFilter
from trioserver.sync.follower import RoomOutput
from trioserver.sync.notifier import Notifier
from trioserver.sync.rooms import (
    RoomQuery,
    RoomResult,
    remember_sent_members_txn,
    room_txn,
    stripped_state_txn,
)
from trioserver.sync.sources import SyncSources
from trioserver.util.clock import Clock

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Initial and full-state syncs built at the same time at most.
FULL_SYNCS_AT_ONCE = 2
#: To-device messages per response at most (the rest come with the next one).
TO_DEVICE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class SyncRequest:
    user_id: str
    device_id: str
    since: SyncToken | None
    timeout_ms: int
    sync_filter: SyncFilter
    full_state: bool = False
    set_presence: str | None = None
    #: spec v1.16: ``state_after`` (state up to the end of the timeline)
    #: instead of ``state`` (up to its start)
    use_state_after: bool = False


@dataclass(frozen=True, slots=True)
class _Membership:
    at_since: str | None
    now: str | None
    event_id: str | None  #: the last member event up to the end
    position: int  #: its position (0: none)


class SyncService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        output: RoomOutput,
        sources: SyncSources | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier
        self._output = output
        self.sources = sources or SyncSources()
        #: Devices known (since start) to hold no delivered, unacknowledged
        #: to-device messages: their syncs skip the deletion check.
        self._to_device_clean: set[tuple[str, str]] = set()
        #: Per user: (account-data position, ignored users) of the last read.
        self._ignored: dict[str, tuple[int, frozenset[str]]] = {}
        #: Initial and full-state syncs built at once at most: each builds a
        #: large response; two hundred clients starting together would hold
        #: two hundred of them in memory, and finish no sooner (one core).
        self._full_builds = trio.CapacityLimiter(FULL_SYNCS_AT_ONCE)

    # -- positions -------------------------------------------------------

    async def current_token(self) -> SyncToken:
        """Every stream's position now (read after taking the wake-up)."""
        account_data, to_device, device_lists = self._db.read_now(_db_positions_txn)
        s = self.sources
        return SyncToken(
            events=max(self._output.position, self._notifier.current_token().events),
            typing=s.typing.position if s.typing else 0,
            receipts=s.receipts.position if s.receipts else 0,
            presence=s.presence.position if s.presence else 0,
            account_data=account_data,
            to_device=to_device,
            device_lists=device_lists,
        )

    # -- the long-poll ---------------------------------------------------

    async def sync(self, req: SyncRequest) -> dict[str, Any]:
        """The response to ``req``, waiting up to ``req.timeout_ms`` for something new."""
        presence = self.sources.presence
        if presence is None:
            return await self._sync(req)
        async with presence.syncing(req.user_id, req.set_presence):
            return await self._sync(req)

    async def _sync(self, req: SyncRequest) -> dict[str, Any]:
        if req.since is not None:
            await self._delete_delivered(req.user_id, req.device_id, req.since.to_device)
        deadline = trio.current_time() + max(0, req.timeout_ms) / 1000
        waits = req.since is not None and not req.full_state
        while True:
            wake = self._notifier.wake_up(req.user_id)
            token = await self.current_token()
            since = _effective_since(req.since, token)
            if not waits:
                async with self._full_builds:
                    return await self._build(req, since, token)
            response = None
            if since is None or not _unchanged(since, token):
                response = await self._build(req, since, token)
                if not _is_empty(response):
                    return response
            if trio.current_time() >= deadline:
                return response or _empty(token.at_least(since or token))
            with trio.move_on_at(deadline):
                await wake.wait()

    async def _delete_delivered(self, user_id: str, device_id: str, upto: int) -> None:
        """Delete the to-device messages a ``since`` acknowledges: a read
        first (most syncs have none), and none at all for a device known to
        hold none since its last check."""
        device = (user_id, device_id)
        if device in self._to_device_clean:
            return
        # Marked first: a delivery to the device meanwhile unmarks it.
        self._to_device_clean.add(device)
        try:
            if self._db.read_now(to_device_sql.has_delivered_txn, user_id, device_id, upto):
                await self._db.run_write(
                    to_device_sql.delete_delivered_txn, user_id, device_id, upto
                )
        except BaseException:
            self._to_device_clean.discard(device)
            raise

    async def _ignored_users(self, user_id: str, account_data_position: int) -> frozenset[str]:
        """The user's ignored users, re-read only when account data moved."""
        cached = self._ignored.get(user_id)
        if cached is not None and cached[0] == account_data_position:
            return cached[1]
        ignored = frozenset(
            ignored_users_from_json(
                self._db.read_now(
                    account_data_sql.get_account_data_txn, user_id, None, IGNORED_USER_LIST
                )
            )
            - {user_id}
        )
        self._ignored[user_id] = (account_data_position, ignored)
        return ignored

    # -- building --------------------------------------------------------

    async def _read(self, incremental: bool, fn: Callable[..., T], *args: Any) -> T:
        """A read of an incremental sync is small (what changed since the
        last one): it runs at once on this thread, cheaper than a hop to a
        reader thread. An initial or full-state sync's reads go to a reader."""
        if incremental:
            return self._db.read_now(fn, *args)
        return await self._db.run_read(fn, *args)

    async def _rooms(
        self, queries: list[tuple[str, str, RoomQuery]]
    ) -> dict[str, tuple[str, RoomResult]]:
        """``{room_id: (kind, result)}``, each room read at once on this
        thread: a room's read is mostly Python (decoding and formatting
        events), which a reader thread would only run slower, fighting this
        one for the GIL. Between the rooms of an initial sync other tasks run."""
        results: dict[str, tuple[str, RoomResult]] = {}
        for room_id, kind, q in queries:
            results[room_id] = (kind, self._db.read_now(room_txn, q))
            if q.full_state:
                await trio.lowlevel.checkpoint()
        return results

    async def _build(
        self, req: SyncRequest, since: SyncToken | None, token: SyncToken
    ) -> dict[str, Any]:
        f = req.sync_filter
        s_events = since.events if since else 0
        ignored = await self._ignored_users(req.user_id, token.account_data)
        memberships, active, forgotten = self._db.read_now(
            _memberships_txn, req.user_id, s_events, token.events
        )
        now_ms = self._clock.time_ms()
        join: dict[str, Any] = {}
        invite: dict[str, Any] = {}
        knock: dict[str, Any] = {}
        leave: dict[str, Any] = {}
        lazy_rows: list[tuple[str, str, str]] = []
        newly_joined: set[str] = set()
        newly_left: set[str] = set()

        def base_query(room_id: str, membership: _Membership) -> RoomQuery:
            return RoomQuery(
                room_id=room_id,
                user_id=req.user_id,
                device_id=req.device_id,
                since=s_events,
                upto=token.events,
                full_state=req.full_state or since is None,
                newly_joined=False,
                membership_now=membership.now or "leave",
                sync_filter=f,
                ignored=frozenset(ignored),
                now_ms=now_ms,
                state_after=req.use_state_after,
            )

        queries: list[tuple[str, str, RoomQuery]] = []
        for room_id, m in sorted(memberships.items()):
            if not f.room.allows_room(room_id):
                continue
            q = base_query(room_id, m)
            changed = m.position > s_events
            if m.now == "join":
                new = since is not None and changed and m.at_since != "join"
                if new:
                    newly_joined.add(room_id)
                    q = replace(q, full_state=True, newly_joined=True)
                elif since is not None and not req.full_state and room_id not in active:
                    continue
                queries.append((room_id, "join", q))
            elif m.now in LEFT:
                if since is None:
                    if not f.room.include_leave or room_id in forgotten:
                        continue
                elif not changed or m.at_since in LEFT or m.at_since is None:
                    continue
                else:
                    newly_left.add(room_id)
                q = replace(q, upto=m.position, own_member_event=m.event_id)
                queries.append((room_id, "leave", q))
            elif m.now in ("invite", "knock") and (since is None or changed):
                assert m.event_id is not None
                stripped = await self._db.run_read(stripped_state_txn, room_id, m.event_id)
                inviter = next(
                    (e["sender"] for e in stripped if e.get("state_key") == req.user_id), None
                )
                if m.now == "invite":
                    if inviter in ignored:
                        continue
                    invite[room_id] = {"invite_state": {"events": stripped}}
                else:
                    knock[room_id] = {"knock_state": {"events": stripped}}

        results = await self._rooms(queries)
        # account data, ephemeral, unread counts
        global_data, room_data = await self._account_data(req, since, token)
        joined_now = {r for r, m in memberships.items() if m.now == "join"}
        ephemeral = await self._ephemeral(req, since, token, joined_now)
        for room_id in sorted((set(room_data) | set(ephemeral)) & joined_now - set(results)):
            if f.room.allows_room(room_id):
                results[room_id] = ("join", RoomResult(prev_batch=""))
        for room_id, (kind, result) in sorted(results.items()):
            lazy_rows.extend((room_id, member, event) for member, event in result.sent_members)
            entry: dict[str, Any] = {
                "timeline": {
                    "events": result.timeline,
                    "limited": result.limited,
                },
                "state_after" if req.use_state_after else "state": {"events": result.state},
                "account_data": {"events": room_data.get(room_id, [])},
            }
            if result.prev_batch:
                entry["timeline"]["prev_batch"] = result.prev_batch
            if (
                since is not None
                and kind == "join"
                and result.is_empty
                and room_id not in newly_joined
                and not room_data.get(room_id)
                and not ephemeral.get(room_id)
            ):
                continue
            if kind == "leave":
                leave[room_id] = entry
                continue
            entry["ephemeral"] = {"events": ephemeral.get(room_id, [])}
            if result.summary is not None:
                entry["summary"] = result.summary
            join[room_id] = entry
        if self.sources.unread is not None and join:
            threaded = f.room.timeline.unread_thread_notifications
            counts = await self.sources.unread.unread_counts(
                req.user_id, sorted(join), threaded=threaded
            )
            for room_id, c in counts.items():
                join[room_id]["unread_notifications"] = {
                    "notification_count": c.get("notification_count", 0),
                    "highlight_count": c.get("highlight_count", 0),
                }
                if threaded:
                    join[room_id]["unread_thread_notifications"] = c.get(
                        "unread_thread_notifications", {}
                    )
        if lazy_rows and f.room.state.lazy_load_members:
            await self._db.run_write(
                remember_sent_members_txn,
                req.user_id,
                req.device_id,
                lazy_rows,
                since is None,
            )
        to_device, to_device_pos = await self._to_device(req, since, token)
        next_token = token.with_(to_device=to_device_pos)
        if since is not None:
            next_token = next_token.at_least(replace(since, typing=0, presence=0))
        response: dict[str, Any] = {
            "next_batch": str(next_token),
            "rooms": {"join": join, "invite": invite, "knock": knock, "leave": leave},
            "account_data": {"events": global_data},
            "presence": {"events": await self._presence(req, since, token)},
            "to_device": {"events": to_device},
        }
        keys, device_lists = self._db.read_now(
            keys_txn,
            req.user_id,
            req.device_id,
            since,
            token,
            sorted(newly_joined),
            sorted(newly_left),
        )
        response["device_one_time_keys_count"] = keys[0]
        response["device_unused_fallback_key_types"] = keys[1]
        if device_lists is not None:
            response["device_lists"] = device_lists
        return response

    async def _account_data(
        self, req: SyncRequest, since: SyncToken | None, token: SyncToken
    ) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        after = since.account_data if since else 0
        if after >= token.account_data and since is not None:
            return [], {}
        changes = await self._read(
            since is not None,
            account_data_sql.changes_since_txn,
            req.user_id,
            after,
            token.account_data,
        )
        f = req.sync_filter
        global_events: list[dict[str, Any]] = []
        rooms: dict[str, list[dict[str, Any]]] = {}
        for change in changes:
            event = {"type": change.type, "content": json.loads(change.content_json)}
            if change.room_id is None:
                if f.account_data.allows_type(change.type):
                    global_events.append(event)
            else:
                room_filter = f.room.account_data
                if room_filter.allows_type(change.type) and room_filter.allows_room(change.room_id):
                    rooms.setdefault(change.room_id, []).append(event)
        if f.account_data.limit is not None:
            global_events = global_events[: f.account_data.limit]
        return global_events, rooms

    async def _ephemeral(
        self, req: SyncRequest, since: SyncToken | None, token: SyncToken, joined: set[str]
    ) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        eph_filter = req.sync_filter.room.ephemeral
        typing = self.sources.typing
        if typing is not None and eph_filter.allows_type("m.typing"):
            changed = joined if since is None else typing.rooms_changed(since.typing) & joined
            for room_id in sorted(changed):
                users = typing.users_typing(room_id)
                if since is None and not users:
                    continue
                out.setdefault(room_id, []).append(
                    {"type": "m.typing", "content": {"user_ids": users}}
                )
        receipts = self.sources.receipts
        if receipts is not None and eph_filter.allows_type("m.receipt"):
            found = await receipts.receipts_for_sync(
                req.user_id, sorted(joined), since.receipts if since else 0, token.receipts
            )
            for room_id, event in found.items():
                out.setdefault(room_id, []).append(event)
        return {r: events for r, events in out.items() if eph_filter.allows_room(r) and events}

    async def _presence(
        self, req: SyncRequest, since: SyncToken | None, token: SyncToken
    ) -> list[dict[str, Any]]:
        presence = self.sources.presence
        if presence is None:
            return []
        events = await presence.presence_events_for(
            req.user_id, since.presence if since else 0, token.presence
        )
        f = req.sync_filter.presence
        return [e for e in events if f.matches(e)]

    async def _to_device(
        self, req: SyncRequest, since: SyncToken | None, token: SyncToken
    ) -> tuple[list[dict[str, Any]], int]:
        after = since.to_device if since else 0
        if since is not None and after >= token.to_device:
            return [], token.to_device
        messages = await self._read(
            since is not None,
            to_device_sql.messages_txn,
            req.user_id,
            req.device_id,
            after,
            token.to_device,
            TO_DEVICE_LIMIT,
        )
        if messages:
            self._to_device_clean.discard((req.user_id, req.device_id))
        events = [
            {"sender": m.sender, "type": m.type, "content": json.loads(m.content_json)}
            for m in messages
        ]
        position = messages[-1].stream_pos if len(messages) == TO_DEVICE_LIMIT else token.to_device
        return events, position


def _db_positions_txn(conn: Any) -> tuple[int, int, int]:
    return (
        account_data_sql.current_position_txn(conn),
        to_device_sql.to_device_position_txn(conn),
        keys_sql.device_list_position_txn(conn),
    )


def _memberships_txn(
    conn: Any, user_id: str, since: int, upto: int
) -> tuple[dict[str, _Membership], set[str], set[str]]:
    """Per room: the user's membership at ``since`` and at ``upto``; the rooms
    with events in ``(since, upto]``; the rooms the user forgot."""
    at_since: dict[str, str] = {}
    last: dict[str, rooms_sql.MembershipEvent] = {}
    for event in rooms_sql.membership_events_txn(conn, user_id, upto):
        if event.position <= since:
            at_since[event.room_id] = event.membership
        last[event.room_id] = event
    memberships = {
        room_id: _Membership(at_since.get(room_id), e.membership, e.event_id, e.position)
        for room_id, e in last.items()
    }
    active = rooms_sql.rooms_with_events_txn(conn, since, upto) if since else set()
    return memberships, active, forgotten_rooms_txn(conn, user_id)


def _effective_since(since: SyncToken | None, token: SyncToken) -> SyncToken | None:
    """In-memory streams restart at 0: a ``since`` past them counts from 0."""
    if since is None:
        return None
    fixes = {
        name: 0 for name in ("typing", "presence") if getattr(since, name) > getattr(token, name)
    }
    return replace(since, **fixes) if fixes else since


def _unchanged(since: SyncToken, token: SyncToken) -> bool:
    return all(
        getattr(token, name) <= getattr(since, name)
        for name in (
            "events",
            "typing",
            "receipts",
            "presence",
            "account_data",
            "to_device",
            "device_lists",
        )
    )


def _is_empty(response: dict[str, Any]) -> bool:
    rooms = response["rooms"]
    if any(rooms[k] for k in ("join", "invite", "knock", "leave")):
        return False
    if response["account_data"]["events"] or response["presence"]["events"]:
        return False
    if response["to_device"]["events"]:
        return False
    lists = response.get("device_lists", {})
    return not (lists.get("changed") or lists.get("left"))


def _empty(token: SyncToken) -> dict[str, Any]:
    return {
        "next_batch": str(token),
        "rooms": {"join": {}, "invite": {}, "knock": {}, "leave": {}},
        "account_data": {"events": []},
        "presence": {"events": []},
        "to_device": {"events": []},
        "device_lists": {"changed": [], "left": []},
    }
