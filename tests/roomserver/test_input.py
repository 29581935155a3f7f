"""The roomserver's input: one linear history under concurrency, auth, soft-fail,
forks resolved by state resolution, idempotency, crash isolation (MockClock)."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from tests.roomserver.input_helpers import (
    ALICE,
    BOB,
    LOCAL,
    as_remote_input,
    public_room,
    remote_event,
    running_roomserver,
)
from trioserver.roomserver.inputs import InputEvent, InputKind, LocalEvent, Verdict

pytestmark = pytest.mark.usefixtures("autojump_clock")


def message(sender: str, body: str) -> LocalEvent:
    return LocalEvent(sender, "m.room.message", {"msgtype": "m.text", "body": body})


async def bob_joins(rs: Any, queries: Any, room_id: str, version: str = "10") -> str:
    state = await queries.current_state(room_id)
    extremities = await queries.forward_extremities(room_id)
    infos = await queries.event_info(extremities)
    join = remote_event(
        version=version,
        room_id=room_id,
        sender=BOB,
        event_type="m.room.member",
        state_key=BOB,
        content={"membership": "join"},
        prev=[(e, infos[e].depth) for e in extremities],
        auth=[
            state[k]
            for k in (("m.room.create", ""), ("m.room.power_levels", ""), ("m.room.join_rules", ""))
            if k in state and not (version == "12" and k[0] == "m.room.create")
        ],
    )
    result = await rs.input(as_remote_input(join, version))
    assert result.accepted, result
    return join.event_id


@pytest.mark.parametrize("version", ["1", "3", "10", "11", "12"])
async def test_fifty_concurrent_senders_make_one_linear_history(version: str) -> None:
    async with running_roomserver() as (rs, queries, _):
        room_id = await public_room(rs, version)
        results = []

        async def send(i: int) -> None:
            results.append(await rs.send(room_id, message(ALICE, f"message {i}")))

        async with trio.open_nursery() as nursery:
            for i in range(50):
                nursery.start_soon(send, i)
        assert all(r.verdict is Verdict.ACCEPTED for r in results)
        extremities = await queries.forward_extremities(room_id)
        assert len(extremities) == 1
        # Walk back from the single extremity: every event has one prev, and
        # the 50 messages are a chain in their stream order.
        from trioserver.protocol.events import prev_event_ids

        chain = []
        event_id = extremities[0]
        while True:
            pdu = (await queries.events([event_id]))[event_id]
            chain.append(event_id)
            prevs = prev_event_ids(pdu)
            if not prevs:
                break
            assert len(prevs) == 1
            event_id = prevs[0]
        by_position = sorted(results, key=lambda r: r.position or 0)
        assert chain[:50] == [r.event_id for r in reversed(by_position)]
        assert len(chain) == 50 + 4


async def test_a_non_member_is_rejected_and_never_enters_state() -> None:
    async with running_roomserver() as (rs, queries, _):
        room_id = await public_room(rs)
        refused = await rs.send(room_id, message("@mallory:local.test", "hi"))
        assert refused.verdict is Verdict.REJECTED
        assert "not joined" in (refused.reason or "")
        # A remote event from a non-member is stored as rejected.
        state = await queries.current_state(room_id)
        extremities = await queries.forward_extremities(room_id)
        infos = await queries.event_info(extremities)
        intruder = remote_event(
            version="10",
            room_id=room_id,
            sender=BOB,
            event_type="m.room.topic",
            state_key="",
            content={"topic": "taken over"},
            prev=[(e, infos[e].depth) for e in extremities],
            auth=[state[("m.room.create", "")], state[("m.room.power_levels", "")]],
        )
        result = await rs.input(as_remote_input(intruder, "10"))
        assert result.verdict is Verdict.REJECTED
        assert (await queries.event_info([intruder.event_id]))[intruder.event_id].rejected
        assert ("m.room.topic", "") not in (await queries.current_state(room_id) or {})
        assert await queries.forward_extremities(room_id) == extremities


async def test_a_forged_signature_is_dropped_unstored() -> None:
    async with running_roomserver() as (rs, queries, _):
        room_id = await public_room(rs)
        await bob_joins(rs, queries, room_id)
        extremities = await queries.forward_extremities(room_id)
        infos = await queries.event_info(extremities)
        state = await queries.current_state(room_id)
        forged = remote_event(
            version="10",
            room_id=room_id,
            sender=BOB,
            event_type="m.room.message",
            content={"body": "hi"},
            prev=[(e, infos[e].depth) for e in extremities],
            auth=[state[("m.room.create", "")], state[("m.room.member", BOB)]],
            identity=LOCAL.__class__("remote.test", "ed25519:r1", LOCAL.signing_key),
        )
        result = await rs.input(as_remote_input(forged, "10"))
        assert result.verdict is Verdict.DROPPED
        assert await queries.event_info([forged.event_id]) == {}


async def test_an_event_valid_in_its_past_but_not_now_is_soft_failed() -> None:
    async with running_roomserver() as (rs, queries, _):
        room_id = await public_room(rs)
        join_id = await bob_joins(rs, queries, room_id)
        state_at_join = await queries.current_state(room_id)
        ban = await rs.send(
            room_id, LocalEvent(ALICE, "m.room.member", {"membership": "ban"}, state_key=BOB)
        )
        assert ban.accepted
        # Bob's server had not seen the ban: its event cites the join as prev.
        late = remote_event(
            version="10",
            room_id=room_id,
            sender=BOB,
            event_type="m.room.message",
            content={"body": "you can't ban me"},
            prev=[(join_id, (await queries.event_info([join_id]))[join_id].depth)],
            auth=[
                state_at_join[("m.room.create", "")],
                state_at_join[("m.room.power_levels", "")],
                join_id,
            ],
        )
        result = await rs.input(as_remote_input(late, "10"))
        assert result.verdict is Verdict.SOFT_FAILED
        info = (await queries.event_info([late.event_id]))[late.event_id]
        assert info.soft_failed and info.position is None
        assert late.event_id not in await queries.forward_extremities(room_id)
        assert (await queries.membership(room_id, BOB)) == "ban"


@pytest.mark.parametrize("order", ["first_then_second", "second_then_first", "concurrently"])
async def test_two_conflicting_state_changes_resolve_by_state_resolution(order: str) -> None:
    async with running_roomserver() as (rs, queries, _):
        room_id = await public_room(rs)
        join_id = await bob_joins(rs, queries, room_id)
        levels = await rs.send(
            room_id,
            LocalEvent(
                ALICE, "m.room.power_levels", {"users": {ALICE: 100, BOB: 50}}, state_key=""
            ),
        )
        base = levels.event_id
        depth = (await queries.event_info([base]))[base].depth
        state = await queries.current_state(room_id)
        auth = [state[("m.room.create", "")], base, join_id]
        older = remote_event(
            version="10",
            room_id=room_id,
            sender=BOB,
            event_type="m.room.topic",
            state_key="",
            content={"topic": "older"},
            prev=[(base, depth)],
            auth=auth,
            ts=1_000,
        )
        newer = remote_event(
            version="10",
            room_id=room_id,
            sender=BOB,
            event_type="m.room.topic",
            state_key="",
            content={"topic": "newer"},
            prev=[(base, depth)],
            auth=auth,
            ts=2_000,
        )
        pair = [older, newer] if order != "second_then_first" else [newer, older]
        if order == "concurrently":
            async with trio.open_nursery() as nursery:
                for built in pair:
                    nursery.start_soon(rs.input, as_remote_input(built, "10"))
        else:
            for built in pair:
                assert (await rs.input(as_remote_input(built, "10"))).accepted
        current = await queries.current_state(room_id)
        assert current is not None
        # Same sender and power: the later origin_server_ts wins (v2 resolution).
        assert current[("m.room.topic", "")] == newer.event_id
        assert sorted(await queries.forward_extremities(room_id)) == sorted(
            [older.event_id, newer.event_id]
        )
        # The next local event merges the fork: it cites both, and state holds.
        merge = await rs.send(room_id, message(ALICE, "merged"))
        assert merge.pdu is not None and sorted(merge.pdu["prev_events"]) == sorted(
            [older.event_id, newer.event_id]
        )
        assert await queries.forward_extremities(room_id) == [merge.event_id]
        after_merge = await queries.state_at_event(merge.event_id)
        assert after_merge is not None
        assert after_merge[("m.room.topic", "")] == newer.event_id


async def test_duplicate_inputs_store_once_and_do_not_move_state() -> None:
    async with running_roomserver() as (rs, queries, db):
        room_id = await public_room(rs)
        join_id = await bob_joins(rs, queries, room_id)
        depth = (await queries.event_info([join_id]))[join_id].depth
        state = await queries.current_state(room_id)
        topic = remote_event(
            version="10",
            room_id=room_id,
            sender=BOB,
            event_type="m.room.message",
            content={"body": "once"},
            prev=[(join_id, depth)],
            auth=[state[("m.room.create", "")], state[("m.room.power_levels", "")], join_id],
        )
        results = []

        async def send() -> None:
            results.append(await rs.input(as_remote_input(topic, "10")))

        async with trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(send)
        assert [r.duplicate for r in results].count(False) == 1
        assert {r.verdict for r in results} == {Verdict.ACCEPTED}
        assert len({r.position for r in results}) == 1
        # Later, after state moved on, the same event again changes nothing.
        await rs.send(room_id, LocalEvent(ALICE, "m.room.topic", {"topic": "newest"}, state_key=""))
        before = await queries.current_state(room_id)
        again = await rs.input(as_remote_input(topic, "10"))
        assert again.duplicate and again.position == results[0].position
        assert await queries.current_state(room_id) == before
        count = await db.run_read(
            lambda c: c.execute(
                "SELECT count(*) FROM event_ids WHERE event_id = ?", (topic.event_id,)
            ).fetchone()[0]
        )
        assert count == 1


async def test_missing_prev_events_are_reported_not_guessed() -> None:
    async with running_roomserver() as (rs, queries, _):
        room_id = await public_room(rs)
        join_id = await bob_joins(rs, queries, room_id)
        state = await queries.current_state(room_id)
        unknown_prev = "$" + "x" * 43
        orphan = remote_event(
            version="10",
            room_id=room_id,
            sender=BOB,
            event_type="m.room.message",
            content={"body": "from the future"},
            prev=[(unknown_prev, 40)],
            auth=[state[("m.room.create", "")], state[("m.room.power_levels", "")], join_id],
        )
        result = await rs.input(as_remote_input(orphan, "10"))
        assert result.verdict is Verdict.MISSING_PREV_EVENTS
        assert result.missing_prev_events == (unknown_prev,)
        assert await queries.event_info([orphan.event_id]) == {}


async def test_missing_auth_events_are_fetched_as_outliers() -> None:
    fetched: list[list[str]] = []
    store: dict[str, dict[str, Any]] = {}

    class FakeFetcher:
        async def fetch_events(self, origin: str, room_id: str, event_ids: Any) -> list[Any]:
            fetched.append(sorted(event_ids))
            return [store[e] for e in event_ids if e in store]

    async with running_roomserver(fetcher=FakeFetcher()) as (rs, queries, _):
        room_id = await public_room(rs)
        state = await queries.current_state(room_id)
        extremities = await queries.forward_extremities(room_id)
        infos = await queries.event_info(extremities)
        auth = [
            state[("m.room.create", "")],
            state[("m.room.power_levels", "")],
            state[("m.room.join_rules", "")],
        ]
        # Bob's join is only known to his server; his next event cites it.
        join = remote_event(
            version="10",
            room_id=room_id,
            sender=BOB,
            event_type="m.room.member",
            state_key=BOB,
            content={"membership": "join"},
            prev=[(e, infos[e].depth) for e in extremities],
            auth=auth,
        )
        store[join.event_id] = join.pdu
        result = await rs.input(InputEvent(InputKind.OUTLIER, join.pdu, "10", origin="remote.test"))
        assert result.accepted
        msg = remote_event(
            version="10",
            room_id=room_id,
            sender=BOB,
            event_type="m.room.message",
            content={"body": "hello"},
            prev=[(e, infos[e].depth) for e in extremities],
            auth=[auth[0], auth[1], join.event_id],
        )
        # The join is stored (as an outlier), so nothing needs fetching; the
        # message is checked against the state before it, where Bob is not joined.
        verdict = await rs.input(as_remote_input(msg, "10"))
        assert verdict.verdict is Verdict.REJECTED
        fetched_before = list(fetched)
        other = remote_event(
            version="10",
            room_id=room_id,
            sender=BOB,
            event_type="m.room.message",
            content={"body": "again"},
            prev=[(e, infos[e].depth) for e in extremities],
            auth=[auth[0], auth[1], "$" + "q" * 43],
        )
        again = await rs.input(as_remote_input(other, "10"))
        assert fetched[len(fetched_before) :] == [["$" + "q" * 43]]
        assert again.verdict is Verdict.REJECTED and "missing" in (again.reason or "")


async def test_a_crash_fails_one_input_and_the_room_keeps_working(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with running_roomserver() as (rs, queries, _):
        room_id = await public_room(rs)
        processor = rs._processor
        real = processor._commit

        async def flaky(ctx: Any, plan: Any, version: Any) -> Any:
            if plan.pdu.get("content", {}).get("body") == "boom":
                raise RuntimeError("disk on fire")
            return await real(ctx, plan, version)

        monkeypatch.setattr(processor, "_commit", flaky)
        with pytest.raises(RuntimeError):
            await rs.send(room_id, message(ALICE, "boom"))
        ok = await rs.send(room_id, message(ALICE, "still here"))
        assert ok.accepted
        assert await queries.forward_extremities(room_id) == [ok.event_id]


async def test_a_flood_into_one_room_is_bounded_and_everyone_answered() -> None:
    async with running_roomserver(queue_size=100, submit_timeout=3600) as (rs, queries, _):
        room_id = await public_room(rs)
        most_queued = 0
        answered = 0

        async def send(i: int) -> None:
            nonlocal most_queued, answered
            most_queued = max(most_queued, rs.statistics().workers.queued)
            assert (await rs.send(room_id, message(ALICE, str(i)))).accepted
            answered += 1

        async with trio.open_nursery() as nursery:
            for i in range(1000):
                nursery.start_soon(send, i)
        assert answered == 1000
        assert most_queued <= 100
        assert len(await queries.forward_extremities(room_id)) == 1


async def test_output_carries_state_deltas_and_catches_up_from_storage(tmp_path: Any) -> None:
    path = str(tmp_path / "rs.db")
    async with running_roomserver(path) as (rs, _, _):
        room_id = await public_room(rs)
        await rs.send(room_id, LocalEvent(ALICE, "m.room.topic", {"topic": "a"}, state_key=""))
        topic_b = await rs.send(
            room_id, LocalEvent(ALICE, "m.room.topic", {"topic": "b"}, state_key="")
        )
        await rs.send(room_id, message(ALICE, "hi"))
        live = await rs.output.read(0, 100)
    async with running_roomserver(path) as (rs2, _, _):
        assert rs2.output.position == live[-1].position
        replay = await rs2._catch_up(0, rs2.output.position)
    assert [(e.event_id, e.adds_state, e.removes_state) for e in replay] == [
        (e.event_id, e.adds_state, e.removes_state) for e in live
    ]
    by_id = {e.event_id: e for e in live}
    assert by_id[topic_b.event_id].adds_state == (topic_b.event_id,)
    assert len(by_id[topic_b.event_id].removes_state) == 1
    assert live[-1].adds_state == () and live[-1].removes_state == ()


async def test_queries_answer_in_string_ids_and_filter_by_key() -> None:
    async with running_roomserver() as (rs, queries, _):
        room_id = await public_room(rs)
        topic = await rs.send(
            room_id, LocalEvent(ALICE, "m.room.topic", {"topic": "t"}, state_key="")
        )
        msg = await rs.send(room_id, message(ALICE, "after the topic"))
        only = await queries.state_at_event(msg.event_id, keys=[("m.room.topic", "")])
        assert only == {("m.room.topic", ""): topic.event_id}
        assert await queries.state_at_event(msg.event_id, keys=[("m.room.name", "")]) == {}
        before_topic = await queries.state_at_event(topic.event_id)
        assert before_topic is not None and ("m.room.topic", "") not in before_topic
        after_topic = await queries.state_at_event(topic.event_id, after=True)
        assert after_topic is not None and after_topic[("m.room.topic", "")] == topic.event_id
        assert await queries.room_version(room_id) == "10"
        assert await queries.rooms_for_user(ALICE) == {room_id: "join"}
        assert await queries.servers_in_room(room_id) == {"local.test"}
        chain = await queries.auth_chain([msg.event_id])
        assert len(chain) >= 3


async def test_backfilled_history_is_stored_with_supplied_state_but_not_live() -> None:
    async with running_roomserver() as (rs, queries, _):
        room_id = await public_room(rs)
        join_id = await bob_joins(rs, queries, room_id)
        state = await queries.current_state(room_id)
        assert state is not None
        position_before = rs.output.position
        # An old event of Bob's whose prev event we never saw; its server
        # told us the state before it (all of whose events we hold).
        old = remote_event(
            version="10",
            room_id=room_id,
            sender=BOB,
            event_type="m.room.message",
            content={"body": "from long ago"},
            prev=[("$" + "o" * 43, 3)],
            auth=[state[("m.room.create", "")], state[("m.room.power_levels", "")], join_id],
        )
        without_state = await rs.input(
            InputEvent(InputKind.BACKFILL, old.pdu, "10", origin="remote.test")
        )
        assert without_state.verdict is Verdict.MISSING_PREV_EVENTS
        stored = await rs.input(
            InputEvent(InputKind.BACKFILL, old.pdu, "10", origin="remote.test", state_before=state)
        )
        assert stored.accepted and stored.position is None
        info = (await queries.event_info([old.event_id]))[old.event_id]
        assert not info.is_outlier and info.position is None
        assert await queries.state_at_event(old.event_id) == state
        # History changes neither the live stream nor the room's present.
        assert rs.output.position == position_before
        assert old.event_id not in await queries.forward_extremities(room_id)
        assert await queries.current_state(room_id) == state


async def test_two_identical_v12_creations_in_one_millisecond_make_two_rooms() -> None:
    async with running_roomserver() as (rs, _, _):
        # Under the mock clock no time passes between the two calls.
        first, one = await rs.create_room(ALICE, "12", {})
        second, two = await rs.create_room(ALICE, "12", {})
        assert first != second
        assert one.accepted and two.accepted and not two.duplicate
