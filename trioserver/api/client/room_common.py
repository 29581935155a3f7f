"""What the room endpoints share: path checks, event content checks, sending
a local event and answering its verdict, and serving events to clients."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trioserver.api.context import services
from trioserver.db.directory import get_alias_txn
from trioserver.db.replaced_state import Replaced, replaced_states_txn
from trioserver.db.room_txns import transaction_ids_txn
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.hashes import MAX_PDU_BYTES
from trioserver.protocol.identifiers import (
    is_valid_event_id,
    is_valid_room_alias,
    is_valid_room_id,
    is_valid_user_id,
)
from trioserver.protocol.json import canonical_json, find_non_canonical_value
from trioserver.rooms.client_format import client_event, replaced_unsigned
from trioserver.roomserver.inputs import InputResult, LocalEvent, TransactionKey, Verdict

PREFIX = "/_matrix/client/<any(v3, r0):prefix>"

#: Room-wide headroom under the PDU limit for the keys the server adds
#: (prev/auth events, hashes, signatures...).
_PDU_OVERHEAD = 2048


def check_room_id(room_id: str) -> None:
    if not is_valid_room_id(room_id):
        raise MatrixError("M_INVALID_PARAM", "Invalid room ID")


def check_event_id(event_id: str) -> None:
    if not is_valid_event_id(event_id):
        raise MatrixError("M_INVALID_PARAM", "Invalid event ID")


def check_user_id(value: Any, name: str = "user_id") -> str:
    if value is None:
        raise MatrixError("M_MISSING_PARAM", f"Missing '{name}'")
    if not isinstance(value, str) or not is_valid_user_id(value):
        raise MatrixError("M_INVALID_PARAM", f"'{name}' must be a user ID")
    return value


def optional_reason(body: Mapping[str, Any]) -> str | None:
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise MatrixError("M_INVALID_PARAM", "'reason' must be a string")
    return reason


def check_event_content(content: Mapping[str, Any]) -> dict[str, Any]:
    """Event content as the spec allows it in PDUs: canonical JSON numbers
    only (``400 M_BAD_JSON``), and small enough for a PDU (``413 M_TOO_LARGE``)."""
    problem = find_non_canonical_value(content)
    if problem is not None:
        raise MatrixError("M_BAD_JSON", f"Bad event content: {problem}")
    if len(canonical_json(content)) > MAX_PDU_BYTES - _PDU_OVERHEAD:
        raise MatrixError("M_TOO_LARGE", "Event content is too large")
    return dict(content)


async def resolve_room(room_id_or_alias: str) -> str:
    """The room ID of a room ID or a local alias (404 for unknown aliases)."""
    if room_id_or_alias.startswith("#"):
        if not is_valid_room_alias(room_id_or_alias):
            raise MatrixError("M_INVALID_PARAM", "Invalid room alias")
        room_id = await services().db.run_read(get_alias_txn, room_id_or_alias)
        if room_id is None:
            raise MatrixError("M_NOT_FOUND", "Room alias not found")
        return room_id
    check_room_id(room_id_or_alias)
    return room_id_or_alias


async def room_version_of(room_id: str) -> str:
    """The room's version, or ``404 M_NOT_FOUND`` for a room this server has
    no state of (a remote room: joining over federation is not supported yet)."""
    version = await services().rooms.room_version(room_id)
    if (
        version is None
        or await services().rooms.current_state(room_id, [("m.room.create", "")]) is None
    ):
        raise MatrixError("M_NOT_FOUND", "Unknown room")
    return version


async def require_joined(room_id: str, user_id: str) -> None:
    if await services().rooms.membership(room_id, user_id) != "join":
        raise MatrixError("M_FORBIDDEN", f"{user_id} is not in the room")


def answer_verdict(result: InputResult) -> str:
    """The event ID of an accepted event, or the error to answer."""
    if result.verdict is Verdict.ACCEPTED:
        return result.event_id
    reason = result.reason or "not allowed"
    if result.verdict in (Verdict.REJECTED, Verdict.SOFT_FAILED):
        raise MatrixError("M_FORBIDDEN", f"The event is not allowed: {reason}")
    if result.verdict is Verdict.DROPPED:
        if "bytes" in reason and "more than" in reason:
            raise MatrixError("M_TOO_LARGE", "The event is too large")
        raise MatrixError("M_BAD_JSON", f"The event is malformed: {reason}")
    raise MatrixError("M_UNKNOWN", "The event could not be sent", status=500)


async def send_local(
    room_id: str,
    sender: str,
    event_type: str,
    content: Mapping[str, Any],
    *,
    state_key: str | None = None,
    redacts: str | None = None,
    unsigned: Mapping[str, Any] | None = None,
    transaction: TransactionKey | None = None,
) -> str:
    """Send a local user's event; its ID once committed and accepted. With a
    ``transaction``, a repeat answers the first event's ID (recorded in the
    event's own commit)."""
    event = LocalEvent(sender, event_type, content, state_key, redacts, unsigned, transaction)
    return answer_verdict(await services().roomserver.send(room_id, event))


async def client_events(
    event_ids: Iterable[str],
    room_id: str,
    room_version: str,
    *,
    user_id: str | None = None,
    device_id: str | None = None,
) -> list[dict[str, Any]]:
    """The stored events as ClientEvents (redacted ones redacted, with
    ``redacted_because``; ``transaction_id`` for the sending device)."""
    svc = services()
    ids = list(event_ids)
    pdus = await svc.rooms.events(ids)
    infos = await svc.rooms.event_info(ids)
    redaction_ids = {i.redacted_by for i in infos.values() if i.redacted_by is not None}
    redactions = await svc.rooms.events(redaction_ids) if redaction_ids else {}
    txns: dict[str, str] = {}
    if device_id is not None and user_id is not None:
        own = [e for e in ids if e in pdus and pdus[e].get("sender") == user_id]
        if own:
            txns = await svc.db.run_read(transaction_ids_txn, user_id, device_id, own)
    state_ids = [e for e in ids if isinstance(pdus.get(e, {}).get("state_key"), str)]
    replaced = await svc.db.run_read(replaced_states_txn, state_ids) if state_ids else {}
    now = svc.clock.time_ms()
    out: list[dict[str, Any]] = []
    for event_id in ids:
        pdu = pdus.get(event_id)
        if pdu is None:
            continue
        because = None
        info = infos.get(event_id)
        if info is not None and info.redacted_by is not None and info.redacted_by in redactions:
            because = client_event(
                {**redactions[info.redacted_by], "room_id": room_id},
                info.redacted_by,
                room_version,
            )
        ts = pdu.get("origin_server_ts")
        out.append(
            client_event(
                {**pdu, "room_id": room_id},
                event_id,
                room_version,
                redacted_because=because,
                age_ms=max(0, now - ts) if isinstance(ts, int) else None,
                transaction_id=txns.get(event_id),
                unsigned_extra=_replaced_extra(replaced.get(event_id), room_version),
            )
        )
    return out


def _replaced_extra(replaced: Replaced | None, room_version: str) -> dict[str, Any] | None:
    if replaced is None:
        return None
    return replaced_unsigned(replaced.event_id, replaced.pdu, replaced.redacted, room_version)
