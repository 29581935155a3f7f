"""``POST /search`` (client-server API, modules/search.md): full-text search
of room events (category ``room_events``) over the FTS5 index the directory
indexer keeps.

* Searched: the rooms the requester is joined to or has left, minus what
  the ``filter`` excludes; every hit passes the history visibility rules,
  is dropped if redacted or sent by a user the requester ignores.
* ``order_by``: ``rank`` (FTS5 bm25, best first; ``rank`` in the result is
  higher for better) or ``recent`` (newest first).
* ``next_batch`` tokens: ``r<offset>_<max position>`` for rank order (the
  index rows examined so far, with events after the first page's position
  left out so pages neither gap nor repeat), ``t<position>_<max position>``
  for recent order. Visibility is applied to rows examined in order, so a
  page may hold fewer results than the limit while ``next_batch`` is given.
* ``count`` is approximate: matches in the searched rooms before visibility.
* ``highlights``: the search term's words (FTS5 matches them as prefixes).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from functools import partial
from typing import Any

from quart import Blueprint, Response, request

from trioserver.api.client.directory import wait_indexed
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.db import search as search_sql
from trioserver.db.visibility import visibility_facts_txn
from trioserver.protocol.errors import MatrixError
from trioserver.rooms.client_format import client_event
from trioserver.rooms.ignored import ignored_users, is_hidden_by_ignore
from trioserver.rooms.tokens import room_token
from trioserver.rooms.visibility import filter_visible

blueprint = Blueprint("client_search", __name__)

_PREFIXES = "<any(v3, r0):prefix>"
_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"([rt])(\d{1,18})_(\d{1,18})")
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
DEFAULT_CONTEXT = 5
MAX_CONTEXT = 50


def _str_list(container: Mapping[str, Any], key: str) -> list[str] | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MatrixError("M_INVALID_PARAM", f"'{key}' must be a list of strings")
    return list(value)


def _int(container: Mapping[str, Any], key: str, default: int, maximum: int) -> int:
    value = container.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MatrixError("M_INVALID_PARAM", f"'{key}' must be a non-negative integer")
    return min(value, maximum)


def _object(container: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MatrixError("M_INVALID_PARAM", f"'{key}' must be an object")
    return value


def _type_matches(event_type: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


class _Criteria:
    """The parsed ``room_events`` criteria."""

    def __init__(self, criteria: dict[str, Any]) -> None:
        term = criteria.get("search_term")
        if term is None:
            raise MatrixError("M_MISSING_PARAM", "Missing 'search_term'")
        if not isinstance(term, str):
            raise MatrixError("M_INVALID_PARAM", "'search_term' must be a string")
        self.words = [w.casefold() for w in _WORD.findall(term)][:20]
        self.keys = _str_list(criteria, "keys") or list(search_sql.KEY_TYPES)
        for key in self.keys:
            if key not in search_sql.KEY_TYPES:
                raise MatrixError("M_INVALID_PARAM", f"Unknown search key {key!r}")
        order_by = criteria.get("order_by", "rank")
        if order_by not in ("rank", "recent"):
            raise MatrixError("M_INVALID_PARAM", "'order_by' must be 'rank' or 'recent'")
        self.by_rank = order_by == "rank"
        filter_ = _object(criteria, "filter")
        self.rooms = _str_list(filter_, "rooms")
        self.not_rooms = _str_list(filter_, "not_rooms") or []
        self.senders = _str_list(filter_, "senders")
        self.not_senders = _str_list(filter_, "not_senders") or []
        self.types = _str_list(filter_, "types")
        self.not_types = _str_list(filter_, "not_types") or []
        self.limit = _int(filter_, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        context = criteria.get("event_context")
        self.context: dict[str, Any] | None = None
        if context is not None:
            if not isinstance(context, dict):
                raise MatrixError("M_INVALID_PARAM", "'event_context' must be an object")
            self.context = context
            self.before = _int(context, "before_limit", DEFAULT_CONTEXT, MAX_CONTEXT)
            self.after = _int(context, "after_limit", DEFAULT_CONTEXT, MAX_CONTEXT)
            include_profile = context.get("include_profile", False)
            if not isinstance(include_profile, bool):
                raise MatrixError("M_INVALID_PARAM", "'include_profile' must be a boolean")
            self.include_profile = include_profile
        include_state = criteria.get("include_state", False)
        if not isinstance(include_state, bool):
            raise MatrixError("M_INVALID_PARAM", "'include_state' must be a boolean")
        self.include_state = include_state
        groupings = _object(criteria, "groupings")
        group_by = groupings.get("group_by", [])
        if not isinstance(group_by, list):
            raise MatrixError("M_INVALID_PARAM", "'group_by' must be a list")
        self.group_by: list[str] = []
        for group in group_by:
            group_key = group.get("key") if isinstance(group, dict) else None
            if group_key != "room_id" and group_key != "sender":
                raise MatrixError("M_INVALID_PARAM", "Groups are by 'room_id' or 'sender'")
            self.group_by.append(str(group_key))

    @property
    def match(self) -> str:
        return " ".join(f'"{w}"*' for w in self.words)

    def wants_type(self, event_type: str) -> bool:
        if self.types is not None and not _type_matches(event_type, self.types):
            return False
        return not _type_matches(event_type, self.not_types)


class _Searcher:
    def __init__(self, user_id: str, criteria: _Criteria) -> None:
        self.user_id = user_id
        self.c = criteria
        self.svc = services()
        self.memberships: dict[str, str] = {}
        self.versions: dict[str, str] = {}
        self.ignored: frozenset[str] = frozenset()

    async def setup(self) -> list[str]:
        self.memberships = await self.svc.rooms.rooms_for_user(self.user_id, ["join", "leave"])
        self.ignored = await ignored_users(self.svc.db, self.user_id)
        rooms = set(self.memberships)
        if self.c.rooms is not None:
            rooms &= set(self.c.rooms)
        rooms -= set(self.c.not_rooms)
        return sorted(rooms)

    async def version(self, room_id: str) -> str:
        if room_id not in self.versions:
            self.versions[room_id] = await self.svc.rooms.room_version(room_id) or "10"
        return self.versions[room_id]

    async def visible(self, room_id: str, event_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        """The events of ``room_id`` among ``event_ids`` the user may see, in
        order: not redacted, not from an ignored user (unless state)."""
        if not event_ids:
            return []
        pdus = await self.svc.rooms.events(event_ids)
        info = await self.svc.rooms.event_info(event_ids)
        facts = await self.svc.db.run_read(visibility_facts_txn, self.user_id, event_ids)
        pairs = [(e, pdus[e]) for e in event_ids if e in pdus]
        allowed = set(filter_visible(self.user_id, pairs, facts, self.memberships.get(room_id)))
        return [
            (e, dict(p))
            for e, p in pairs
            if e in allowed
            and not is_hidden_by_ignore(p, self.ignored)
            and (i := info.get(e)) is not None
            and i.redacted_by is None
        ]

    async def format(self, room_id: str, event_id: str, pdu: dict[str, Any]) -> dict[str, Any]:
        event = client_event(pdu, event_id, await self.version(room_id))
        event.setdefault("room_id", room_id)
        return event


def _parse_token(token: str | None, by_rank: bool) -> tuple[int | None, int | None]:
    """``(cursor, max position)`` of a ``next_batch``; ``(None, None)`` for none."""
    if token is None:
        return None, None
    match = _TOKEN.fullmatch(token)
    if match is None or (match.group(1) == "r") != by_rank:
        raise MatrixError("M_INVALID_PARAM", "Unknown 'next_batch' token")
    return int(match.group(2)), int(match.group(3))


async def _search_room_events(
    user_id: str, criteria: _Criteria, token: str | None
) -> dict[str, Any]:
    svc = services()
    c = criteria
    cursor, max_position = _parse_token(token, c.by_rank)
    empty: dict[str, Any] = {"count": 0, "highlights": [], "results": []}
    if not c.words or c.limit == 0:
        return empty
    searcher = _Searcher(user_id, c)
    rooms = await searcher.setup()
    if not rooms:
        return empty
    await wait_indexed()
    if max_position is None:
        max_position = svc.roomserver.output.position
    offset = cursor or 0
    before = cursor
    kept: list[tuple[search_sql.SearchHit, dict[str, Any]]] = []
    exhausted = False
    chunk = max(2 * c.limit, 20)
    while len(kept) < c.limit and not exhausted:
        hits = await svc.db.run_read(
            partial(
                search_sql.search_txn,
                match=c.match,
                room_ids=rooms,
                keys=c.keys,
                senders=c.senders,
                not_senders=c.not_senders,
                max_position=max_position,
                order_by_rank=c.by_rank,
                before_position=before,
                offset=offset,
                limit=chunk,
            )
        )
        exhausted = len(hits) < chunk
        by_room: dict[str, list[str]] = {}
        for hit in hits:
            by_room.setdefault(hit.room_id, []).append(hit.event_id)
        visible: dict[str, dict[str, Any]] = {}
        for room_id, ids in by_room.items():
            visible.update(dict(await searcher.visible(room_id, ids)))
        for hit in hits:
            offset += 1
            before = hit.position
            pdu = visible.get(hit.event_id)
            if pdu is not None and c.wants_type(hit.type):
                kept.append((hit, pdu))
                if len(kept) == c.limit:
                    exhausted = exhausted and hit is hits[-1]
                    break
    count = await svc.db.run_read(
        partial(
            search_sql.count_txn,
            match=c.match,
            room_ids=rooms,
            keys=c.keys,
            senders=c.senders,
            not_senders=c.not_senders,
            max_position=max_position,
        )
    )
    results = []
    for hit, pdu in kept:
        entry: dict[str, Any] = {
            "rank": -hit.rank,
            "result": await searcher.format(hit.room_id, hit.event_id, pdu),
        }
        if c.context is not None:
            entry["context"] = await _context(searcher, hit, pdu)
        results.append(entry)
    body: dict[str, Any] = {"count": count, "highlights": sorted(set(c.words)), "results": results}
    if not exhausted:
        next_cursor = offset if c.by_rank else before
        body["next_batch"] = f"{'r' if c.by_rank else 't'}{next_cursor}_{max_position}"
    if c.group_by:
        groups: dict[str, dict[str, dict[str, Any]]] = {}
        for key in c.group_by:
            grouped: dict[str, dict[str, Any]] = {}
            for hit, _ in kept:
                value = hit.room_id if key == "room_id" else hit.sender
                group = grouped.setdefault(value, {"results": [], "order": 0})
                group["results"].append(hit.event_id)
            for order, group in enumerate(
                sorted(grouped.values(), key=lambda g: -len(g["results"])), start=1
            ):
                group["order"] = order
                if "next_batch" in body:
                    group["next_batch"] = body["next_batch"]
            groups[key] = grouped
        body["groups"] = groups
    if c.include_state:
        state: dict[str, list[dict[str, Any]]] = {}
        for room_id in sorted({hit.room_id for hit, _ in kept}):
            state_ids = await svc.rooms.current_state(room_id) or {}
            pdus = await svc.rooms.events(state_ids.values())
            state[room_id] = [
                await searcher.format(room_id, state_ids[key], dict(pdus[state_ids[key]]))
                for key in sorted(state_ids)
                if state_ids[key] in pdus
            ]
        body["state"] = state
    return body


async def _context(
    searcher: _Searcher, hit: search_sql.SearchHit, pdu: dict[str, Any]
) -> dict[str, Any]:
    svc = services()
    c = searcher.c
    around: dict[str, Any] = {}
    tokens = {}
    for before, limit, name in (
        (True, c.before, "events_before"),
        (False, c.after, "events_after"),
    ):
        ids: list[tuple[str, int]] = []
        if limit:
            ids = await svc.db.run_read(
                partial(
                    search_sql.room_event_ids_around_txn,
                    room_id=hit.room_id,
                    position=hit.position,
                    before=before,
                    limit=limit * 2 + 5,
                )
            )
        visible = await searcher.visible(hit.room_id, [e for e, _ in ids])
        visible = visible[:limit]
        positions = dict(ids)
        around[name] = [await searcher.format(hit.room_id, e, p) for e, p in visible]
        edge = positions[visible[-1][0]] if visible else hit.position
        tokens[name] = (
            room_token(edge - 1 if before else edge)
            if visible
            else room_token(hit.position if not before else hit.position - 1)
        )
    context: dict[str, Any] = {
        "start": tokens["events_before"],
        "end": tokens["events_after"],
        **around,
    }
    if c.include_profile:
        senders = {pdu.get("sender")} | {
            e.get("sender") for e in around["events_before"] + around["events_after"]
        }
        profiles: dict[str, dict[str, Any]] = {}
        for sender in sorted(s for s in senders if isinstance(s, str)):
            state = await svc.rooms.state_at_event(hit.event_id, keys=[("m.room.member", sender)])
            member_id = (state or {}).get(("m.room.member", sender))
            member = (await svc.rooms.events([member_id])).get(member_id) if member_id else None
            content = member.get("content") if member is not None else None
            profile: dict[str, Any] = {}
            if isinstance(content, Mapping):
                for key in ("displayname", "avatar_url"):
                    if isinstance(content.get(key), str):
                        profile[key] = content[key]
            profiles[sender] = profile
        context["profile_info"] = profiles
    return context


@blueprint.post(f"/_matrix/client/{_PREFIXES}/search")
async def search(prefix: str) -> Response:
    owner = await require_user()
    body = await json_body()
    categories = body.get("search_categories")
    if categories is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'search_categories'")
    if not isinstance(categories, dict):
        raise MatrixError("M_INVALID_PARAM", "'search_categories' must be an object")
    token = request.args.get("next_batch")
    out: dict[str, Any] = {}
    room_events = categories.get("room_events")
    if room_events is not None:
        if not isinstance(room_events, dict):
            raise MatrixError("M_INVALID_PARAM", "'room_events' must be an object")
        criteria = _Criteria(room_events)
        out["room_events"] = await _search_room_events(owner.user_id, criteria, token)
    return json_response({"search_categories": out})
