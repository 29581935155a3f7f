"""Read receipts (client-server API, "Receipts", with threaded and private
receipts), stored in ``receipts`` with their own stream.

Contract:

* :meth:`Receipts.set_receipt` stores a receipt (after the caller checked
  the room, the event and the membership), then advances the ``receipts``
  stream: an ``m.read`` receipt wakes the room's joined members, an
  ``m.read.private`` one only its owner (spec: "Private read receipts").
* A receipt never moves backwards: one for an event before the stored one
  (of the same type and thread) is ignored.
* :meth:`Receipts.receipts_for_sync` builds each room's ``m.receipt``
  ephemeral event from the receipts set in ``(from, to]`` (everything for
  ``from_position`` 0); others' ``m.read.private`` receipts are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trioserver.db import Database
from trioserver.db import receipts as sql
from trioserver.db.roomserver_current import members_txn
from trioserver.sync.notifier import Notifier

READ = "m.read"
READ_PRIVATE = "m.read.private"
RECEIPT_TYPES = (READ, READ_PRIVATE)


class Receipts:
    def __init__(self, db: Database, notifier: Notifier, position: int = 0) -> None:
        self._db = db
        self._notifier = notifier
        self.position = position
        notifier.advance("receipts", position, ())

    @classmethod
    async def open(cls, db: Database, notifier: Notifier) -> Receipts:
        return cls(db, notifier, await db.run_read(sql.current_position_txn))

    async def set_receipt(
        self,
        room_id: str,
        user_id: str,
        receipt_type: str,
        event_id: str,
        event_position: int,
        ts: int,
        thread_id: str | None = None,
    ) -> int | None:
        """Store the receipt; its stream position (None: it did not move)."""
        position = await self._db.run_write(
            sql.set_receipt_txn,
            room_id,
            user_id,
            receipt_type,
            thread_id or sql.UNTHREADED,
            event_id,
            event_position,
            ts,
        )
        if position is None:
            return None
        self.position = max(self.position, position)
        if receipt_type == READ_PRIVATE:
            users: Iterable[str] = (user_id,)
        else:
            users = await self._db.run_read(members_txn, room_id)
        self._notifier.advance("receipts", position, users)
        return position

    async def receipts_for_sync(
        self, user_id: str, room_ids: Iterable[str], from_position: int, to_position: int
    ) -> dict[str, dict[str, Any]]:
        """``{room_id: m.receipt event}`` for the rooms with receipts set in
        ``(from_position, to_position]`` that ``user_id`` may see."""
        rooms = list(room_ids)
        if not rooms or to_position <= from_position:
            return {}
        if from_position:  # what changed since the last sync: a small read, at once
            found = self._db.read_now(sql.receipts_changed_txn, rooms, from_position, to_position)
        else:
            found = await self._db.run_read(
                sql.receipts_changed_txn, rooms, from_position, to_position
            )
        out: dict[str, dict[str, Any]] = {}
        for receipt in found:
            if receipt.receipt_type == READ_PRIVATE and receipt.user_id != user_id:
                continue
            event = out.setdefault(receipt.room_id, {"type": "m.receipt", "content": {}})
            entry: dict[str, Any] = {"ts": receipt.ts}
            if receipt.thread_id:
                entry["thread_id"] = receipt.thread_id
            by_type = event["content"].setdefault(receipt.event_id, {})
            by_type.setdefault(receipt.receipt_type, {})[receipt.user_id] = entry
        return out
