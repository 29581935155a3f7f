"""/sync's end-to-end encryption parts: the device's one-time and fallback
key counts and ``device_lists`` (users whose devices changed, or who newly
share or no longer share a room with the syncing user), and the wake-up of
those users when a device list changes."""

from __future__ import annotations

from typing import Any

from trioserver.db import Database
from trioserver.db import e2e_keys as keys_sql
from trioserver.db import sync_rooms as rooms_sql
from trioserver.db.roomserver_current import rooms_for_user_txn
from trioserver.rooms.tokens import SyncToken
from trioserver.sync.notifier import Notifier

#: Memberships that mean "no longer in the room".
LEFT = ("leave", "ban")


def _key_counts_txn(conn: Any, user_id: str, device_id: str) -> tuple[dict[str, int], list[str]]:
    counts = keys_sql.one_time_key_counts_txn(conn, user_id, device_id)
    counts.setdefault("signed_curve25519", 0)
    return counts, keys_sql.unused_fallback_key_types_txn(conn, user_id, device_id)


def keys_txn(
    conn: Any,
    user_id: str,
    device_id: str,
    since: SyncToken | None,
    token: SyncToken,
    newly_joined: list[str],
    newly_left: list[str],
) -> tuple[tuple[dict[str, int], list[str]], dict[str, list[str]] | None]:
    """The device's key counts and (incremental syncs) the device-list changes, in one read."""
    counts = _key_counts_txn(conn, user_id, device_id)
    if since is None:
        return counts, None
    return counts, _device_lists_txn(conn, user_id, since, token, newly_joined, newly_left)


def _joined_rooms_txn(conn: Any, user_id: str) -> set[str]:
    return set(rooms_for_user_txn(conn, user_id, ["join"]))


def _device_lists_txn(
    conn: Any,
    user_id: str,
    since: SyncToken,
    token: SyncToken,
    newly_joined: list[str],
    newly_left: list[str],
) -> dict[str, list[str]]:
    """``changed``: users sharing a room with ``user_id`` whose devices
    changed, or who newly share one; ``left``: users who no longer share one."""
    sharing = rooms_sql.users_sharing_rooms_txn(conn, user_id) | {user_id}
    changed: set[str] = set()
    if token.device_lists > since.device_lists:
        changed = (
            set(
                keys_sql.device_list_changes_txn(
                    conn, since.device_lists, token.device_lists, user_id
                )
            )
            & sharing
        )
    left: set[str] = set()
    for room_id in newly_joined:
        changed |= rooms_sql.joined_members_txn(conn, room_id)
    for room_id in newly_left:
        left |= rooms_sql.joined_members_txn(conn, room_id) - sharing
    if token.events > since.events:
        joined_now = _joined_rooms_txn(conn, user_id)
        for _, other, membership in rooms_sql.member_changes_txn(
            conn, sorted(joined_now | set(newly_left)), since.events, token.events
        ):
            if membership == "join" and other in sharing:
                changed.add(other)
            elif membership in LEFT and other not in sharing:
                left.add(other)
    return {"changed": sorted(changed - left), "left": sorted(left - {user_id})}


async def wake_for_device_list_change(db: Database, notifier: Notifier, user_id: str) -> None:
    """``user_id``'s devices or keys changed (committed): wake them and every
    user sharing a room with them (``device_lists.changed``)."""
    position, users = await db.run_read(_device_list_watchers_txn, user_id)
    notifier.advance("device_lists", position, users | {user_id})


def _device_list_watchers_txn(conn: Any, user_id: str) -> tuple[int, set[str]]:
    return keys_sql.device_list_position_txn(conn), rooms_sql.users_sharing_rooms_txn(conn, user_id)
