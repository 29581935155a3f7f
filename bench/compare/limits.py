"""The ceilings of this machine and our stack, measured in the same run as
the comparison, so that each workload can be read as a fraction of what is
possible here:

* ``http_{get,put}_c{1,20}``: a trivial JSON endpoint on hypercorn +
  quart-trio (:mod:`bench.compare.ping_app`) driven by the benchmark's own
  client (httpx under trio) at concurrency 1 and 20: the most requests/s any
  handler of ours could answer to this client;
* ``sqlite_tx_per_row``: event-sized rows through our database engine, one
  committed transaction each (``synchronous=FULL``, WAL): the bound of one
  sender waiting for each message;
* ``sqlite_group_commit``: the same rows from 20 concurrent writers, which
  the engine batches into shared transactions;
* ``sign_hash_event``: a message event built, canonical-JSON encoded,
  content-hashed, ed25519-signed and its event ID computed, by our own
  protocol code.

``python -m bench.compare.limits`` prints them.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nacl.signing
import trio

from bench.compare.processes import free_port
from trioserver.db.engine import Database
from trioserver.protocol.room_versions import room_version
from trioserver.roomserver.builder import Extremity, ServerIdentity, build_event

__all__ = ["Ceiling", "measure_ceilings"]

MESSAGE = {"msgtype": "m.text", "body": "a message of about the usual length, " * 3}


@dataclass
class Ceiling:
    name: str
    value: float
    unit: str
    detail: dict[str, float] = field(default_factory=dict)


def _spread(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    if not ordered:
        return {}
    return {
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


async def _http_load(url: str, method: str, concurrency: int, seconds: float) -> Ceiling:
    latencies: list[float] = []
    body = json.dumps(MESSAGE).encode() if method == "PUT" else None
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def worker(deadline: float) -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.request(method, url, content=body)
                if response.status_code != 200:
                    raise RuntimeError(f"ping answered {response.status_code}")
                latencies.append(time.perf_counter() - started)

        for measuring in (False, True):  # a warm-up run, then the measured one
            latencies.clear()
            length = seconds if measuring else min(seconds, 0.5)
            started = time.perf_counter()
            async with trio.open_nursery() as nursery:
                for _ in range(concurrency):
                    nursery.start_soon(worker, started + length)
            elapsed = time.perf_counter() - started
    name = f"http_{method.lower()}_c{concurrency}"
    return Ceiling(name, len(latencies) / elapsed, "req/s", _spread(latencies))


async def http_ceilings(seconds: float) -> list[Ceiling]:
    port = free_port()
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "bench.compare.ping_app", "--port", str(port)]
    )
    url = f"http://127.0.0.1:{port}/ping"
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(500):
                try:
                    if (await probe.get(url)).status_code == 200:
                        break
                except httpx.TransportError:
                    await trio.sleep(0.02)
        return [
            await _http_load(url, method, concurrency, seconds)
            for method in ("GET", "PUT")
            for concurrency in (1, 20)
        ]
    finally:
        process.terminate()
        await process.wait()


_ROW = json.dumps({"type": "m.room.message", "content": MESSAGE, "padding": "x" * 200})


def _create_table(conn: object) -> None:
    import sqlite3

    assert isinstance(conn, sqlite3.Connection)
    conn.execute(
        "CREATE TABLE rows (nid INTEGER PRIMARY KEY, room INTEGER NOT NULL,"
        " depth INTEGER NOT NULL, kind INTEGER NOT NULL, json TEXT NOT NULL)"
    )
    conn.execute("CREATE INDEX rows_by_room ON rows (room, depth)")
    conn.commit()


def _insert(conn: object, room: int, depth: int) -> None:
    import sqlite3

    assert isinstance(conn, sqlite3.Connection)
    conn.execute(
        "INSERT INTO rows (room, depth, kind, json) VALUES (?, ?, 7, ?)", (room, depth, _ROW)
    )


async def sqlite_ceilings(workdir: Path, seconds: float) -> list[Ceiling]:
    await trio.Path(workdir).mkdir(parents=True, exist_ok=True)
    db = Database(str(workdir / "ceiling.db"))
    _create_table(db.writer_connection)
    results: list[Ceiling] = []
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(db.run_writer)
            for writers, name in ((1, "sqlite_tx_per_row"), (20, "sqlite_group_commit")):
                counts = [0] * writers
                started = time.perf_counter()
                deadline = started + seconds

                async def writer(
                    index: int, counts: list[int] = counts, deadline: float = deadline
                ) -> None:
                    while time.perf_counter() < deadline:
                        await db.run_write(_insert, index, counts[index])
                        counts[index] += 1

                async with trio.open_nursery() as inner:
                    for index in range(writers):
                        inner.start_soon(writer, index)
                elapsed = time.perf_counter() - started
                results.append(Ceiling(name, sum(counts) / elapsed, "rows/s"))
            nursery.cancel_scope.cancel()
    finally:
        await db.aclose()
    return results


def sign_hash_ceiling(seconds: float) -> Ceiling:
    identity = ServerIdentity("bench.test", "ed25519:bench", nacl.signing.SigningKey.generate())
    version = room_version("12")
    prev = [Extremity("$" + "a" * 43, 10)]
    auth = ["$" + "b" * 43, "$" + "c" * 43, "$" + "d" * 43]
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        build_event(
            version=version,
            room_id="!" + "r" * 43,
            sender="@alice:bench.test",
            event_type="m.room.message",
            content=MESSAGE,
            state_key=None,
            prev_events=prev,
            auth_event_ids=auth,
            origin_server_ts=1_700_000_000_000 + count,
            identity=identity,
        )
        count += 1
    return Ceiling("sign_hash_event", count / (time.perf_counter() - started), "events/s")


async def measure_ceilings(workdir: Path, *, seconds: float = 3.0) -> list[Ceiling]:
    ceilings = await http_ceilings(seconds)
    ceilings.extend(await sqlite_ceilings(workdir, seconds))
    ceilings.append(sign_hash_ceiling(seconds))
    return ceilings


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ceilings-") as tmp:
        for ceiling in trio.run(measure_ceilings, Path(tmp)):
            detail = ", ".join(f"{k} {v:.2f}" for k, v in ceiling.detail.items())
            print(f"{ceiling.name:22} {ceiling.value:10,.0f} {ceiling.unit:9} {detail}")


if __name__ == "__main__":
    main()
