"""Who may see which room event: the history visibility rules (spec:
client-server API, "Room History Visibility", server behaviour).

Pure: the caller supplies, per event, the room's ``history_visibility`` and
the user's membership in the state *at* the event (the state before it; see
:func:`trioserver.db.visibility.visibility_facts_txn`), whether the user has
joined the room since the event, and the user's current membership. The
rules, in order:

1. ``world_readable``: allow.
2. The user's membership at the event was ``join``: allow.
3. ``shared``, and the user joined the room at any point after the event
   (a join event of theirs later in the room's stream), or is joined now:
   allow. A user who joined later and has left since still sees the shared
   history from before that join.
4. The user's membership was ``invite`` and the visibility ``invited``: allow.
5. Otherwise deny.

Special cases: an ``m.room.history_visibility`` event is visible if the
visibility before *or* after it allows it; the user's own ``m.room.member``
events are visible if the membership before *or* after them allows it.
"After" is read from the event's ``content`` when the caller passes it.

An absent or unknown ``history_visibility`` is ``shared``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = [
    "DEFAULT_HISTORY_VISIBILITY",
    "HISTORY_VISIBILITIES",
    "VisibilityFacts",
    "filter_visible",
    "may_see_event",
    "normalize_history_visibility",
]

HISTORY_VISIBILITIES: Final = frozenset({"world_readable", "shared", "invited", "joined"})
DEFAULT_HISTORY_VISIBILITY: Final = "shared"

#: Per event: (history visibility in the state before it, the user's
#: membership in that state or None, whether the user joined after it).
VisibilityFacts = tuple[str, str | None, bool]


def normalize_history_visibility(value: object) -> str:
    """The visibility a state value means (unknown or absent: ``shared``)."""
    return value if isinstance(value, str) and value in HISTORY_VISIBILITIES else "shared"


def _allowed(
    visibility: str,
    membership_at_event: str | None,
    membership_now: str | None,
    joined_later: bool,
) -> bool:
    visibility = normalize_history_visibility(visibility)
    if visibility == "world_readable":
        return True
    if membership_at_event == "join":
        return True
    if visibility == "shared" and (joined_later or membership_now == "join"):
        return True
    return visibility == "invited" and membership_at_event == "invite"


def may_see_event(
    user_id: str,
    *,
    history_visibility: str,
    membership_at_event: str | None,
    membership_now: str | None,
    event_type: str,
    state_key: str | None,
    sender: str,
    content: Mapping[str, Any] | None = None,
    joined_later: bool = False,
) -> bool:
    """Whether ``user_id`` may see an event (see the module docstring).

    ``history_visibility`` and ``membership_at_event`` are those of the state
    before the event; ``content`` (optional) is the event's content, which
    gives the state after it for the two special cases. ``joined_later``:
    the user has a join event after this event. ``sender`` plays no
    part in the spec's rules (a user's own messages follow them too); it is
    taken so callers pass the whole event's identity.
    """
    del sender
    if _allowed(history_visibility, membership_at_event, membership_now, joined_later):
        return True
    if content is None:
        return False
    if event_type == "m.room.history_visibility" and state_key == "":
        after = normalize_history_visibility(content.get("history_visibility"))
        return _allowed(after, membership_at_event, membership_now, joined_later)
    if event_type == "m.room.member" and state_key == user_id:
        after_membership = content.get("membership")
        if isinstance(after_membership, str):
            return _allowed(history_visibility, after_membership, membership_now, joined_later)
    return False


def filter_visible(
    user_id: str,
    events: Iterable[tuple[str, Mapping[str, Any]]],
    facts: Mapping[str, VisibilityFacts],
    membership_now: str | None,
) -> list[str]:
    """The IDs of the ``(event_id, pdu)`` pairs ``user_id`` may see, in order.
    An event without facts (not stored with state: an outlier) is hidden."""
    visible: list[str] = []
    for event_id, pdu in events:
        fact = facts.get(event_id)
        if fact is None:
            continue
        content = pdu.get("content")
        state_key = pdu.get("state_key")
        if may_see_event(
            user_id,
            history_visibility=fact[0],
            membership_at_event=fact[1],
            membership_now=membership_now,
            event_type=str(pdu.get("type")),
            state_key=state_key if isinstance(state_key, str) else None,
            sender=str(pdu.get("sender")),
            content=content if isinstance(content, Mapping) else None,
            joined_later=fact[2],
        ):
            visible.append(event_id)
    return visible
