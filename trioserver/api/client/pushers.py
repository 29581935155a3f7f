"""Pushers (client-server API, "Push Notifications"): ``GET /pushers`` and
``POST /pushers/set``.

Pushers are stored and listed; delivering notifications to HTTP push
gateways (and email) is not done yet.

Checks (spec ``POST /pushers/set``): ``pushkey`` (at most 512 bytes) and
``app_id`` (at most 64 characters) always; ``kind`` ``http`` or ``email``
(``null`` deletes the pusher); for a pusher, ``app_display_name``,
``device_display_name``, ``lang`` and ``data`` (an object; for ``http``,
``data.url`` an HTTPS URL with the path ``/_matrix/push/v1/notify``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from quart import Blueprint, Response

from trioserver.api.client.params import optional_bool, optional_str, required_str
from trioserver.api.client.room_common import PREFIX
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.db import pushers as sql
from trioserver.protocol.errors import MatrixError

blueprint = Blueprint("client_pushers", __name__)

KINDS = ("http", "email")
NOTIFY_PATH = "/_matrix/push/v1/notify"


def pusher_as_api(pusher: sql.Pusher) -> dict[str, Any]:
    out: dict[str, Any] = {
        "pushkey": pusher.pushkey,
        "kind": pusher.kind,
        "app_id": pusher.app_id,
        "app_display_name": pusher.app_display_name,
        "device_display_name": pusher.device_display_name,
        "lang": pusher.lang,
        "data": pusher.data,
    }
    if pusher.profile_tag is not None:
        out["profile_tag"] = pusher.profile_tag
    return out


@blueprint.get(f"{PREFIX}/pushers")
async def get_pushers(prefix: str) -> Response:
    owner = await require_user(allow_guest=False)
    found = await services().db.run_read(sql.pushers_txn, owner.user_id)
    return json_response({"pushers": [pusher_as_api(p) for p in found]})


def _check_data(kind: str, data: Any) -> dict[str, Any]:
    if data is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'data'")
    if not isinstance(data, dict):
        raise MatrixError("M_INVALID_PARAM", "'data' must be an object")
    if kind == "http":
        url = data.get("url")
        if not isinstance(url, str):
            raise MatrixError("M_INVALID_PARAM", "'data.url' is required for http pushers")
        try:
            parts = urlsplit(url)
        except ValueError:
            raise MatrixError("M_INVALID_PARAM", "'data.url' is not a URL") from None
        if parts.scheme != "https" or not parts.netloc or parts.path != NOTIFY_PATH:
            raise MatrixError(
                "M_INVALID_PARAM", f"'data.url' must be an HTTPS URL with the path {NOTIFY_PATH}"
            )
    fmt = data.get("format")
    if fmt is not None and fmt != "event_id_only":
        raise MatrixError("M_INVALID_PARAM", "'data.format' must be 'event_id_only'")
    return data


@blueprint.post(f"{PREFIX}/pushers/set")
async def set_pusher(prefix: str) -> Response:
    owner = await require_user(allow_guest=False)
    body = await json_body()
    pushkey = required_str(body, "pushkey")
    app_id = required_str(body, "app_id", max_length=64)
    if len(pushkey.encode("utf-8")) > 512:
        raise MatrixError("M_INVALID_PARAM", "'pushkey' is longer than 512 bytes")
    if "kind" not in body:
        raise MatrixError("M_MISSING_PARAM", "Missing 'kind'")
    kind = body["kind"]
    db = services().db
    if kind is None:
        await db.run_write(sql.delete_pusher_txn, owner.user_id, app_id, pushkey)
        return json_response({})
    if kind not in KINDS:
        raise MatrixError("M_INVALID_PARAM", f"'kind' must be one of {', '.join(KINDS)} or null")
    pusher = sql.Pusher(
        user_id=owner.user_id,
        app_id=app_id,
        pushkey=pushkey,
        kind=kind,
        app_display_name=required_str(body, "app_display_name", max_length=255),
        device_display_name=required_str(body, "device_display_name", max_length=255),
        profile_tag=optional_str(body, "profile_tag", max_length=255),
        lang=required_str(body, "lang", max_length=64),
        data=_check_data(kind, body.get("data")),
        created_ts=services().clock.time_ms(),
    )
    append = optional_bool(body, "append")
    await db.run_write(lambda conn: sql.set_pusher_txn(conn, pusher, append=append))
    return json_response({})
