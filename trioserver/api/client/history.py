"""What the history endpoints share (``/messages``, ``/context``,
``/relations``, ``/threads``, ``/timestamp_to_event``): query parameters,
tokens, who may read a room, and a paginated walk over the timeline that
applies history visibility, a filter and ignored users.

Tokens are room tokens (:mod:`trioserver.rooms.tokens`): a stream position
``p`` is the point just after the event at ``p``. Walking backwards from
``p`` yields the events at ``p, p-1, ...``; the token after an event at
``q`` going backwards is ``q - 1``, going forwards ``q``. Positions are dense
and global, so pages never skip or repeat an event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from trioserver.api.client.aggregations import bundle_aggregations
from trioserver.api.client.room_common import client_events
from trioserver.api.context import services
from trioserver.db.accounts import TokenOwner
from trioserver.db.timeline import TimelineEvent, timeline_page_txn
from trioserver.protocol.errors import MatrixError
from trioserver.rooms.filters import FilterError, RoomEventFilter, parse_room_event_filter_json
from trioserver.rooms.ignored import ignored_users, is_hidden_by_ignore
from trioserver.rooms.tokens import InvalidToken, SyncToken
from trioserver.rooms.visibility import filter_visible, normalize_history_visibility

#: Rows read at most per request while looking for events to return
#: (a page may come back short, with an ``end`` token to go on from).
MAX_SCAN = 5000

PDU = Mapping[str, Any]


def invalid(message: str) -> MatrixError:
    return MatrixError("M_INVALID_PARAM", message)


def parse_direction(value: str | None, *, default: str | None = None) -> bool:
    """``dir`` as "backwards?" (``b``: True, ``f``: False)."""
    if value is None:
        if default is None:
            raise MatrixError("M_MISSING_PARAM", "Missing 'dir' parameter")
        value = default
    if value not in ("b", "f"):
        raise invalid("'dir' must be 'b' or 'f'")
    return value == "b"


def parse_int(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > 20 or not text.lstrip("-").isdigit():
        raise invalid(f"'{name}' must be an integer")
    return int(text)


def parse_limit(value: str | None, *, default: int, maximum: int, minimum: int = 0) -> int:
    """``limit``: an integer >= ``minimum`` (400 otherwise), capped at ``maximum``."""
    limit = parse_int(value, "limit")
    if limit is None:
        return default
    if limit < minimum:
        raise invalid(f"'limit' must be at least {minimum}")
    return min(limit, maximum)


def parse_position(value: str | None, name: str) -> int | None:
    """The room-event position of a token (None: absent)."""
    if value is None:
        return None
    try:
        return SyncToken.parse(value).events
    except InvalidToken:
        raise invalid(f"Unknown '{name}' token") from None


def parse_bool(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    if value not in ("true", "false"):
        raise invalid(f"'{name}' must be 'true' or 'false'")
    return value == "true"


def parse_filter(value: str | None) -> RoomEventFilter:
    try:
        return parse_room_event_filter_json(value)
    except FilterError as exc:
        raise invalid(f"Invalid filter: {exc}") from None


async def room_version_or(room_id: str, error: MatrixError) -> str:
    """The version of a room this server has state of, or raise ``error``."""
    version = await services().rooms.room_version(room_id)
    if version is None:
        raise error
    return version


async def current_history_visibility(room_id: str) -> str:
    state = await services().rooms.current_state_events(
        room_id, [("m.room.history_visibility", "")]
    )
    event = (state or {}).get(("m.room.history_visibility", ""))
    content = event.get("content") if event is not None else None
    return normalize_history_visibility(
        content.get("history_visibility") if isinstance(content, Mapping) else None
    )


async def reader_membership(room_id: str, user_id: str, forbidden: MatrixError) -> str | None:
    """The user's current membership, if they may read the room's history at
    all: they are or were in it (joined, left, banned, invited, knocking:
    history visibility then decides event by event), or it is
    ``world_readable``. Else raise ``forbidden``."""
    membership = await services().rooms.membership(room_id, user_id)
    if membership is not None:
        return membership
    if await current_history_visibility(room_id) == "world_readable":
        return None
    raise forbidden


async def ignored_by(user_id: str) -> frozenset[str]:
    return await ignored_users(services().db, user_id)


def event_keeper(
    event_filter: RoomEventFilter, ignored: frozenset[str], room_id: str
) -> Callable[[PDU], bool]:
    """Whether a PDU passes the filter and is not hidden by ignoring its sender."""
    filtering = event_filter.filters_events

    def keep(pdu: PDU) -> bool:
        if ignored and is_hidden_by_ignore(pdu, ignored):
            return False
        return not filtering or event_filter.matches({**pdu, "room_id": room_id})

    return keep


@dataclass(frozen=True, slots=True)
class Page:
    events: list[TimelineEvent]
    #: where to go on from (the position just past the last event looked at)
    cursor: int
    #: True: no event is left in the range (``end`` is omitted)
    exhausted: bool


async def paginate(
    user_id: str,
    room_id: str,
    *,
    start: int,
    stop: int,
    backwards: bool,
    limit: int,
    keep: Callable[[PDU], bool],
    membership_now: str | None,
) -> Page:
    """Walk the room's timeline from ``start`` towards ``stop`` (positions;
    backwards: ``stop < position <= start``, else ``start < position <=
    stop``) and take up to ``limit`` events that ``user_id`` may see (history
    visibility) and ``keep`` accepts. Reads at most :data:`MAX_SCAN` rows."""
    db = services().db
    taken: list[TimelineEvent] = []
    cursor = start
    scanned = 0
    if limit <= 0:
        return Page(taken, cursor, exhausted=False)
    while True:
        low, high = (stop, cursor) if backwards else (cursor, stop)
        if low >= high:
            return Page(taken, cursor, exhausted=True)
        want = min(max(2 * (limit - len(taken)), 20), 500)
        page = await db.run_read(
            partial(timeline_page_txn, backwards=backwards, limit=want), user_id, room_id, low, high
        )
        short = len(page.events) < want
        pairs = [(e.event_id, e.pdu) for e in page.events]
        visible = set(filter_visible(user_id, pairs, page.facts, membership_now))
        for index, event in enumerate(page.events):
            cursor = event.position - 1 if backwards else event.position
            scanned += 1
            if event.event_id in visible and keep(event.pdu):
                taken.append(event)
                if len(taken) >= limit:
                    last = index == len(page.events) - 1
                    return Page(taken, cursor, exhausted=short and last)
        if short:
            return Page(taken, cursor, exhausted=True)
        if scanned >= MAX_SCAN:
            return Page(taken, cursor, exhausted=False)


async def serve_events(
    owner: TokenOwner,
    room_id: str,
    room_version: str,
    event_ids: Sequence[str],
    *,
    ignored: frozenset[str],
    aggregate: bool = True,
) -> list[dict[str, Any]]:
    """ClientEvents of stored events (redacted ones redacted), with bundled
    aggregations in ``unsigned.m.relations``."""
    events = await client_events(
        event_ids, room_id, room_version, user_id=owner.user_id, device_id=owner.device_id
    )
    if aggregate:
        await bundle_aggregations(owner.user_id, room_id, room_version, events, ignored=ignored)
    return events


async def member_event_ids(room_id: str, events: Iterable[TimelineEvent]) -> list[str]:
    """Lazy-loading members: for each sender of ``events``, their
    ``m.room.member`` event in the state after their chronologically first
    event among ``events`` (their own join, if that is the event)."""
    first: dict[str, TimelineEvent] = {}
    for event in sorted(events, key=lambda e: e.position):
        sender = event.pdu.get("sender")
        if isinstance(sender, str) and sender not in first:
            first[sender] = event
    rooms = services().rooms
    found: list[str] = []
    for sender, event in first.items():
        state = await rooms.state_at_event(
            event.event_id, after=True, keys=[("m.room.member", sender)]
        )
        member = (state or {}).get(("m.room.member", sender))
        if member is not None and member not in found:
            found.append(member)
    return found
