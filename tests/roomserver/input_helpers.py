"""Test rigs for the roomserver: a running roomserver, a remote server's signed events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import nacl.signing
import trio

from trioserver.db import Database
from trioserver.roomserver.builder import BuiltEvent, Extremity, ServerIdentity, build_event
from trioserver.roomserver.inputs import InputEvent, InputKind, LocalEvent
from trioserver.roomserver.keyring import StaticKeyRing
from trioserver.roomserver.queries import RoomQueries
from trioserver.roomserver.service import Roomserver
from trioserver.server import open_database
from trioserver.util.clock import TrioClock

LOCAL = ServerIdentity("local.test", "ed25519:l1", nacl.signing.SigningKey(b"\x01" * 32))
REMOTE = ServerIdentity("remote.test", "ed25519:r1", nacl.signing.SigningKey(b"\x02" * 32))
ALICE = "@alice:local.test"
BOB = "@bob:remote.test"


@asynccontextmanager
async def running_roomserver(
    db_path: str = ":memory:", **kwargs: Any
) -> AsyncIterator[tuple[Roomserver, RoomQueries, Database]]:
    """A roomserver for ``LOCAL`` that trusts ``REMOTE``'s key (deterministic: inline db)."""
    db = await open_database(db_path, inline=db_path == ":memory:")
    keyring = StaticKeyRing()
    for identity in (LOCAL, REMOTE):
        keyring.add_key(identity.server_name, identity.key_id, identity.signing_key.verify_key)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(db.run_writer)
            rs = await Roomserver.open(db, TrioClock(), LOCAL, keyring=keyring, **kwargs)
            await nursery.start(rs.run)
            yield rs, RoomQueries(db, rs.events), db
            nursery.cancel_scope.cancel()
    finally:
        await db.aclose()


async def public_room(rs: Roomserver, version: str = "10") -> str:
    """A room created by Alice: joined, power levels, public join rules."""
    room_id, result = await rs.create_room(ALICE, version, {})
    assert result.accepted, result
    for event_type, state_key, content in [
        ("m.room.member", ALICE, {"membership": "join"}),
        ("m.room.power_levels", "", {"users": {ALICE: 100}} if version != "12" else {}),
        ("m.room.join_rules", "", {"join_rule": "public"}),
    ]:
        res = await rs.send(room_id, LocalEvent(ALICE, event_type, content, state_key=state_key))
        assert res.accepted, res
    return room_id


def remote_event(
    *,
    version: str,
    room_id: str,
    sender: str,
    event_type: str,
    content: Mapping[str, Any],
    prev: Sequence[tuple[str, int]],
    auth: Sequence[str],
    state_key: str | None = None,
    ts: int = 1_700_000_000_000,
    identity: ServerIdentity = REMOTE,
) -> BuiltEvent:
    from trioserver.protocol.room_versions import room_version

    return build_event(
        version=room_version(version),
        room_id=room_id,
        sender=sender,
        event_type=event_type,
        content=content,
        state_key=state_key,
        prev_events=[Extremity(e, d) for e, d in prev],
        auth_event_ids=auth,
        origin_server_ts=ts,
        identity=identity,
    )


def as_remote_input(built: BuiltEvent, version: str) -> InputEvent:
    return InputEvent(InputKind.NEW, built.pdu, version, origin=REMOTE.server_name)
