"""Room aliases and the room directory's visibility (client-server API,
"Room aliases" and "Listing rooms"):

* ``PUT/GET/DELETE /directory/room/{roomAlias}``
* ``GET /rooms/{roomId}/aliases``
* ``GET/PUT /directory/list/room/{roomId}``

Aliases of other servers would be resolved over federation, which this
server does not do yet: ``GET`` answers 404 for them. Who may do what:

* create an alias: a user joined to the room (or a server admin);
* delete an alias: its creator, a server admin, or a joined user with the
  power to send ``m.room.canonical_alias`` in the room;
* publish or unpublish a room: a server admin or a joined user with the
  power to send ``m.room.canonical_alias``.

Also here, shared by the other directory endpoints: :func:`indexer` and
:func:`wait_indexed` (the directory indexer, attached to the app by the
composition root with :func:`attach_indexer`), and :func:`room_power`.
"""

from __future__ import annotations

from typing import cast

import trio
from quart import Blueprint, Response, current_app

from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, optional_user, require_user
from trioserver.db import directory as directory_sql
from trioserver.db.accounts import TokenOwner
from trioserver.directory import DirectoryIndexer
from trioserver.directory.aliases import parse_alias
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.identifiers import is_valid_room_id
from trioserver.protocol.power_levels import Level, PowerLevels, creators, power_level_of

blueprint = Blueprint("client_directory", __name__)

_PREFIXES = "<any(v3, r0):prefix>"
INDEXER_EXTENSION = "trioserver.directory"
#: How long a request waits for the indexer to apply what was committed before it.
INDEX_WAIT_SECONDS = 2.0


def attach_indexer(app: object, indexer: DirectoryIndexer) -> None:
    cast("dict[str, object]", app.extensions)[INDEXER_EXTENSION] = indexer  # type: ignore[attr-defined]


def indexer() -> DirectoryIndexer | None:
    return cast("DirectoryIndexer | None", current_app.extensions.get(INDEXER_EXTENSION))


async def wait_indexed() -> None:
    """Let the indexer apply what was committed before this request (bounded wait)."""
    current = indexer()
    if current is None:
        return
    with trio.move_on_after(INDEX_WAIT_SECONDS):
        await current.wait_caught_up(services().roomserver.output.position)


async def room_power(room_id: str, user_id: str, event_type: str) -> tuple[Level, int]:
    """``user_id``'s power level in the room and the level needed to send the
    state event ``event_type``; ``404 M_NOT_FOUND`` for an unknown room."""
    rooms = services().rooms
    version = await rooms.room_version(room_id)
    state = await rooms.current_state_events(
        room_id, [("m.room.create", ""), ("m.room.power_levels", "")]
    )
    if version is None or state is None or ("m.room.create", "") not in state:
        raise MatrixError("M_NOT_FOUND", "Room not found")
    pl_event = state.get(("m.room.power_levels", ""))
    levels = None if pl_event is None else PowerLevels.from_event(pl_event, version)
    level = power_level_of(
        user_id, levels, creators(state[("m.room.create", "")], version), version
    )
    required = (levels or PowerLevels()).required_level(event_type, is_state=True)
    return level, required


async def _may_manage(room_id: str, owner: TokenOwner) -> bool:
    """A server admin, or a joined user who may send ``m.room.canonical_alias``."""
    level, required = await room_power(room_id, owner.user_id, "m.room.canonical_alias")
    if owner.is_admin:
        return True
    if await services().rooms.membership(room_id, owner.user_id) != "join":
        return False
    return level >= required


def _room_id_param(room_id: str) -> str:
    if not is_valid_room_id(room_id):
        raise MatrixError("M_INVALID_PARAM", "Invalid room ID")
    return room_id


# -- aliases -------------------------------------------------------------


@blueprint.put(f"/_matrix/client/{_PREFIXES}/directory/room/<path:roomAlias>")
async def put_alias(prefix: str, roomAlias: str) -> Response:
    owner = await require_user(allow_guest=False)
    svc = services()
    alias = parse_alias(roomAlias)
    if alias.server_name != svc.server_name:
        raise MatrixError("M_INVALID_PARAM", "Room aliases can only be created on this server")
    body = await json_body()
    room_id = body.get("room_id")
    if room_id is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'room_id'")
    if not isinstance(room_id, str) or not is_valid_room_id(room_id):
        raise MatrixError("M_INVALID_PARAM", "'room_id' must be a room ID")
    if await svc.rooms.room_version(room_id) is None:
        raise MatrixError("M_NOT_FOUND", "Room not found")
    if not owner.is_admin and await svc.rooms.membership(room_id, owner.user_id) != "join":
        raise MatrixError("M_FORBIDDEN", "You must be in the room to give it an alias")
    try:
        await svc.db.run_write(
            directory_sql.create_alias_txn, roomAlias, room_id, owner.user_id, svc.clock.time_ms()
        )
    except directory_sql.AliasExists:
        raise MatrixError(
            "M_UNKNOWN", f"Room alias {roomAlias} already exists", status=409
        ) from None
    return json_response({})


@blueprint.get(f"/_matrix/client/{_PREFIXES}/directory/room/<path:roomAlias>")
async def get_alias(prefix: str, roomAlias: str) -> Response:
    svc = services()
    parse_alias(roomAlias)
    room_id = await svc.db.run_read(directory_sql.get_alias_txn, roomAlias)
    if room_id is None:
        raise MatrixError("M_NOT_FOUND", f"Room alias {roomAlias} not found")
    servers = await svc.rooms.servers_in_room(room_id)
    ordered = [svc.server_name, *sorted(servers - {svc.server_name})]
    return json_response({"room_id": room_id, "servers": ordered})


@blueprint.delete(f"/_matrix/client/{_PREFIXES}/directory/room/<path:roomAlias>")
async def delete_alias(prefix: str, roomAlias: str) -> Response:
    owner = await require_user(allow_guest=False)
    svc = services()
    parse_alias(roomAlias)
    room_id = await svc.db.run_read(directory_sql.get_alias_txn, roomAlias)
    if room_id is None:
        raise MatrixError("M_NOT_FOUND", f"Room alias {roomAlias} not found")
    creator = await svc.db.run_read(directory_sql.alias_creator_txn, roomAlias)
    allowed = creator == owner.user_id or owner.is_admin
    if not allowed:
        try:
            allowed = await _may_manage(room_id, owner)
        except MatrixError:
            allowed = False  # the room is gone: only the creator or an admin
    if not allowed:
        raise MatrixError("M_FORBIDDEN", "You may not delete this alias")
    if not await svc.db.run_write(directory_sql.delete_alias_txn, roomAlias):
        raise MatrixError("M_NOT_FOUND", f"Room alias {roomAlias} not found")
    return json_response({})


@blueprint.get(f"/_matrix/client/{_PREFIXES}/rooms/<roomId>/aliases")
async def room_aliases(prefix: str, roomId: str) -> Response:
    owner = await require_user()
    svc = services()
    _room_id_param(roomId)
    allowed = await svc.rooms.membership(roomId, owner.user_id) == "join"
    if not allowed:
        state = await svc.rooms.current_state_events(roomId, [("m.room.history_visibility", "")])
        event = (state or {}).get(("m.room.history_visibility", ""))
        content = event.get("content") if event is not None else None
        allowed = isinstance(content, dict) and content.get("history_visibility") == (
            "world_readable"
        )
    if not allowed:
        raise MatrixError("M_FORBIDDEN", "You are not allowed to see this room's aliases")
    aliases = await svc.db.run_read(directory_sql.aliases_for_room_txn, roomId)
    return json_response({"aliases": aliases})


# -- directory visibility -----------------------------------------------


@blueprint.get(f"/_matrix/client/{_PREFIXES}/directory/list/room/<roomId>")
async def get_visibility(prefix: str, roomId: str) -> Response:
    await optional_user()
    svc = services()
    _room_id_param(roomId)
    if await svc.rooms.room_version(roomId) is None:
        raise MatrixError("M_NOT_FOUND", "Room not found")
    visibility = await svc.db.run_read(directory_sql.room_visibility_txn, roomId)
    return json_response({"visibility": visibility})


@blueprint.put(f"/_matrix/client/{_PREFIXES}/directory/list/room/<roomId>")
async def set_visibility(prefix: str, roomId: str) -> Response:
    owner = await require_user(allow_guest=False)
    svc = services()
    _room_id_param(roomId)
    body = await json_body(allow_empty=True)
    visibility = body.get("visibility", "public")
    if visibility not in ("public", "private"):
        raise MatrixError("M_INVALID_PARAM", "'visibility' must be 'public' or 'private'")
    if not await _may_manage(roomId, owner):  # 404 for an unknown room
        raise MatrixError("M_FORBIDDEN", "You may not change this room's visibility")
    await svc.db.run_write(directory_sql.set_room_visibility_txn, roomId, visibility)
    return json_response({})
