"""Filters (spec: client-server API, "Filtering"; ``filter.yaml``):
``POST /user/{userId}/filter`` and ``GET /user/{userId}/filter/{filterId}``.

A user reads and writes only their own filters (``403 M_FORBIDDEN``); an
unknown filter is ``404 M_NOT_FOUND``; a malformed one ``400
M_INVALID_PARAM`` (``M_BAD_JSON`` when the body is not a JSON object).
The definition is validated, then stored as given (canonical JSON).
"""

from __future__ import annotations

import json

from quart import Blueprint, Response

from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.db import filters as filters_sql
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.json import canonical_json
from trioserver.sync.filters import FilterError, parse_sync_filter

blueprint = Blueprint("client_filters", __name__)

_USER = "/_matrix/client/<any(v3, r0):prefix>/user/<userId>"


async def _own(user_id: str) -> str:
    owner = await require_user()
    if owner.user_id != user_id:
        raise MatrixError("M_FORBIDDEN", "You cannot access another user's filters")
    return owner.user_id


@blueprint.post(f"{_USER}/filter")
async def create_filter(prefix: str, userId: str) -> Response:
    user_id = await _own(userId)
    body = await json_body()
    try:
        parse_sync_filter(body)
    except FilterError as exc:
        raise MatrixError("M_INVALID_PARAM", f"Invalid filter: {exc}") from None
    text = canonical_json(body).decode()
    filter_id = await services().db.run_write(filters_sql.create_filter_txn, user_id, text)
    return json_response({"filter_id": str(filter_id)})


@blueprint.get(f"{_USER}/filter/<filterId>")
async def get_filter(prefix: str, userId: str, filterId: str) -> Response:
    user_id = await _own(userId)
    text = None
    if filterId.isdigit() and len(filterId) < 18:
        text = await services().db.run_read(filters_sql.get_filter_txn, user_id, int(filterId))
    if text is None:
        raise MatrixError("M_NOT_FOUND", "No such filter")
    return json_response(json.loads(text))
