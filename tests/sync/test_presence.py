"""Presence: the endpoints, who sees whom, idling and going offline on the trio clock."""

from __future__ import annotations

import trio
import trio.testing

from tests.api.rooms_helpers import V3, err, q, user
from trioserver.sync.presence import IDLE_AFTER_MS, OFFLINE_AFTER_MS
from trioserver.testing import TestHomeserver


def _url(user_id: str) -> str:
    return f"{V3}/presence/{q(user_id)}/status"


async def _settle(seconds: float) -> None:
    await trio.sleep(seconds)
    await trio.testing.wait_all_tasks_blocked()


async def test_idle_then_offline(
    homeserver: TestHomeserver, autojump_clock: trio.testing.MockClock
) -> None:
    tracker = homeserver.services.presence
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    room = await alice.create_room(preset="public_chat")
    assert (await bob.join(room)).status == 200
    start = tracker.position
    bob_wake = homeserver.services.notifier.wake_up(bob.user_id)

    # Alice syncs every 20 s (she keeps being seen) but does nothing else.
    await tracker.user_syncing(alice.user_id, None)
    assert tracker.presence_of(alice.user_id)["presence"] == "online"
    assert bob_wake.is_set()
    events = await tracker.presence_events_for(bob.user_id, start, tracker.position)
    assert [(e["sender"], e["content"]["presence"]) for e in events] == [(alice.user_id, "online")]
    assert events[0]["content"]["currently_active"] is True

    for _ in range(int(IDLE_AFTER_MS / 20_000) - 1):
        await _settle(20)
        await tracker.user_syncing(alice.user_id, "online")
    await _settle(19.999)
    assert tracker.presence_of(alice.user_id)["presence"] == "online"
    await _settle(0.002)
    content = tracker.presence_of(alice.user_id)
    assert content["presence"] == "unavailable"
    assert content["last_active_ago"] >= IDLE_AFTER_MS and content["currently_active"] is False

    # She stops syncing: offline exactly OFFLINE_AFTER_MS after the last sync.
    await tracker.user_syncing(alice.user_id, "online")
    await _settle(OFFLINE_AFTER_MS / 1000 - 0.001)
    assert tracker.presence_of(alice.user_id)["presence"] == "unavailable"
    await _settle(0.002)
    assert tracker.presence_of(alice.user_id)["presence"] == "offline"
    # Syncing again brings her back online; set_presence=offline does not.
    await tracker.user_syncing(alice.user_id, "offline")
    assert tracker.presence_of(alice.user_id)["presence"] == "offline"
    await tracker.user_syncing(alice.user_id, None)
    assert tracker.presence_of(alice.user_id)["presence"] == "online"


async def test_visibility_and_endpoints(
    homeserver: TestHomeserver, autojump_clock: trio.testing.MockClock
) -> None:
    tracker = homeserver.services.presence
    alice = await user(homeserver, "alice")
    bob = await user(homeserver, "bob")
    carol = await user(homeserver, "carol")
    room = await alice.create_room(preset="public_chat")
    assert (await bob.join(room)).status == 200
    start = tracker.position
    put = await alice.client.put(
        _url(alice.user_id), json_body={"presence": "unavailable", "status_msg": "lunch"}
    )
    assert (put.status, put.json()) == (200, {})
    got = (await bob.client.get(_url(alice.user_id))).json()
    assert got["presence"] == "unavailable" and got["status_msg"] == "lunch"
    assert "last_active_ago" not in got  # only activity (online) sets it
    assert (await alice.client.get(_url(alice.user_id))).status == 200
    assert err(await carol.client.get(_url(alice.user_id))) == (403, "M_FORBIDDEN")
    assert err(await alice.client.get(_url("@ghost:localhost"))) == (404, "M_NOT_FOUND")
    assert err(await alice.client.get(_url("ghost")))[0] == 400
    assert await tracker.presence_events_for(carol.user_id, start, tracker.position) == []
    own = await tracker.presence_events_for(alice.user_id, start, tracker.position)
    assert [e["sender"] for e in own] == [alice.user_id]
    assert err(await alice.client.put(_url(bob.user_id), json_body={"presence": "online"})) == (
        403,
        "M_FORBIDDEN",
    )
    for bad in ({}, {"presence": "away"}, {"presence": "online", "status_msg": 5}):
        assert err(await alice.client.put(_url(alice.user_id), json_body=bad))[0] == 400
    # An explicit online is activity; currently_active while recent.
    await alice.client.put(_url(alice.user_id), json_body={"presence": "online"})
    content = tracker.presence_of(alice.user_id)
    assert content["presence"] == "online" and content["currently_active"] is True
    assert "status_msg" not in content


async def test_an_open_long_poll_keeps_its_user_from_going_offline(
    homeserver: TestHomeserver, autojump_clock: trio.testing.MockClock
) -> None:
    tracker = homeserver.services.presence
    alice = await user(homeserver, "alice")
    async with tracker.syncing(alice.user_id, None):
        await _settle(30 * 60)  # a 30-minute long-poll
        # Idle (no activity), but still there: unavailable, never offline.
        assert tracker.presence_of(alice.user_id)["presence"] == "unavailable"
    await _settle(OFFLINE_AFTER_MS / 1000 - 1)
    assert tracker.presence_of(alice.user_id)["presence"] == "unavailable"
    await _settle(2)
    assert tracker.presence_of(alice.user_id)["presence"] == "offline"


async def test_a_long_poll_is_not_cut_short_by_its_own_user_going_offline(
    homeserver: TestHomeserver, autojump_clock: trio.testing.MockClock
) -> None:
    alice = await user(homeserver, "alice")
    first = await alice.client.get(f"{V3}/sync")
    since = first.json()["next_batch"]
    started = trio.current_time()
    second = await alice.client.get(
        f"{V3}/sync", query={"since": since, "timeout": str(30 * 60 * 1000)}
    )
    assert second.status == 200
    # The first change concerning Alice is her own idling to "unavailable"
    # after 5 minutes: not an "offline" after 60 s while she is still polling.
    assert trio.current_time() - started >= IDLE_AFTER_MS / 1000
    events = second.json()["presence"]["events"]
    assert [(e["sender"], e["content"]["presence"]) for e in events] == [
        (alice.user_id, "unavailable")
    ]
