"""matrix-nio syncs against a real trioserver: one client sends, the
other's long-poll gets it at once; to-device; account data; filtered sync."""

from __future__ import annotations

import time
from typing import Any

import nio

from tests.e2e.nio_helpers import run_asyncio
from trioserver.testing import TestHomeserver


async def test_nio_long_poll_to_device_account_data(homeserver: TestHomeserver) -> None:
    base_url = homeserver.base_url

    async def session() -> dict[str, Any]:
        import asyncio

        out: dict[str, Any] = {}
        alice = nio.AsyncClient(base_url, "alice")
        bob = nio.AsyncClient(base_url, "bob")
        try:
            await alice.register("alice", "pw-alice")
            await bob.register("bob", "pw-bob")
            created = await alice.room_create(name="Chat")
            assert isinstance(created, nio.RoomCreateResponse), created
            room_id = created.room_id
            await alice.room_invite(room_id, "@bob:localhost")
            await bob.join(room_id)
            first = await bob.sync(timeout=0, full_state=True)
            assert isinstance(first, nio.SyncResponse), first
            out["bob_rooms"] = list(bob.rooms)

            async def send_later() -> float:
                await asyncio.sleep(0.3)
                started = time.perf_counter()
                await alice.room_send(
                    room_id, "m.room.message", {"msgtype": "m.text", "body": "ping"}
                )
                return started

            sender = asyncio.ensure_future(send_later())
            since = first.next_batch
            while True:
                got = await bob.sync(timeout=30_000, since=since)
                assert isinstance(got, nio.SyncResponse), got
                since = got.next_batch
                if room_id in got.rooms.join and got.rooms.join[room_id].timeline.events:
                    break
                out.setdefault("other_wakeups", []).append(got)
            out["latency"] = time.perf_counter() - await sender
            out["timeline"] = [
                e.body
                for e in got.rooms.join[room_id].timeline.events
                if isinstance(e, nio.RoomMessageText)
            ]
            # to-device
            message = nio.ToDeviceMessage("m.test", "@bob:localhost", bob.device_id, {"x": 1})
            out["to_device_sent"] = await alice.to_device(message, tx_id="tx1")
            td = await bob.sync(timeout=10_000, since=got.next_batch)
            assert isinstance(td, nio.SyncResponse), td
            out["to_device"] = [e.source for e in td.to_device_events]
            # filtered sync
            for body in ("one", "two"):
                await alice.room_send(
                    room_id, "m.room.message", {"msgtype": "m.text", "body": body}
                )
            filtered = await bob.sync(
                timeout=0,
                sync_filter={"room": {"timeline": {"limit": 1}}},
            )
            assert isinstance(filtered, nio.SyncResponse), filtered
            timeline = filtered.rooms.join[room_id].timeline
            out["filtered"] = [e.body for e in timeline.events]
            out["limited"] = timeline.limited
            return out
        finally:
            await alice.close()
            await bob.close()

    out = await run_asyncio(session)
    assert out["timeline"] == ["ping"], out.get("other_wakeups")
    print(f"nio long-poll latency: {out['latency'] * 1000:.0f} ms")
    assert out["latency"] < 1.0, out["latency"]
    assert isinstance(out["to_device_sent"], nio.ToDeviceResponse), out["to_device_sent"]
    assert [e["content"] for e in out["to_device"]] == [{"x": 1}]
    assert out["filtered"] == ["two"]
    assert out["limited"] is True
