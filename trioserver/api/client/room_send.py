"""Sending events: ``PUT /rooms/{roomId}/send/{eventType}/{txnId}`` and
``PUT /rooms/{roomId}/redact/{eventId}/{txnId}`` (spec: "Sending events to
a room", "Redactions", "Transaction identifiers").

A transaction ID is scoped to the device and the request path: a retry
(also concurrent, also after a crash) answers the first event's ID and never
stores a second event: the roomserver records the transaction in the same
commit as the event (see :mod:`trioserver.db.room_txns`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from quart import Blueprint, Response

from trioserver.api.client.relations import wait_until_indexed
from trioserver.api.client.room_common import (
    PREFIX,
    check_event_content,
    check_event_id,
    check_room_id,
    optional_reason,
    require_joined,
    room_version_of,
    send_local,
)
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.api.ratelimit import rate_limit
from trioserver.db.accounts import TokenOwner
from trioserver.db.relations import annotation_exists_txn
from trioserver.db.room_txns import recorded_event_txn
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.power_levels import PowerLevels, user_power_level
from trioserver.protocol.room_versions import room_version
from trioserver.roomserver.inputs import TransactionKey

blueprint = Blueprint("client_room_send", __name__)


async def send_with_txn(
    owner: TokenOwner,
    scope: str,
    txn_id: str,
    send: Callable[[TransactionKey], Awaitable[str]],
) -> str:
    """Run ``send(key)`` once per (device, scope, txn ID) and answer its event ID.

    The roomserver records the key in the event's own commit and checks it in
    the room's worker before building, so concurrent retries (which the worker
    serializes) and retries after a crash all get the first event's ID.
    """
    key = TransactionKey(owner.user_id, owner.device_id, scope, txn_id)
    done = services().db.read_now(recorded_event_txn, owner.user_id, owner.device_id, scope, txn_id)
    if done is not None:
        return done
    return await send(key)


def _check_txn_id(txn_id: str) -> None:
    if not txn_id or len(txn_id.encode("utf-8", "surrogatepass")) > 255:
        raise MatrixError("M_INVALID_PARAM", "Invalid transaction ID")


@blueprint.put(f"{PREFIX}/rooms/<roomId>/send/<eventType>/<txnId>")
async def send_message(prefix: str, roomId: str, eventType: str, txnId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    _check_txn_id(txnId)
    body = await json_body()
    content = check_event_content(body)
    rate_limit("message", user_id=owner.user_id)

    async def send(key: TransactionKey) -> str:
        await require_joined(roomId, owner.user_id)
        await _check_relation(owner.user_id, eventType, content)
        return await send_local(roomId, owner.user_id, eventType, content, transaction=key)

    event_id = await send_with_txn(owner, f"send\x1f{roomId}\x1f{eventType}", txnId, send)
    return json_response({"event_id": event_id})


@blueprint.put(f"{PREFIX}/rooms/<roomId>/redact/<eventId>/<txnId>")
async def redact_event(prefix: str, roomId: str, eventId: str, txnId: str) -> Response:
    owner = await require_user()
    check_room_id(roomId)
    check_event_id(eventId)
    _check_txn_id(txnId)
    body = await json_body(allow_empty=True)
    reason = optional_reason(body)
    content = check_event_content({"reason": reason} if reason is not None else {})
    rate_limit("message", user_id=owner.user_id)

    async def send(key: TransactionKey) -> str:
        await require_joined(roomId, owner.user_id)
        await _may_redact(roomId, owner.user_id, eventId)
        return await send_local(
            roomId, owner.user_id, "m.room.redaction", content, redacts=eventId, transaction=key
        )

    event_id = await send_with_txn(owner, f"redact\x1f{roomId}\x1f{eventId}", txnId, send)
    return json_response({"event_id": event_id})


async def _check_relation(sender: str, event_type: str, content: Mapping[str, Any]) -> None:
    """The send-time rules on relations: no second identical annotation
    (``M_DUPLICATE_ANNOTATION``, spec "Avoiding duplicate annotations"), no
    thread started from an event that itself relates to another (400
    ``M_UNKNOWN``, spec "Validation of m.thread relationships")."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, Mapping):
        return
    parent = relates.get("event_id")
    if not isinstance(parent, str):
        return
    rel_type = relates.get("rel_type")
    svc = services()
    if rel_type == "m.annotation" and isinstance(relates.get("key"), str):
        await wait_until_indexed()
        if await svc.db.run_read(annotation_exists_txn, parent, sender, event_type, relates["key"]):
            raise MatrixError("M_DUPLICATE_ANNOTATION", "You already sent this annotation")
    elif rel_type == "m.thread":
        root = (await svc.rooms.events([parent])).get(parent)
        root_content = root.get("content") if root is not None else None
        if isinstance(root_content, Mapping) and "m.relates_to" in root_content:
            raise MatrixError(
                "M_UNKNOWN", "A thread cannot start from an event with a relation", status=400
            )


async def _may_redact(room_id: str, user_id: str, event_id: str) -> None:
    """Spec "Redactions": a user may redact their own events, or others' with
    the ``redact`` power level (also enforced when the redaction is applied)."""
    svc = services()
    target = (await svc.rooms.events([event_id])).get(event_id)
    if target is not None and target.get("sender") == user_id:
        return
    version = await room_version_of(room_id)
    state = await svc.rooms.current_state_events(
        room_id, [("m.room.create", ""), ("m.room.power_levels", "")]
    )
    state = state or {}
    create = state.get(("m.room.create", ""), {})
    power = state.get(("m.room.power_levels", ""))
    needed = PowerLevels.from_event(power, room_version(version)).redact
    if user_power_level(user_id, power, create, version) < needed:
        raise MatrixError("M_FORBIDDEN", "You may not redact other users' events")
