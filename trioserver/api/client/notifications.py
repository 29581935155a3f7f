"""``GET /notifications`` (client-server API, "Listing Notifications"): the
events that notified the user, newest first, built by evaluating push rules
over the user's joined rooms (nothing is stored per notification; see
:mod:`trioserver.sync.unread`).

``from`` is the ``next_token`` of a previous page (an opaque stream
position; anything else is 400), ``limit`` 1-100 (default 20),
``only=highlight`` keeps highlights only.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from trioserver.api.client.room_common import PREFIX
from trioserver.api.context import services
from trioserver.api.http import json_response, require_user
from trioserver.protocol.errors import MatrixError
from trioserver.rooms.client_format import client_event

blueprint = Blueprint("client_notifications", __name__)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def _int_param(name: str, text: str | None, default: int | None) -> int | None:
    if text is None:
        return default
    if not text.isdigit() or len(text) > 18:
        raise MatrixError("M_INVALID_PARAM", f"'{name}' must be a non-negative integer")
    return int(text)


@blueprint.get(f"{PREFIX}/notifications")
async def get_notifications(prefix: str) -> Response:
    owner = await require_user(allow_guest=False)
    before = _int_param("from", request.args.get("from"), None)
    limit = _int_param("limit", request.args.get("limit"), DEFAULT_LIMIT) or DEFAULT_LIMIT
    only = request.args.get("only")
    svc = services()
    found, next_position = await svc.unread.notifications(
        owner.user_id, before, min(limit, MAX_LIMIT), only_highlight=only == "highlight"
    )
    versions: dict[str, str] = {}
    items: list[dict[str, Any]] = []
    for item in found:
        if item.room_id not in versions:
            versions[item.room_id] = await svc.rooms.room_version(item.room_id) or "10"
        event = client_event(
            {**item.pdu, "room_id": item.room_id}, item.event_id, versions[item.room_id]
        )
        ts = item.pdu.get("origin_server_ts")
        items.append(
            {
                "actions": item.actions,
                "event": event,
                "read": item.read,
                "room_id": item.room_id,
                "ts": ts if isinstance(ts, int) else 0,
            }
        )
    body: dict[str, Any] = {"notifications": items}
    if next_position is not None:
        body["next_token"] = str(next_position)
    return json_response(body)
