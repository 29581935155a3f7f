"""Per-room workers: ordering, backpressure, idle exit, crash isolation (MockClock)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import trio
import trio.lowlevel
import trio.testing

from trioserver.roomserver.workers import RoomBusy, RoomWorkers


@pytest.fixture
async def nursery() -> AsyncIterator[trio.Nursery]:
    async with trio.open_nursery() as nursery:
        yield nursery
        nursery.cancel_scope.cancel()


async def start(
    nursery: trio.Nursery, process: Callable[[str, int], object], **kwargs: object
) -> RoomWorkers[int, object]:
    workers: RoomWorkers[int, object] = RoomWorkers(process, **kwargs)  # type: ignore[arg-type]
    await nursery.start(workers.run)
    return workers


async def test_items_of_one_room_run_one_at_a_time_in_order(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    running = 0
    most = 0
    seen: list[int] = []

    async def process(room: str, item: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await trio.sleep(0.01)
        seen.append(item)
        running -= 1
        return item * 2

    workers = await start(nursery, process)
    results: dict[int, object] = {}
    async with trio.open_nursery() as senders:
        for i in range(50):

            async def send(i: int = i) -> None:
                results[i] = await workers.submit("!room", i)

            senders.start_soon(send)
            await trio.testing.wait_all_tasks_blocked()  # i entered the channel before i+1
    assert most == 1
    assert seen == list(range(50))
    assert results == {i: i * 2 for i in range(50)}


async def test_rooms_proceed_independently(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    gate = trio.Event()

    async def process(room: str, item: int) -> str:
        if room == "!slow":
            await gate.wait()
        return room

    workers = await start(nursery, process)
    async with trio.open_nursery() as senders:
        senders.start_soon(workers.submit, "!slow", 1)
        assert await workers.submit("!fast", 1) == "!fast"  # not stuck behind !slow
        gate.set()


async def test_a_flood_into_one_room_stays_bounded_and_everyone_is_answered(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    most_queued = 0

    async def process(room: str, item: int) -> int:
        nonlocal most_queued
        most_queued = max(most_queued, workers.statistics().queued)
        await trio.lowlevel.checkpoint()
        return item

    workers = await start(nursery, process, queue_size=100, submit_timeout=3600)
    answered = 0

    async def send(i: int) -> None:
        nonlocal answered
        assert await workers.submit("!flood", i) == i
        answered += 1

    async with trio.open_nursery() as senders:
        for i in range(10_000):
            senders.start_soon(send, i)
    assert answered == 10_000
    assert most_queued <= 100
    assert workers.statistics().processed == 10_000


async def test_a_full_room_refuses_past_the_deadline(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    gate = trio.Event()

    async def process(room: str, item: int) -> int:
        await gate.wait()
        return item

    workers = await start(nursery, process, queue_size=2, submit_timeout=5)
    async with trio.open_nursery() as senders:
        for i in range(3):  # one being processed, two queued
            senders.start_soon(workers.submit, "!busy", i)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(RoomBusy) as refused:
            await workers.submit("!busy", 99)
        assert refused.value.errcode == "M_LIMIT_EXCEEDED"
        assert refused.value.to_json()["retry_after_ms"] == 5000
        assert refused.value.status == 429
        gate.set()
    assert workers.statistics().busy_refusals == 1
    assert workers.statistics().processed == 3


async def test_idle_workers_exit_and_come_back(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async def process(room: str, item: int) -> int:
        return item

    workers = await start(nursery, process, idle_timeout=30)
    await workers.submit("!a", 1)
    assert workers.statistics().workers == 1
    await trio.sleep(29)
    assert workers.statistics().workers == 1
    await trio.sleep(2)
    assert workers.statistics().workers == 0
    assert await workers.submit("!a", 2) == 2
    assert workers.statistics().workers_started == 2


async def test_a_crash_fails_only_its_item_and_the_room_keeps_working(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def process(room: str, item: int) -> int:
        if item == 2:
            raise ZeroDivisionError("boom")
        return item

    workers = await start(nursery, process, describe=lambda item: f"event {item}")
    results: dict[int, object] = {}

    async def send(i: int) -> None:
        try:
            results[i] = await workers.submit("!r", i)
        except ZeroDivisionError as exc:
            results[i] = exc

    async with trio.open_nursery() as senders:
        for i in range(1, 4):
            senders.start_soon(send, i)
            await trio.testing.wait_all_tasks_blocked()
    assert results[1] == 1 and results[3] == 3
    assert isinstance(results[2], ZeroDivisionError)
    assert any("event 2" in r.getMessage() and "!r" in r.getMessage() for r in caplog.records)
    assert await workers.submit("!r", 4) == 4


async def test_submitting_from_inside_a_worker_is_refused(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async def process(room: str, item: int) -> object:
        if item == 1:
            return await workers.submit("!other", 2)
        return item

    workers = await start(nursery, process)
    with pytest.raises(RuntimeError, match="deadlock"):
        await workers.submit("!r", 1)


async def test_stopping_fails_what_is_queued(autojump_clock: trio.testing.MockClock) -> None:
    from trioserver.roomserver.workers import WorkerStopped

    outcomes: list[object] = []

    async def process(room: str, item: int) -> int:
        await trio.sleep_forever()
        return item

    async def send(workers: RoomWorkers[int, object], i: int) -> None:
        try:
            outcomes.append(await workers.submit("!r", i))
        except WorkerStopped as exc:
            outcomes.append(exc)

    async with trio.open_nursery() as outer, trio.open_nursery() as service:
        workers: RoomWorkers[int, object] = RoomWorkers(process)  # type: ignore[arg-type]
        await service.start(workers.run)
        for i in range(3):
            outer.start_soon(send, workers, i)
        await trio.testing.wait_all_tasks_blocked()
        service.cancel_scope.cancel()
    assert len(outcomes) == 3
    assert all(isinstance(o, WorkerStopped) for o in outcomes)
