"""Server-side key backups (client-server API, "Server-side key backups",
``/room_keys/version...`` and ``/room_keys/keys...``).

Keys may be written only to the current version (the user's newest one not
deleted): a write naming another version is 403 ``M_WRONG_ROOM_KEYS_VERSION``
with ``current_version``; with no backup at all it is 404 ``M_NOT_FOUND``.
The version check and the write are one transaction. A version's ``etag``
changes whenever its keys do.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from trioserver.db import Database
from trioserver.db import key_backup as sql
from trioserver.e2ee.backup_rules import (
    RoomKey,
    check_room_id,
    check_session_id,
    parse_room_key,
    parse_rooms,
    parse_sessions,
    parse_version,
    parse_version_body,
    should_replace,
)
from trioserver.protocol.errors import MatrixError


def _unknown_version() -> MatrixError:
    return MatrixError("M_NOT_FOUND", "Unknown backup version")


def _version_json(version: sql.BackupVersion, count: int) -> dict[str, Any]:
    return {
        "version": str(version.version),
        "algorithm": version.algorithm,
        "auth_data": json.loads(version.auth_data),
        "etag": str(version.etag),
        "count": count,
    }


def _key_json(key: sql.StoredRoomKey) -> dict[str, Any]:
    return {
        "first_message_index": key.first_message_index,
        "forwarded_count": key.forwarded_count,
        "is_verified": key.is_verified,
        "session_data": json.loads(key.session_data),
    }


def _stored(key: sql.StoredRoomKey) -> RoomKey:
    return RoomKey(key.first_message_index, key.forwarded_count, key.is_verified, key.session_data)


def _existing_version_txn(conn: sqlite3.Connection, user_id: str, text: str) -> sql.BackupVersion:
    number = parse_version(text)
    version = None if number is None else sql.get_version_txn(conn, user_id, number)
    if version is None:
        raise _unknown_version()
    return version


def _update_result_txn(conn: sqlite3.Connection, user_id: str, version: int) -> dict[str, Any]:
    current = sql.get_version_txn(conn, user_id, version)
    assert current is not None
    return {"etag": str(current.etag), "count": sql.count_keys_txn(conn, user_id, version)}


class KeyBackups:
    """The key backups of one server's users."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- versions -----------------------------------------------------------

    async def create_version(self, user_id: str, body: Mapping[str, Any]) -> str:
        algorithm, auth_data = parse_version_body(body)
        version = await self._db.run_write(sql.create_version_txn, user_id, algorithm, auth_data)
        return str(version)

    async def get_version(self, user_id: str, version: str | None) -> dict[str, Any]:
        """A version's description; the current one when ``version`` is None."""

        def txn(conn: sqlite3.Connection) -> dict[str, Any]:
            if version is None:
                found = sql.current_version_txn(conn, user_id)
                if found is None:
                    raise MatrixError("M_NOT_FOUND", "No current backup version")
            else:
                found = _existing_version_txn(conn, user_id, version)
            return _version_json(found, sql.count_keys_txn(conn, user_id, found.version))

        return await self._db.run_read(txn)

    async def update_version(self, user_id: str, version: str, body: Mapping[str, Any]) -> None:
        """Replace a version's ``auth_data``; ``algorithm`` must stay the same
        and a ``version`` in the body must be the path's (400 otherwise)."""
        algorithm, auth_data = parse_version_body(body)
        if "version" in body and body["version"] != version:
            raise MatrixError("M_INVALID_PARAM", "The version in the body is not the path's")

        def txn(conn: sqlite3.Connection) -> None:
            found = _existing_version_txn(conn, user_id, version)
            if found.algorithm != algorithm:
                raise MatrixError("M_INVALID_PARAM", "Algorithm does not match")
            sql.set_auth_data_txn(conn, user_id, found.version, auth_data)

        await self._db.run_write(txn)

    async def delete_version(self, user_id: str, version: str) -> None:
        """Delete a version and its keys; a version deleted before is fine,
        one that never existed is 404."""
        number = parse_version(version)
        if number is None or not await self._db.run_write(sql.delete_version_txn, user_id, number):
            raise _unknown_version()

    # -- keys -----------------------------------------------------------------

    async def put_keys(
        self, user_id: str, version: str, rooms: Mapping[str, Mapping[str, RoomKey]]
    ) -> dict[str, Any]:
        """Store keys into the current version, each replacing the stored key
        of its session only where :func:`should_replace` says so; returns the
        new ``etag`` and ``count``."""

        def txn(conn: sqlite3.Connection) -> dict[str, Any]:
            current = sql.current_version_txn(conn, user_id)
            if current is None:
                raise MatrixError("M_NOT_FOUND", "No current backup version")
            if parse_version(version) != current.version:
                raise MatrixError(
                    "M_WRONG_ROOM_KEYS_VERSION",
                    "Wrong backup version",
                    current_version=str(current.version),
                )
            changed = False
            for room_id, sessions in rooms.items():
                for session_id, key in sessions.items():
                    old = sql.get_room_keys_txn(conn, user_id, current.version, room_id, session_id)
                    if old and not should_replace(_stored(old[0]), key):
                        continue
                    stored = sql.StoredRoomKey(
                        room_id,
                        session_id,
                        key.first_message_index,
                        key.forwarded_count,
                        key.is_verified,
                        key.session_data,
                    )
                    sql.put_room_key_txn(conn, user_id, current.version, stored)
                    changed = True
            if changed:
                sql.bump_etag_txn(conn, user_id, current.version)
            return _update_result_txn(conn, user_id, current.version)

        return await self._db.run_write(txn)

    async def put_keys_body(
        self,
        user_id: str,
        version: str,
        body: Mapping[str, Any],
        room_id: str | None = None,
        session_id: str | None = None,
    ) -> dict[str, Any]:
        """``PUT /room_keys/keys[/{roomId}[/{sessionId}]]``: the body is all
        rooms, one room's ``RoomKeyBackup``, or one ``KeyBackupData``."""
        if room_id is None:
            rooms = parse_rooms(body)
        elif session_id is None:
            rooms = {check_room_id(room_id): parse_sessions(body, "body")}
        else:
            key = parse_room_key(body, "body")
            rooms = {check_room_id(room_id): {check_session_id(session_id): key}}
        return await self.put_keys(user_id, version, rooms)

    async def get_keys(
        self,
        user_id: str,
        version: str,
        room_id: str | None = None,
        session_id: str | None = None,
    ) -> dict[str, Any]:
        """All keys (``{"rooms": ...}``), one room's (``{"sessions": ...}``) or
        one session's (``KeyBackupData``, 404 if absent) of an existing version."""

        def txn(conn: sqlite3.Connection) -> list[sql.StoredRoomKey]:
            found = _existing_version_txn(conn, user_id, version)
            return sql.get_room_keys_txn(conn, user_id, found.version, room_id, session_id)

        keys = await self._db.run_read(txn)
        if session_id is not None:
            if not keys:
                raise MatrixError("M_NOT_FOUND", "Key not found")
            return _key_json(keys[0])
        if room_id is not None:
            return {"sessions": {key.session_id: _key_json(key) for key in keys}}
        rooms: dict[str, dict[str, Any]] = {}
        for key in keys:
            rooms.setdefault(key.room_id, {"sessions": {}})["sessions"][key.session_id] = _key_json(
                key
            )
        return {"rooms": rooms}

    async def delete_keys(
        self,
        user_id: str,
        version: str,
        room_id: str | None = None,
        session_id: str | None = None,
    ) -> dict[str, Any]:
        """Delete keys of an existing version; returns ``etag`` and ``count``."""

        def txn(conn: sqlite3.Connection) -> dict[str, Any]:
            found = _existing_version_txn(conn, user_id, version)
            if sql.delete_room_keys_txn(conn, user_id, found.version, room_id, session_id):
                sql.bump_etag_txn(conn, user_id, found.version)
            return _update_result_txn(conn, user_id, found.version)

        return await self._db.run_write(txn)
