"""matrix-nio with encryption (vodozemac) against a real trioserver: two
clients upload their Olm keys, find each other's devices with /keys/query
(nio checks every device signature) and claim one-time keys to start Olm
sessions (nio checks every one-time key signature).

Encrypted room messages end to end: tests/e2e/test_nio_encrypted_room.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import nio
import nio.crypto
from nio.store import SqliteMemoryStore

from tests.e2e.nio_helpers import run_asyncio
from trioserver.db import e2e_keys as e2e_sql
from trioserver.testing import TestHomeserver

assert nio.crypto.ENCRYPTION_ENABLED, (
    "needs matrix-nio with encryption: pip install 'matrix-nio[e2e]'"
)


@dataclass
class Outcome:
    alice_device: str
    bob_device: str
    uploaded: int
    bob_ed25519: str
    bob_curve25519: str
    seen_ed25519: str
    seen_curve25519: str
    first_claim: dict[str, str]
    second_claim: dict[str, str]
    alice_has_session: bool


async def test_two_nio_clients_exchange_device_and_one_time_keys(
    homeserver: TestHomeserver,
) -> None:
    await homeserver.register_user("alice", "alice-password")
    await homeserver.register_user("bob", "bob-password")
    config = nio.AsyncClientConfig(encryption_enabled=True, store=SqliteMemoryStore)

    async def session() -> Outcome:
        alice = nio.AsyncClient(homeserver.base_url, "@alice:localhost", config=config)
        bob = nio.AsyncClient(homeserver.base_url, "@bob:localhost", config=config)
        try:
            assert isinstance(await alice.login("alice-password"), nio.LoginResponse)
            assert isinstance(await bob.login("bob-password"), nio.LoginResponse)
            for client in (alice, bob):
                assert client.should_upload_keys
                response = await client.keys_upload()
                assert isinstance(response, nio.KeysUploadResponse), response
            uploaded = response.signed_curve25519_count
            assert bob.olm is not None and alice.olm is not None
            bob_keys = bob.olm.account.identity_keys
            alice.olm.add_changed_users({"@bob:localhost"})
            query = await alice.keys_query()
            assert isinstance(query, nio.KeysQueryResponse), query
            seen = alice.device_store["@bob:localhost"][bob.device_id]
            claims = []
            for _ in range(2):
                claim = await alice.keys_claim({"@bob:localhost": [bob.device_id]})
                assert isinstance(claim, nio.KeysClaimResponse), claim
                claims.append(claim.one_time_keys["@bob:localhost"][bob.device_id])
            return Outcome(
                alice_device=alice.device_id,
                bob_device=bob.device_id,
                uploaded=uploaded,
                bob_ed25519=bob_keys["ed25519"],
                bob_curve25519=bob_keys["curve25519"],
                seen_ed25519=seen.ed25519,
                seen_curve25519=seen.curve25519,
                first_claim=claims[0],
                second_claim=claims[1],
                alice_has_session=alice.olm.session_store.get(seen.curve25519) is not None,
            )
        finally:
            await alice.close()
            await bob.close()

    outcome = await run_asyncio(session)
    assert outcome.uploaded > 0
    # Alice got Bob's device with his real identity keys (nio checked the signature).
    assert outcome.seen_ed25519 == outcome.bob_ed25519
    assert outcome.seen_curve25519 == outcome.bob_curve25519
    # Two claims, two different one-time keys; nio verified one and made a session.
    assert outcome.first_claim.keys() != outcome.second_claim.keys()
    assert outcome.alice_has_session
    counts = await homeserver.services.db.run_read(
        e2e_sql.one_time_key_counts_txn, "@bob:localhost", outcome.bob_device
    )
    assert counts == {"signed_curve25519": outcome.uploaded - 2}
