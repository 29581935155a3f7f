"""``GET /sync`` (spec: client-server API, "Syncing"; ``sync.yaml``) and the
wiring of sync into the services (:func:`install_sync`).

Query parameters: ``since`` (a ``next_batch``; malformed or unknown: ``400
M_INVALID_PARAM``), ``timeout`` (ms, default 0), ``filter`` (a filter ID or
inline JSON starting with ``{``), ``full_state``, ``set_presence``
(``online``, ``offline``, ``unavailable``). The long-poll itself is
:meth:`trioserver.sync.service.SyncService.sync`; a client that goes away
cancels the handler and costs nothing further.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from trioserver.api.context import Services, services
from trioserver.api.http import json_response, require_user
from trioserver.db import filters as filters_sql
from trioserver.protocol.errors import MatrixError
from trioserver.rooms.tokens import InvalidToken, SyncToken
from trioserver.sync.device_lists import wake_for_device_list_change
from trioserver.sync.filters import (
    FilterError,
    SyncFilter,
    parse_sync_filter_json,
)
from trioserver.sync.service import SyncRequest, SyncService
from trioserver.sync.sources import SyncSources

blueprint = Blueprint("client_sync", __name__)

_PRESENCE = ("online", "offline", "unavailable")
#: The longest long-poll honoured (ms).
MAX_TIMEOUT_MS = 3_600_000


def _bool_param(name: str) -> bool:
    value = request.args.get(name)
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise MatrixError("M_INVALID_PARAM", f"'{name}' must be 'true' or 'false'")


def _timeout() -> int:
    value = request.args.get("timeout")
    if value is None or value == "":
        return 0
    try:
        timeout = int(value)
    except ValueError:
        raise MatrixError("M_INVALID_PARAM", "'timeout' must be an integer") from None
    return min(max(timeout, 0), MAX_TIMEOUT_MS)


async def load_filter(svc: Services, user_id: str, value: str | None) -> SyncFilter:
    """The filter a ``filter`` parameter names (ID) or holds (inline JSON)."""
    if value is None or value == "":
        return SyncFilter()
    try:
        if value.lstrip().startswith("{"):
            return parse_sync_filter_json(value)
        text = None
        if value.isdigit() and len(value) < 18:
            text = svc.db.read_now(filters_sql.get_filter_txn, user_id, int(value))
        if text is None:
            raise MatrixError("M_INVALID_PARAM", f"Unknown filter {value[:40]!r}")
        return parse_sync_filter_json(text)
    except FilterError as exc:
        raise MatrixError("M_INVALID_PARAM", f"Invalid filter: {exc}") from None


@blueprint.get("/_matrix/client/<any(v3, r0):prefix>/sync")
async def sync(prefix: str) -> Response:
    owner = await require_user()
    svc = services()
    if svc.sync is None:
        raise MatrixError("M_UNRECOGNIZED", "Sync is not available", status=404)
    since_text = request.args.get("since")
    since = None
    if since_text:
        try:
            since = SyncToken.parse(since_text)
        except InvalidToken:
            raise MatrixError("M_INVALID_PARAM", "Unknown 'since' token") from None
    set_presence = request.args.get("set_presence")
    if set_presence is not None and set_presence not in _PRESENCE:
        raise MatrixError(
            "M_INVALID_PARAM", "'set_presence' must be online, offline or unavailable"
        )
    sync_request = SyncRequest(
        user_id=owner.user_id,
        device_id=owner.device_id,
        since=since,
        timeout_ms=_timeout(),
        sync_filter=await load_filter(svc, owner.user_id, request.args.get("filter")),
        full_state=_bool_param("full_state"),
        set_presence=set_presence,
        use_state_after=_bool_param("use_state_after"),
    )
    return json_response(await svc.sync.sync(sync_request))


def install_sync(svc: Services) -> None:
    """Hand sync its ephemeral sources and wire the hooks that wake it
    (account data changes, device list changes)."""
    sync_service: SyncService | None = svc.sync
    if sync_service is None:
        return
    sync_service.sources = SyncSources(
        typing=svc.typing, receipts=svc.receipts, presence=svc.presence, unread=svc.unread
    )
    notifier = svc.notifier

    async def account_data_changed(user_id: str, stream_pos: int) -> None:
        notifier.advance("account_data", stream_pos, [user_id])

    async def device_list_changed(user_id: str) -> None:
        await wake_for_device_list_change(svc.db, notifier, user_id)

    svc.hooks.account_data_changed = account_data_changed
    svc.hooks.device_list_changed = device_list_changed
    svc.accounts.devices.on_deleted = device_list_changed
