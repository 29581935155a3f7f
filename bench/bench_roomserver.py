"""Roomserver throughput and state queries, on a real database file.

Run on demand (never part of the test suite):

    .venv/bin/python -m bench.bench_roomserver [--members 10000] [--messages 2000]

Prints: events input per second into one room (one sender after another,
and 50 concurrent senders), across 100 rooms (concurrently), and the time of
state-at-event queries in a room with --members joined users.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nacl.signing
import trio

from trioserver.roomserver.builder import ServerIdentity
from trioserver.roomserver.inputs import LocalEvent
from trioserver.roomserver.queries import RoomQueries
from trioserver.roomserver.service import Roomserver
from trioserver.server import open_database
from trioserver.util.clock import SystemClock

SERVER = "bench.test"
ALICE = f"@alice:{SERVER}"


def message(sender: str, i: int) -> LocalEvent:
    return LocalEvent(sender, "m.room.message", {"msgtype": "m.text", "body": f"message {i}"})


async def new_room(rs: Roomserver) -> str:
    room_id, _ = await rs.create_room(ALICE, "10", {})
    await rs.send(
        room_id, LocalEvent(ALICE, "m.room.member", {"membership": "join"}, state_key=ALICE)
    )
    await rs.send(
        room_id, LocalEvent(ALICE, "m.room.join_rules", {"join_rule": "public"}, state_key="")
    )
    return room_id


async def run(args: argparse.Namespace) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = await open_database(str(Path(tmp) / "bench.db"))
        async with trio.open_nursery() as nursery:
            await nursery.start(db.run_writer)
            identity = ServerIdentity(SERVER, "ed25519:b", nacl.signing.SigningKey.generate())
            rs = await Roomserver.open(db, SystemClock(), identity, queue_size=200)
            await nursery.start(rs.run)
            queries = RoomQueries(db, rs.events)

            room = await new_room(rs)
            started = time.perf_counter()
            for i in range(args.messages):
                await rs.send(room, message(ALICE, i))
            elapsed = time.perf_counter() - started
            rows.append(
                ("one room, one sender after another", f"{args.messages / elapsed:,.0f} events/s")
            )

            started = time.perf_counter()
            async with trio.open_nursery() as senders:
                for task in range(50):

                    async def send_many(task: int = task) -> None:
                        for i in range(args.messages // 50):
                            await rs.send(room, message(ALICE, task * 1000 + i))

                    senders.start_soon(send_many)
            elapsed = time.perf_counter() - started
            rows.append(
                ("one room, 50 concurrent senders", f"{args.messages / elapsed:,.0f} events/s")
            )

            rooms = [await new_room(rs) for _ in range(100)]
            per_room = max(1, args.messages // 100)
            started = time.perf_counter()
            async with trio.open_nursery() as senders:
                for room_id in rooms:

                    async def fill(room_id: str = room_id) -> None:
                        for i in range(per_room):
                            await rs.send(room_id, message(ALICE, i))

                    senders.start_soon(fill)
            elapsed = time.perf_counter() - started
            rows.append(("100 rooms, concurrently", f"{per_room * 100 / elapsed:,.0f} events/s"))
            stats = db.statistics()
            rows.append(
                ("write transactions / jobs so far", f"{stats.transactions:,} / {stats.jobs:,}")
            )

            big = await new_room(rs)
            started = time.perf_counter()
            async with trio.open_nursery() as joiners:
                for chunk in range(20):

                    async def join_chunk(chunk: int = chunk) -> None:
                        for n in range(chunk, args.members, 20):
                            user = f"@user{n}:{SERVER}"
                            await rs.send(
                                big,
                                LocalEvent(
                                    user, "m.room.member", {"membership": "join"}, state_key=user
                                ),
                            )

                    joiners.start_soon(join_chunk)
            elapsed = time.perf_counter() - started
            rows.append(
                (f"{args.members:,} joins into one room", f"{args.members / elapsed:,.0f} joins/s")
            )
            probe = await rs.send(big, message(ALICE, 0))
            full: list[float] = []
            one_key: list[float] = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                state = await queries.state_at_event(probe.event_id)
                full.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                await queries.state_at_event(probe.event_id, keys=[("m.room.member", ALICE)])
                one_key.append(time.perf_counter() - t0)
            assert state is not None and len(state) >= args.members
            rows.append(
                (
                    f"state at an event, {len(state):,} entries (full)",
                    f"{statistics.median(full) * 1000:.1f} ms",
                )
            )
            rows.append(
                ("state at an event, one key", f"{statistics.median(one_key) * 1000:.1f} ms")
            )
            size = (Path(tmp) / "bench.db").stat().st_size
            rows.append(("database size", f"{size / 1e6:.1f} MB"))
            nursery.cancel_scope.cancel()
        await db.aclose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}")
    rows = trio.run(run, args)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>18}")


if __name__ == "__main__":
    main()
