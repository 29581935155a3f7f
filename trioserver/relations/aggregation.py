"""The pure rules of server-side aggregation (spec: "Aggregations of child
events"; ``modules/event_replacements.md``, ``modules/threading.md``,
``modules/reference_relations.md``, ``modules/event_annotations.md``).

* ``m.replace``: the most recent *valid* replacement (greatest
  ``origin_server_ts``, then greatest ``event_id``), served as a whole
  event. Valid: same room (guaranteed by the index), same ``sender`` and
  ``type`` as the original, neither has a ``state_key``, the original is not
  itself an ``m.replace``, and the replacement has ``m.new_content``. Not
  bundled with a redacted original. The original's ``content`` is never
  replaced (spec v1.7+).
* ``m.thread``: ``count``, ``latest_event`` (newest by stream order, sent by
  an un-ignored user), ``current_user_participated`` (the user sent the root
  or a thread event).
* ``m.reference``: ``chunk`` of ``{"event_id": ...}``.
* ``m.annotation``: never aggregated.
* State events receive no bundled aggregations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trioserver.db.relations import RelationRow


def _relation(pdu: Mapping[str, Any]) -> Mapping[str, Any] | None:
    content = pdu.get("content")
    relates_to = content.get("m.relates_to") if isinstance(content, Mapping) else None
    return relates_to if isinstance(relates_to, Mapping) else None


def latest_valid_edit(original: Mapping[str, Any], edits: Iterable[RelationRow]) -> str | None:
    """The event ID of the most recent valid replacement of ``original``."""
    if isinstance(original.get("state_key"), str):
        return None
    relation = _relation(original)
    if relation is not None and relation.get("rel_type") == "m.replace":
        return None
    best: tuple[int, str] | None = None
    for edit in edits:
        if edit.rel_type != "m.replace" or edit.is_state or not edit.has_new_content:
            continue
        if edit.sender != original.get("sender") or edit.event_type != original.get("type"):
            continue
        key = (edit.origin_server_ts, edit.event_id)
        if best is None or key > best:
            best = key
    return None if best is None else best[1]


def thread_participated(root: Mapping[str, Any], user_id: str, child_participated: bool) -> bool:
    """``current_user_participated``: the user sent the root or a thread event."""
    return child_participated or root.get("sender") == user_id
