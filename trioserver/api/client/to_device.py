"""``PUT /sendToDevice/{eventType}/{txnId}`` (spec: ``modules/send_to_device.md``).

Body ``{"messages": {user_id: {device_id or "*": content}}}``; the work is
:func:`trioserver.sync.to_device.send_to_device` (idempotent per device and
transaction ID; local recipients only until federation).
"""

from __future__ import annotations

from collections.abc import Mapping

from quart import Blueprint, Response

from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.protocol.errors import MatrixError
from trioserver.sync.to_device import send_to_device

blueprint = Blueprint("client_to_device", __name__)


@blueprint.put("/_matrix/client/<any(v3, r0):prefix>/sendToDevice/<path:eventType>/<txnId>")
async def put_to_device(prefix: str, eventType: str, txnId: str) -> Response:
    owner = await require_user()
    body = await json_body()
    messages = body.get("messages")
    if not isinstance(messages, Mapping) or not all(
        isinstance(user, str)
        and isinstance(devices, Mapping)
        and all(isinstance(d, str) and isinstance(c, Mapping) for d, c in devices.items())
        for user, devices in messages.items()
    ):
        raise MatrixError(
            "M_BAD_JSON", "'messages' must map user IDs to device IDs to content objects"
        )
    svc = services()
    await send_to_device(
        svc.db,
        svc.notifier,
        server_name=svc.server_name,
        sender=owner.user_id,
        sender_device=owner.device_id,
        event_type=eventType,
        txn_id=txnId,
        messages=messages,
        now_ms=svc.clock.time_ms(),
    )
    return json_response({})
