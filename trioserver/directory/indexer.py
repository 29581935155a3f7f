"""The directory indexer: follows the roomserver's output stream and keeps
the derived tables up to date (``room_summaries``, ``space_children``,
``user_directory*``, ``event_search*``).

Contract:

* Each batch of output entries is applied in one write transaction together
  with the stream position reached, so after a restart the indexer resumes
  exactly where it stopped (nothing skipped, nothing applied twice).
* Current state is never recomputed: an entry's ``adds_state`` and
  ``removes_state`` say which state events to apply (a removed key whose
  replacement is not among the added events is cleared).
* A redaction applied by the roomserver removes its target from the search
  index. Entries read back from storage do not say whether the redaction
  applied; the indexer asks the database then.
* The output stream reaches the indexer as an object (:class:`OutputSource`)
  and PDUs through a loader function, so this package needs no roomserver.
* A batch that fails is logged and skipped (derived data only): the indexer
  never takes the server down.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import trio

from trioserver.db import Database
from trioserver.db import directory as directory_sql
from trioserver.db import search as search_sql
from trioserver.db import user_directory as users_sql

log = logging.getLogger(__name__)

PDU = Mapping[str, Any]
EventLoader = Callable[[Iterable[str]], Awaitable[Mapping[str, PDU]]]

#: ``(event type, state key)`` of state that fills a ``room_summaries`` column,
#: with the content key holding the value.
_SUMMARY_STATE: dict[str, tuple[str, str]] = {
    "m.room.name": ("name", "name"),
    "m.room.topic": ("topic", "topic"),
    "m.room.canonical_alias": ("canonical_alias", "alias"),
    "m.room.avatar": ("avatar_url", "url"),
    "m.room.join_rules": ("join_rule", "join_rule"),
    "m.room.history_visibility": ("history_visibility", "history_visibility"),
    "m.room.guest_access": ("guest_access", "guest_access"),
    "m.room.create": ("room_type", "type"),
    "m.room.encryption": ("encryption", "algorithm"),
}

#: Searchable event types and the content key indexed.
_SEARCHABLE = {t: k for k, t in search_sql.KEY_TYPES.items()}


class OutputEntry(Protocol):
    """What the indexer reads of one output-stream entry."""

    @property
    def position(self) -> int: ...
    @property
    def room_id(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def room_version(self) -> str: ...
    @property
    def pdu(self) -> dict[str, Any]: ...
    @property
    def adds_state(self) -> tuple[str, ...]: ...
    @property
    def removes_state(self) -> tuple[str, ...]: ...
    @property
    def redacts(self) -> str | None: ...


class OutputSource(Protocol):
    @property
    def position(self) -> int: ...

    def follow(self, after: int, limit: int = ...) -> AsyncIterator[Sequence[OutputEntry]]: ...


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _redaction_target(pdu: PDU) -> str | None:
    content = pdu.get("content")
    inner = content.get("redacts") if isinstance(content, Mapping) else None
    return _str(inner) or _str(pdu.get("redacts"))


def _apply_state_txn(
    conn: sqlite3.Connection, room_id: str, event_id: str, key: tuple[str, str], pdu: PDU | None
) -> bool:
    """Apply one current-state key (``pdu`` None: the key was removed).
    Returns whether the room's joined members may have changed."""
    event_type, state_key = key
    content = pdu.get("content") if pdu is not None else None
    content = content if isinstance(content, Mapping) else {}
    if event_type == "m.room.member":
        joined = pdu is not None and content.get("membership") == "join"
        users_sql.set_joined_txn(conn, room_id, state_key, joined)
        if joined:
            users_sql.set_user_profile_txn(
                conn, state_key, _str(content.get("displayname")), _str(content.get("avatar_url"))
            )
        return True
    if event_type == "m.space.child":
        via = content.get("via")
        valid = isinstance(via, list) and bool(via) and all(isinstance(v, str) for v in via)
        directory_sql.set_space_child_txn(
            conn, room_id, state_key, event_id if pdu is not None and valid else None
        )
        return False
    if state_key == "" and event_type in _SUMMARY_STATE:
        column, content_key = _SUMMARY_STATE[event_type]
        directory_sql.set_summary_field_txn(conn, room_id, column, _str(content.get(content_key)))
    return False


def _apply_batch_txn(
    conn: sqlite3.Connection,
    name: str,
    batch: Sequence[OutputEntry],
    pdus: Mapping[str, PDU],
) -> None:
    recount: set[str] = set()
    for entry in batch:
        room_id = entry.room_id
        directory_sql.ensure_summary_txn(conn, room_id, entry.room_version)
        pdu = entry.pdu
        event_type = _str(pdu.get("type")) or ""
        content = pdu.get("content")
        content = content if isinstance(content, Mapping) else {}
        # Search index.
        search_key = _SEARCHABLE.get(event_type)
        value = _str(content.get(search_key.split(".", 1)[1])) if search_key else None
        if search_key is not None and value:
            ts = pdu.get("origin_server_ts")
            search_sql.index_event_txn(
                conn,
                position=entry.position,
                event_id=entry.event_id,
                room_id=room_id,
                sender=_str(pdu.get("sender")) or "",
                event_type=event_type,
                key=search_key,
                value=value,
                origin_server_ts=ts if isinstance(ts, int) else 0,
            )
        if event_type == "m.room.redaction":
            target = entry.redacts
            if target is None:
                candidate = _redaction_target(pdu)
                if candidate is not None and search_sql.applied_redaction_target_txn(
                    conn, entry.event_id, candidate
                ):
                    target = candidate
            if target is not None:
                search_sql.unindex_event_txn(conn, target)
        # Current state.
        added: dict[tuple[str, str], str] = {}
        for state_id in entry.adds_state:
            state_pdu = pdus.get(state_id)
            key = _state_key_of(state_pdu)
            if key is not None:
                added[key] = state_id
        removed: dict[tuple[str, str], str] = {}
        for state_id in entry.removes_state:
            key = _state_key_of(pdus.get(state_id))
            if key is not None and key not in added:
                removed[key] = state_id
        for key, state_id in removed.items():
            if _apply_state_txn(conn, room_id, state_id, key, None):
                recount.add(room_id)
        for key, state_id in added.items():
            if _apply_state_txn(conn, room_id, state_id, key, pdus[state_id]):
                recount.add(room_id)
    for room_id in recount:
        directory_sql.recount_joined_txn(conn, room_id)
    directory_sql.set_stream_position_txn(conn, name, batch[-1].position)


def _state_key_of(pdu: PDU | None) -> tuple[str, str] | None:
    if pdu is None:
        return None
    event_type, state_key = pdu.get("type"), pdu.get("state_key")
    if isinstance(event_type, str) and isinstance(state_key, str):
        return event_type, state_key
    return None


class DirectoryIndexer:
    """The service keeping the directory and search tables up to date."""

    def __init__(
        self,
        db: Database,
        output: OutputSource,
        load_events: EventLoader,
        *,
        name: str = "directory",
        batch_size: int = 500,
    ) -> None:
        self._db = db
        self._output = output
        self._load_events = load_events
        self._name = name
        self._batch_size = batch_size
        self._position = 0
        self._advanced = trio.Event()
        self._failed_batches = 0

    @property
    def position(self) -> int:
        """The last output-stream position applied."""
        return self._position

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The service: resume from the stored position, then follow the stream."""
        self._set_position(await self._db.run_read(directory_sql.stream_position_txn, self._name))
        task_status.started()
        async for batch in self._output.follow(self._position, self._batch_size):
            if not batch:
                continue
            try:
                await self._apply(batch)
            except Exception:
                self._failed_batches += 1
                log.exception(
                    "directory indexer: skipping positions %d..%d",
                    batch[0].position,
                    batch[-1].position,
                )
                await self._db.run_write(
                    directory_sql.set_stream_position_txn, self._name, batch[-1].position
                )
            self._set_position(batch[-1].position)

    async def _apply(self, batch: Sequence[OutputEntry]) -> None:
        state_ids = {i for entry in batch for i in (*entry.adds_state, *entry.removes_state)}
        in_batch = {entry.event_id: entry.pdu for entry in batch}
        pdus: dict[str, PDU] = {i: in_batch[i] for i in state_ids if i in in_batch}
        missing = [i for i in state_ids if i not in pdus]
        if missing:
            pdus.update(await self._load_events(missing))
        await self._db.run_write(_apply_batch_txn, self._name, list(batch), pdus, background=True)

    def _set_position(self, position: int) -> None:
        self._position = position
        self._advanced.set()
        self._advanced = trio.Event()

    async def wait_caught_up(self, position: int) -> None:
        """Wait until every output entry up to ``position`` is applied."""
        while self._position < position:
            await self._advanced.wait()

    async def wait_caught_up_with_stream(self) -> None:
        """Wait until the entries published so far are applied (read-your-writes)."""
        await self.wait_caught_up(self._output.position)

    def statistics(self) -> dict[str, int]:
        return {"position": self._position, "failed_batches": self._failed_batches}
