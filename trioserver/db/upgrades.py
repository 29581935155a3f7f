"""Room upgrades' storage steps (spec: ``modules/room_upgrades.md``), as
single transactions over the directory's tables (their SQL stays in
:mod:`trioserver.db.directory`)."""

from __future__ import annotations

import sqlite3

from trioserver.db.directory import (
    alias_creator_txn,
    aliases_for_room_txn,
    create_alias_txn,
    delete_alias_txn,
    room_visibility_txn,
    set_room_visibility_txn,
)


def move_room_directory_txn(
    conn: sqlite3.Connection, old_room_id: str, new_room_id: str, now_ms: int
) -> list[str]:
    """Point every local alias of the old room at the new one (keeping each
    alias's creator) and move a published directory entry. Returns the aliases."""
    moved = aliases_for_room_txn(conn, old_room_id)
    for alias in moved:
        creator = alias_creator_txn(conn, alias) or ""
        delete_alias_txn(conn, alias)
        create_alias_txn(conn, alias, new_room_id, creator, now_ms)
    if room_visibility_txn(conn, old_room_id) == "public":
        set_room_visibility_txn(conn, new_room_id, "public")
        set_room_visibility_txn(conn, old_room_id, "private")
    return moved
