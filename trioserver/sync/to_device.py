"""Send-to-device messaging (spec: ``modules/send_to_device.md``,
``PUT /sendToDevice/{eventType}/{txnId}``).

* Idempotent per sending device and transaction ID: a repeat stores nothing.
* ``*`` as device ID means every device of the user.
* Only local recipients until federation exists: messages for other
  servers are dropped with a log line.
* Stored per recipient device at a to-device stream position (one write
  transaction); after commit every recipient is woken.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

from trioserver.db import Database
from trioserver.db import to_device as sql
from trioserver.sync.notifier import Notifier

log = logging.getLogger(__name__)


def _server_of(user_id: str) -> str:
    return user_id.partition(":")[2]


async def send_to_device(
    db: Database,
    notifier: Notifier,
    *,
    server_name: str,
    sender: str,
    sender_device: str,
    event_type: str,
    txn_id: str,
    messages: Mapping[str, Mapping[str, Any]],
    now_ms: int,
) -> None:
    """Store and deliver ``messages`` (``{user_id: {device_id or "*": content}}``)."""
    local: dict[str, Mapping[str, Any]] = {}
    for user_id, devices in messages.items():
        if _server_of(user_id) != server_name:
            log.info(
                "to-device %s from %s to remote %s dropped (no federation)",
                event_type,
                sender,
                user_id,
            )
            continue
        local[user_id] = devices

    def txn(conn: sqlite3.Connection) -> tuple[int, set[str]] | None:
        if not sql.claim_txn_id_txn(conn, sender, sender_device, txn_id, now_ms):
            return None
        rows: list[tuple[str, str, str]] = []
        for user_id, devices in local.items():
            known = sql.device_ids_txn(conn, user_id)
            for device_id, content in devices.items():
                targets = known if device_id == "*" else [d for d in known if d == device_id]
                text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
                rows.extend((user_id, target, text) for target in targets)
        position = sql.add_messages_txn(conn, sender, event_type, rows)
        return position, {user for user, _, _ in rows}

    done = await db.run_write(txn)
    if done is not None and done[1]:
        notifier.advance("to_device", done[0], done[1])
