"""Receipts and read markers (client-server API, "Receipts", "Fully read
markers"): ``POST /rooms/{roomId}/receipt/{receiptType}/{eventId}`` and
``POST /rooms/{roomId}/read_markers``.

* ``m.read`` and ``m.read.private`` receipts, threaded with ``thread_id``
  (``main`` or a thread root's event ID; the event must be in that thread:
  400 otherwise). ``m.fully_read`` sets the room's ``m.fully_read`` account
  data (it takes no ``thread_id``).
* The requester must be joined (403); the room and the event must be known,
  the event client-visible and in the room (404).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from trioserver.accounts import account_data
from trioserver.api.client.room_common import (
    PREFIX,
    check_event_id,
    check_room_id,
    require_joined,
    room_version_of,
)
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.db.receipts import event_position_txn
from trioserver.protocol.errors import MatrixError
from trioserver.sync.receipts import RECEIPT_TYPES
from trioserver.sync.unread import MAIN, thread_of

blueprint = Blueprint("client_receipts", __name__)

FULLY_READ = "m.fully_read"


async def _event_position(room_id: str, event_id: str) -> int:
    check_event_id(event_id)
    position = await services().db.run_read(event_position_txn, room_id, event_id)
    if position is None:
        raise MatrixError("M_NOT_FOUND", "Unknown event")
    return position


async def _check_thread(room_id: str, event_id: str, thread_id: str) -> None:
    """400 unless the event is in ``thread_id`` (spec: the event must be
    related to the thread; a thread root itself is in both)."""
    pdu = (await services().rooms.events([event_id])).get(event_id, {})
    thread = thread_of(pdu, {})
    in_main = thread == MAIN
    if (thread_id == MAIN and not in_main) or (
        thread_id != MAIN and thread != thread_id and event_id != thread_id
    ):
        raise MatrixError("M_INVALID_PARAM", f"The event is not in thread {thread_id!r}")


async def _room_and_user(room_id: str) -> str:
    owner = await require_user()
    check_room_id(room_id)
    await room_version_of(room_id)
    await require_joined(room_id, owner.user_id)
    return owner.user_id


async def _receipt(
    room_id: str, user_id: str, receipt_type: str, event_id: str, thread_id: str | None
) -> None:
    position = await _event_position(room_id, event_id)
    if thread_id is not None:
        await _check_thread(room_id, event_id, thread_id)
    svc = services()
    await svc.receipts.set_receipt(
        room_id, user_id, receipt_type, event_id, position, svc.clock.time_ms(), thread_id
    )


async def _fully_read(room_id: str, user_id: str, event_id: str) -> None:
    await _event_position(room_id, event_id)
    svc = services()
    position = await account_data.put(svc.db, user_id, room_id, FULLY_READ, {"event_id": event_id})
    await svc.hooks.notify(svc.hooks.account_data_changed, user_id, position)


def _thread_id(body: dict[str, Any]) -> str | None:
    if "thread_id" not in body:
        return None
    value = body["thread_id"]
    if not isinstance(value, str) or not value:
        raise MatrixError("M_INVALID_PARAM", "thread_id field must be a non-empty string")
    if value != MAIN and not value.startswith("$"):
        raise MatrixError("M_INVALID_PARAM", "thread_id must be 'main' or an event ID")
    return value


@blueprint.post(f"{PREFIX}/rooms/<roomId>/receipt/<receiptType>/<eventId>")
async def post_receipt(prefix: str, roomId: str, receiptType: str, eventId: str) -> Response:
    user_id = await _room_and_user(roomId)
    if receiptType not in (*RECEIPT_TYPES, FULLY_READ):
        raise MatrixError("M_INVALID_PARAM", f"Unknown receipt type {receiptType[:40]!r}")
    check_event_id(eventId)
    body = await json_body(allow_empty=True)
    thread_id = _thread_id(body)
    if receiptType == FULLY_READ:
        if thread_id is not None:
            raise MatrixError("M_INVALID_PARAM", "m.fully_read takes no thread_id")
        await _fully_read(roomId, user_id, eventId)
    else:
        await _receipt(roomId, user_id, receiptType, eventId, thread_id)
    return json_response({})


@blueprint.post(f"{PREFIX}/rooms/<roomId>/read_markers")
async def post_read_markers(prefix: str, roomId: str) -> Response:
    user_id = await _room_and_user(roomId)
    body = await json_body()
    wanted: dict[str, str] = {}
    for key in (FULLY_READ, *RECEIPT_TYPES):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise MatrixError("M_INVALID_PARAM", f"'{key}' must be an event ID")
        check_event_id(value)
        wanted[key] = value
    for event_id in wanted.values():  # every event checked before anything is stored
        await _event_position(roomId, event_id)
    if FULLY_READ in wanted:
        await _fully_read(roomId, user_id, wanted[FULLY_READ])
    for receipt_type in RECEIPT_TYPES:
        if receipt_type in wanted:
            await _receipt(roomId, user_id, receipt_type, wanted[receipt_type], None)
    return json_response({})
