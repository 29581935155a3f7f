"""Publishing our server keys (server-server API, "Publishing Keys":
``GET /_matrix/key/v2/server``)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from trioserver.api.context import services
from trioserver.api.http import json_response
from trioserver.protocol.base64 import encode_base64
from trioserver.protocol.signing import sign_json

blueprint = Blueprint("keys", __name__)

#: How long remote servers may cache our key response.
KEY_VALIDITY_MS = 24 * 60 * 60 * 1000


def server_keys_response() -> dict[str, Any]:
    svc = services()
    keys = svc.signing_keys
    body: dict[str, Any] = {
        "server_name": svc.server_name,
        "valid_until_ts": svc.clock.time_ms() + KEY_VALIDITY_MS,
        "verify_keys": {keys.key_id: {"key": encode_base64(keys.signing_key.verify_key.encode())}},
        "old_verify_keys": {
            key_id: {"key": encode_base64(verify_key.encode()), "expired_ts": expired_ts}
            for key_id, (verify_key, expired_ts) in keys.old_verify_keys.items()
        },
    }
    return sign_json(body, svc.server_name, keys.key_id, keys.signing_key)


@blueprint.get("/_matrix/key/v2/server")
@blueprint.get("/_matrix/key/v2/server/<key_id>")
async def server_keys(key_id: str | None = None) -> Response:
    return json_response(server_keys_response())
