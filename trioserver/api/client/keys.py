"""End-to-end key management (client-server API, "Key management API",
"Cross-signing"): ``POST /keys/upload``, ``/keys/query``, ``/keys/claim``,
``/keys/device_signing/upload``, ``/keys/signatures/upload``.

``GET /keys/changes`` waits for sync tokens (the device-list stream it
reads is :func:`trioserver.db.e2e_keys.device_list_changes_txn`).
"""

from __future__ import annotations

from quart import Blueprint, Response

from trioserver.api.client.uia import PASSWORD_FLOWS, user_interactive_auth
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.e2ee.cross_signing import parse_upload
from trioserver.e2ee.keys import E2eKeys, UiaRequired

blueprint = Blueprint("client_keys", __name__)

_PREFIXES = "<any(v3, r0):prefix>"


def _keys() -> E2eKeys:
    svc = services()
    return E2eKeys(svc.db, svc.clock, svc.server_name, svc.hooks.device_list_changed)


@blueprint.post(f"/_matrix/client/{_PREFIXES}/keys/upload")
async def upload_keys(prefix: str) -> Response:
    owner = await require_user()
    body = await json_body()
    counts = await _keys().upload(owner.user_id, owner.device_id, body)
    return json_response({"one_time_key_counts": counts})


@blueprint.post(f"/_matrix/client/{_PREFIXES}/keys/query")
async def query_keys(prefix: str) -> Response:
    owner = await require_user()
    body = await json_body()
    return json_response(await _keys().query(owner.user_id, body))


@blueprint.post(f"/_matrix/client/{_PREFIXES}/keys/claim")
async def claim_keys(prefix: str) -> Response:
    await require_user()
    body = await json_body()
    return json_response(await _keys().claim(body))


@blueprint.post(f"/_matrix/client/{_PREFIXES}/keys/device_signing/upload")
async def upload_cross_signing_keys(prefix: str) -> Response:
    """UIA (password) unless the user has no master key yet or the request
    holds only the keys already stored (spec v1.11)."""
    owner = await require_user(allow_guest=False)
    body = await json_body()
    uploaded = parse_upload(body, owner.user_id)
    keys = _keys()
    if not await keys.cross_signing_needs_uia(owner.user_id, uploaded):
        try:
            await keys.upload_cross_signing_keys(owner.user_id, uploaded, authenticated=False)
            return json_response({})
        except UiaRequired:
            pass  # keys were stored since we looked: UIA after all
    async with user_interactive_auth(body, PASSWORD_FLOWS, user_id=owner.user_id):
        await keys.upload_cross_signing_keys(owner.user_id, uploaded, authenticated=True)
    return json_response({})


@blueprint.post(f"/_matrix/client/{_PREFIXES}/keys/signatures/upload")
async def upload_signatures(prefix: str) -> Response:
    owner = await require_user(allow_guest=False)
    body = await json_body()
    failures = await _keys().upload_signatures(owner.user_id, body)
    return json_response({"failures": failures})
