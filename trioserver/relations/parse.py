"""``m.relates_to`` of an event (spec: "Forming relationships between
events", ``definitions/m.relates_to.yaml``).

Pure. Only the cleartext ``content`` counts (an encrypted payload's copy is
never seen by the server). A relation needs a string ``rel_type`` and a
string ``event_id`` (rich replies, ``m.in_reply_to`` alone, are not
relations of this API); ``m.annotation`` also needs a string ``key``.
Anything else is ignored ("Relationships which don't match the schema ...
are simply ignored").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trioserver.db.relations import RelationRow


def relation_row(
    pdu: Mapping[str, Any], event_id: str, room_id: str, position: int
) -> RelationRow | None:
    """The relation ``pdu`` (stored at ``position``) makes, or None."""
    content = pdu.get("content")
    if not isinstance(content, Mapping):
        return None
    relates_to = content.get("m.relates_to")
    if not isinstance(relates_to, Mapping):
        return None
    rel_type = relates_to.get("rel_type")
    parent = relates_to.get("event_id")
    if not isinstance(rel_type, str) or not rel_type or not isinstance(parent, str):
        return None
    if not parent.startswith("$") or parent == event_id:
        return None
    key = relates_to.get("key")
    if rel_type == "m.annotation" and not isinstance(key, str):
        return None
    event_type, sender, ts = pdu.get("type"), pdu.get("sender"), pdu.get("origin_server_ts")
    if not isinstance(event_type, str) or not isinstance(sender, str):
        return None
    return RelationRow(
        event_id=event_id,
        room_id=room_id,
        relates_to_id=parent,
        rel_type=rel_type,
        aggregation_key=key if isinstance(key, str) else None,
        event_type=event_type,
        sender=sender,
        position=position,
        origin_server_ts=ts if isinstance(ts, int) and not isinstance(ts, bool) else 0,
        is_state=isinstance(pdu.get("state_key"), str),
        has_new_content=isinstance(content.get("m.new_content"), Mapping),
    )
