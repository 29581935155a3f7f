"""The workloads of ``python -m bench compare``, all through the public
client-server API, each checking its own results (a fast wrong answer fails).

Each workload takes a :class:`~bench.compare.target.Target` and a scale and
returns its figures (a flat ``{metric: value}``); setup work is not timed.
Workload 10 (memory, disk, start-up) is measured by the runner, not here.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import trio

from bench.compare.client import Session, WorkloadFailed
from bench.compare.processes import Server
from bench.compare.target import Target

__all__ = ["WORKLOADS", "Workload", "percentile"]

Figures = dict[str, float]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def scaled(count: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, round(count * scale))


def latency_figures(prefix: str, seconds: list[float]) -> Figures:
    ms = [s * 1000 for s in seconds]
    return {
        f"{prefix}p50_ms": percentile(ms, 0.5),
        f"{prefix}p99_ms": percentile(ms, 0.99),
        f"{prefix}max_ms": max(ms),
    }


async def expect_bodies(target: Target, reader: Session, room_id: str, wanted: list[str]) -> None:
    """The room's messages with the workload's prefix are exactly ``wanted``, in order."""
    prefix = wanted[0].split(" ")[0] + " " if wanted else ""
    got, _ = await target.http.all_bodies(reader, room_id, prefix)
    if got != wanted:
        missing = len(set(wanted) - set(got))
        raise WorkloadFailed(
            f"room {room_id}: {len(got)} messages, {missing} missing, want {len(wanted)} in order"
        )


async def send_sequence(
    target: Target, session: Session, room_id: str, bodies: list[str]
) -> list[float]:
    """Send ``bodies`` one after another; the latency of each send in seconds."""
    latencies: list[float] = []
    for body in bodies:
        started = time.perf_counter()
        await target.http.send_text(session, room_id, body)
        latencies.append(time.perf_counter() - started)
    target.messages_sent += len(bodies)
    return latencies


# 1. Registration


async def w1_register(target: Target, scale: float) -> Figures:
    count = scaled(50, scale)
    names = [target.fresh_name("r") for _ in range(count)]
    latencies: list[float] = []
    sessions: list[Session] = []
    started = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        sessions.append(await target.http.register(name))
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    for session, name in zip(sessions, names, strict=True):
        whoami = await target.http.request("GET", "/_matrix/client/v3/account/whoami", session)
        if not str(whoami.get("user_id", "")).startswith(f"@{name}:"):
            raise WorkloadFailed(f"whoami gave {whoami!r} for {name}")
    target.pool.extend(sessions)
    return {"users_per_s": count / elapsed, **latency_figures("", latencies)}


# 2. One sender, one message after another


async def sequential_room(target: Target, scale: float) -> tuple[Session, str, list[str], Figures]:
    """Workload 2's room: one user sends its messages one after another."""
    (sender,) = await target.users(1)
    room_id = await target.http.create_room(sender)
    bodies = [f"seq{target.tag} {i}" for i in range(scaled(1000, scale))]
    started = time.perf_counter()
    latencies = await send_sequence(target, sender, room_id, bodies)
    elapsed = time.perf_counter() - started
    target.state["w2"] = (sender, room_id, bodies)
    figures = {"msgs_per_s": len(bodies) / elapsed, **latency_figures("", latencies)}
    return sender, room_id, bodies, figures


async def w2_sequential(target: Target, scale: float) -> Figures:
    sender, room_id, bodies, figures = await sequential_room(target, scale)
    await expect_bodies(target, sender, room_id, bodies)
    return figures


# 3 and 4. Concurrent senders


async def concurrent_senders(
    target: Target, senders: list[Session], rooms: list[str], per_sender: int, tag: str
) -> tuple[float, list[float], list[list[str]]]:
    """Each sender sends ``per_sender`` messages in its room, all at once."""
    bodies = [[f"{tag} {s}.{i}" for i in range(per_sender)] for s in range(len(senders))]
    latencies: list[float] = []

    async def run(index: int) -> None:
        latencies.extend(await send_sequence(target, senders[index], rooms[index], bodies[index]))

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for index in range(len(senders)):
            nursery.start_soon(run, index)
    return time.perf_counter() - started, latencies, bodies


async def w3_many_rooms(target: Target, scale: float) -> Figures:
    senders = await target.users(20)
    rooms = [await target.http.create_room(sender) for sender in senders]
    per_sender = scaled(100, scale)
    tag = target.fresh_name("many")
    elapsed, latencies, bodies = await concurrent_senders(target, senders, rooms, per_sender, tag)
    for sender, room_id, wanted in zip(senders, rooms, bodies, strict=True):
        await expect_bodies(target, sender, room_id, wanted)
    total = per_sender * len(senders)
    return {"msgs_per_s": total / elapsed, **latency_figures("", latencies)}


async def w4_one_room(target: Target, scale: float) -> Figures:
    senders = await target.users(20)
    room_id = await target.room_with(senders)
    per_sender = scaled(50, scale)
    tag = target.fresh_name("one")
    elapsed, latencies, bodies = await concurrent_senders(
        target, senders, [room_id] * len(senders), per_sender, tag
    )
    got, _ = await target.http.all_bodies(senders[0], room_id, tag + " ")
    for index, wanted in enumerate(bodies):
        mine = [body for body in got if body.startswith(f"{tag} {index}.")]
        if mine != wanted:
            raise WorkloadFailed(f"sender {index}: {len(mine)} of {len(wanted)} in order")
    if len(got) != len(senders) * per_sender:
        raise WorkloadFailed(f"{len(got)} messages in the room, want {len(senders) * per_sender}")
    return {"msgs_per_s": len(got) / elapsed, **latency_figures("", latencies)}


# 5. Fan-out to long-polling members


def room_only_filter(room_id: str, timeline_limit: int) -> dict[str, Any]:
    return {
        "room": {
            "rooms": [room_id],
            "timeline": {"limit": timeline_limit},
            "state": {"types": []},
            "ephemeral": {"types": []},
            "account_data": {"types": []},
        },
        "presence": {"types": []},
        "account_data": {"types": []},
    }


async def w5_fanout(target: Target, scale: float) -> Figures:
    return await fanout(target, scaled(50, scale, minimum=2), scaled(100, scale))


async def fanout(target: Target, member_count: int, count: int) -> Figures:
    """``member_count`` members each long-poll while ``count`` messages are
    sent one by one: send-to-delivery latency over all (message, receiver)."""
    members = await target.users(member_count)
    room_id = await target.room_with(members)
    tag = target.fresh_name("fan")
    bodies = [f"{tag} {i}" for i in range(count)]
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    received: list[list[str]] = [[] for _ in members]
    sync_filter = room_only_filter(room_id, 200)
    ready = trio.Event()
    waiting = len(members)

    async def receive(index: int) -> None:
        nonlocal waiting
        session = members[index]
        answer, _size = await target.http.sync(session, filter_=sync_filter)
        since = answer["next_batch"]
        waiting -= 1
        if waiting == 0:
            ready.set()
        while len(received[index]) < count:
            answer, _size = await target.http.sync(
                session, since=since, timeout_ms=30_000, filter_=sync_filter
            )
            arrived = time.perf_counter()
            since = answer["next_batch"]
            room = answer.get("rooms", {}).get("join", {}).get(room_id, {})
            for event in room.get("timeline", {}).get("events", []):
                body = event.get("content", {}).get("body")
                if event.get("type") == "m.room.message" and body in sent_at:
                    received[index].append(body)
                    latencies.append(arrived - sent_at[body])

    async def send() -> None:
        await ready.wait()
        await trio.sleep(0.5)  # let every long-poll reach the server
        for body in bodies:
            sent_at[body] = time.perf_counter()
            await target.http.send_text(members[0], room_id, body)
        target.messages_sent += len(bodies)

    with trio.fail_after(300):
        async with trio.open_nursery() as nursery:
            for index in range(len(members)):
                nursery.start_soon(receive, index)
            nursery.start_soon(send)
    for index, got in enumerate(received):
        if got != bodies:
            raise WorkloadFailed(f"receiver {index} saw {len(got)} of {count}, or out of order")
    return latency_figures("", latencies)


# 6. Initial sync


async def initial_sync_setup(target: Target, scale: float) -> tuple[str, list[str], list[str]]:
    """A user in 20 rooms of 10 members with 50 messages each (made once)."""
    if "w6" in target.state:
        setup: tuple[str, list[str], list[str]] = target.state["w6"]
        return setup
    (owner,) = await target.register(1, prefix="s")
    others = await target.users(9)
    rooms: list[str] = []
    last: list[str] = []
    per_room = scaled(50, scale)
    for r in range(20):
        room_id = await target.room_with([owner, *others])
        rooms.append(room_id)
        senders = [owner, *others]
        bodies = [f"init{target.tag} {r}.{i}" for i in range(per_room)]
        for i, body in enumerate(bodies):
            await target.http.send_text(senders[i % len(senders)], room_id, body)
        target.messages_sent += len(bodies)
        last.append(bodies[-1])
    target.state["w6"] = (owner.user_id, rooms, last)
    return owner.user_id, rooms, last


async def w6_initial_sync(target: Target, scale: float) -> Figures:
    user_id, rooms, last = await initial_sync_setup(target, scale)
    session = await target.http.login(user_id)  # a new device: nothing cached for it
    started = time.perf_counter()
    answer, size = await target.http.sync(session, filter_={"room": {"timeline": {"limit": 10}}})
    elapsed = time.perf_counter() - started
    joined = answer.get("rooms", {}).get("join", {})
    if set(joined) != set(rooms):
        raise WorkloadFailed(f"initial sync has {len(joined)} joined rooms, want {len(rooms)}")
    for room_id, body in zip(rooms, last, strict=True):
        events = joined[room_id].get("timeline", {}).get("events", [])
        bodies = [e.get("content", {}).get("body") for e in events]
        if not bodies or bodies[-1] != body:
            raise WorkloadFailed(f"{room_id}: timeline does not end with {body!r}")
        members = {
            e.get("state_key")
            for e in [*joined[room_id].get("state", {}).get("events", []), *events]
            if e.get("type") == "m.room.member" and e.get("content", {}).get("membership") == "join"
        }
        if len(members) != 10:
            raise WorkloadFailed(f"{room_id}: {len(members)} joined members in sync, want 10")
    return {"ms": elapsed * 1000, "bytes": float(size)}


# 7. Idle long-polls


async def idle_long_polls(target: Target, polls: int, seconds: float) -> Figures:
    """``polls`` users each hold a long-poll for ``seconds``: the server's CPU
    (percent of one core) and memory meanwhile."""
    users = await target.users(polls)
    server = target.server
    started = trio.Event()
    pending = len(users)

    async def poll(session: Session) -> None:
        nonlocal pending
        answer, _ = await target.http.sync(session, filter_={"room": {"timeline": {"limit": 1}}})
        pending -= 1
        if pending == 0:
            started.set()
        while True:
            answer, _ = await target.http.sync(
                session, since=answer["next_batch"], timeout_ms=int(seconds * 1000) + 60_000
            )

    async with trio.open_nursery() as nursery:
        for session in users:
            nursery.start_soon(poll, session)
        with trio.fail_after(600):
            await started.wait()
        await settle(server)
        cpu0 = server.cpu_seconds()
        t0 = time.perf_counter()
        await trio.sleep(seconds)
        cpu1 = server.cpu_seconds()
        elapsed = time.perf_counter() - t0
        rss = server.rss_bytes()
        nursery.cancel_scope.cancel()
    if cpu0 is None or cpu1 is None or rss is None:
        raise WorkloadFailed("the server's /proc figures are not readable (--target?)")
    return {"cpu_percent": (cpu1 - cpu0) / elapsed * 100, "rss_mib": rss / 2**20}


async def settle(server: Server, *, quiet_percent: float = 5.0, limit: float = 30.0) -> None:
    """Wait until the long-polls have all reached the server and it is
    quiet: a 1 s window under ``quiet_percent`` of a core (at most ``limit`` s)."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        before = server.cpu_seconds()
        await trio.sleep(1)
        after = server.cpu_seconds()
        if before is None or after is None or (after - before) * 100 < quiet_percent:
            return


async def w7_idle(target: Target, scale: float) -> Figures:
    return await idle_long_polls(target, scaled(200, scale), 10.0)


# 8. Back-pagination


async def w8_paginate(target: Target, scale: float) -> Figures:
    if "w2" not in target.state:
        await sequential_room(target, scale)
    reader, room_id, bodies = target.state["w2"]
    prefix = bodies[0].split(" ")[0] + " "
    started = time.perf_counter()
    got, pages = await target.http.all_bodies(reader, room_id, prefix)
    elapsed = time.perf_counter() - started
    if got != bodies:
        raise WorkloadFailed(f"paginated {len(got)} messages, want {len(bodies)} in order")
    return {
        "ms": elapsed * 1000,
        "events_per_s": len(got) / elapsed,
        "pages_per_s": pages / elapsed,
    }


# 9. A big room


async def big_room(target: Target, scale: float) -> tuple[str, int]:
    """A public room with 2,000 joined members (made once per server)."""
    if "w9" in target.state:
        made: tuple[str, int] = target.state["w9"]
        return made
    members = scaled(2000, scale, minimum=2)
    users = await target.users(members)
    started = time.perf_counter()
    room_id = await target.room_with(users)
    target.state["w9_join_rate"] = (members - 1) / (time.perf_counter() - started)
    target.state["w9"] = (room_id, members)
    return room_id, members


async def w9_big_room(target: Target, scale: float) -> Figures:
    room_id, members = await big_room(target, scale)
    (newcomer,) = await target.register(1, prefix="j")
    started = time.perf_counter()
    await target.http.join(newcomer, room_id)
    join_ms = (time.perf_counter() - started) * 1000
    target.state["w9_newcomers"] = target.state.get("w9_newcomers", 0) + 1
    tag = target.fresh_name("big")
    bodies = [f"{tag} {i}" for i in range(20)]
    latencies = await send_sequence(target, newcomer, room_id, bodies)
    joined = await target.http.request(
        "GET", f"/_matrix/client/v3/rooms/{room_id}/joined_members", newcomer
    )
    count = len(joined.get("joined", {}))
    expected = members + int(target.state["w9_newcomers"])
    if count != expected:
        raise WorkloadFailed(f"{count} joined members, want {expected}")
    await expect_bodies(target, newcomer, room_id, bodies)
    return {
        "join_ms": join_ms,
        "send_p50_ms": statistics.median(latencies) * 1000,
        "setup_joins_per_s": float(target.state["w9_join_rate"]),
    }


@dataclass(frozen=True)
class Workload:
    number: int
    title: str
    #: The figure compared between servers, and whether more is better.
    primary: str
    higher_is_better: bool
    run: Callable[[Target, float], Awaitable[Figures]]
    #: The ceilings (by name) that bound the primary figure, when it is a rate.
    bounded_by: tuple[str, ...] = ()
    #: The figure set against those ceilings (the primary one if empty).
    bound_figure: str = ""


WORKLOADS: tuple[Workload, ...] = (
    Workload(1, "register 50 users", "users_per_s", True, w1_register),
    Workload(
        2,
        "1 user sends 1,000 messages in turn",
        "msgs_per_s",
        True,
        w2_sequential,
        ("http_put_c1", "sqlite_tx_per_row", "sign_hash_event"),
    ),
    Workload(
        3,
        "20 users, own rooms, 100 messages each at once",
        "msgs_per_s",
        True,
        w3_many_rooms,
        ("http_put_c20", "sqlite_group_commit", "sign_hash_event"),
    ),
    Workload(
        4,
        "20 users, one room, 50 messages each at once",
        "msgs_per_s",
        True,
        w4_one_room,
        ("http_put_c20", "sqlite_group_commit", "sign_hash_event"),
    ),
    Workload(5, "fan-out to 50 long-polls, 100 messages", "p99_ms", False, w5_fanout),
    Workload(6, "initial sync, 20 rooms x 50 messages", "ms", False, w6_initial_sync),
    Workload(7, "200 idle long-polls for 10 s", "cpu_percent", False, w7_idle),
    Workload(
        8,
        "back-paginate 1,000 messages, limit 100",
        "events_per_s",
        True,
        w8_paginate,
        ("http_get_c1",),
        "pages_per_s",
    ),
    Workload(9, "join a 2,000-member room and send", "join_ms", False, w9_big_room),
)
