"""Two matrix-nio clients with real encryption (vodozemac) in an encrypted room:
Alice sends, Bob's client decrypts. Everything crosses the real server: key
upload, /keys/query, /keys/claim, the Olm-encrypted room key as a to-device
message through /sync, the Megolm-encrypted event in Bob's timeline."""

from __future__ import annotations

import nio
import nio.crypto
from nio.store import SqliteMemoryStore

from tests.e2e.nio_helpers import run_asyncio
from trioserver.testing import TestHomeserver

assert nio.crypto.ENCRYPTION_ENABLED, "needs matrix-nio with encryption: matrix-nio[e2e]"

ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


async def test_bob_decrypts_what_alice_sends_in_an_encrypted_room(
    homeserver: TestHomeserver,
) -> None:
    await homeserver.register_user("alice", "alice-password")
    await homeserver.register_user("bob", "bob-password")
    config = nio.AsyncClientConfig(encryption_enabled=True, store=SqliteMemoryStore)

    async def session() -> tuple[str, str, list[str]]:
        alice = nio.AsyncClient(homeserver.base_url, "@alice:localhost", config=config)
        bob = nio.AsyncClient(homeserver.base_url, "@bob:localhost", config=config)
        try:
            for client, password in ((alice, "alice-password"), (bob, "bob-password")):
                assert isinstance(await client.login(password), nio.LoginResponse)
                assert isinstance(await client.sync(timeout=0), nio.SyncResponse)
                if client.should_upload_keys:
                    assert isinstance(await client.keys_upload(), nio.KeysUploadResponse)
            created = await alice.room_create(invite=["@bob:localhost"], initial_state=[ENCRYPTION])
            assert isinstance(created, nio.RoomCreateResponse), created
            room_id = created.room_id
            await bob.sync(timeout=0)
            assert isinstance(await bob.join(room_id), nio.JoinResponse)
            await bob.sync(timeout=0)
            await alice.sync(timeout=0)
            assert alice.rooms[room_id].encrypted
            if alice.should_query_keys:
                assert isinstance(await alice.keys_query(), nio.KeysQueryResponse)
            sent = await alice.room_send(
                room_id,
                "m.room.message",
                {"msgtype": "m.text", "body": "only bob can read this"},
                ignore_unverified_devices=True,
            )
            assert isinstance(sent, nio.RoomSendResponse), sent
            bodies: list[str] = []
            types: list[str] = []
            for _ in range(3):
                response = await bob.sync(timeout=1000)
                assert isinstance(response, nio.SyncResponse), response
                room = response.rooms.join.get(room_id)
                for event in room.timeline.events if room else []:
                    types.append(type(event).__name__)
                    if isinstance(event, nio.RoomMessageText):
                        bodies.append(event.body)
                if bodies:
                    break
            return sent.event_id, " | ".join(types), bodies
        finally:
            await alice.close()
            await bob.close()

    event_id, types, bodies = await run_asyncio(session)
    assert bodies == ["only bob can read this"], types
    # On the server the event is ciphertext only.
    stored = (await homeserver.services.rooms.events([event_id]))[event_id]
    assert stored["type"] == "m.room.encrypted"
    assert "only bob" not in str(stored["content"])
