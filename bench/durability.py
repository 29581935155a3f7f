"""Durability under kill -9: acknowledged events survive, retried transaction
IDs make exactly one event, the database file stays intact.

Run on demand:

    .venv/bin/python -m bench.durability [--rounds 20] [--clients 8] [--seed 1]

Each round starts ``python -m trioserver.cli serve`` on the same temporary
database (a free loopback port, open registration, no rate limits), lets
``--clients`` users send messages concurrently with transaction IDs, kills the
server with SIGKILL at a random moment, runs ``PRAGMA integrity_check`` on
the file, restarts the server and checks that

* every event acknowledged before the kill is there (``GET .../event/{id}``),
* each client's in-flight request, retried with the same transaction ID,
  gives one event ID, and the database holds exactly one event with its body.

Prints per round and overall figures; exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import trio

from bench.compare.processes import free_port, wait_until_up

V3 = "/_matrix/client/v3"


@dataclass
class Client:
    user_id: str
    token: str
    index: int


@dataclass
class RoundResult:
    acked: int = 0
    in_flight: int = 0
    in_flight_committed: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    integrity: str = ""
    send_seconds: float = 0.0
    restart_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.lost and not self.duplicates and self.integrity == "ok"


class Server:
    """The homeserver as a child process on ``db``."""

    def __init__(self, db: Path, log: Path) -> None:
        self.db = db
        self.log = log
        self.port = 0
        self.proc: trio.Process | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> float:
        started = time.perf_counter()
        self.port = free_port()
        with self.log.open("ab") as log:
            self.proc = await trio.lowlevel.open_process(
                [
                    sys.executable,
                    "-m",
                    "trioserver.cli",
                    "serve",
                    "--db",
                    str(self.db),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--server-name",
                    "localhost",
                    "--registration",
                    "open",
                    "--no-rate-limits",
                    "--log-level",
                    "WARNING",
                ],
                stdout=log,
                stderr=log,
            )
        assert self.proc is not None
        return await wait_until_up(self.proc, self.base_url, self.log, started)

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs in the server."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            with trio.move_on_after(10):
                await self.proc.wait()
                return
            await self.kill()


async def setup(http: httpx.AsyncClient, clients: int) -> tuple[str, list[Client]]:
    users: list[Client] = []
    for i in range(clients):
        response = await http.post(
            f"{V3}/register",
            json={"username": f"u{i}", "password": "pw", "auth": {"type": "m.login.dummy"}},
        )
        response.raise_for_status()
        body = response.json()
        users.append(Client(body["user_id"], body["access_token"], i))
    response = await http.post(
        f"{V3}/createRoom",
        json={"preset": "public_chat"},
        headers={"Authorization": f"Bearer {users[0].token}"},
    )
    response.raise_for_status()
    room_id = str(response.json()["room_id"])
    for user in users[1:]:
        joined = await http.post(
            f"{V3}/rooms/{quote(room_id)}/join",
            json={},
            headers={"Authorization": f"Bearer {user.token}"},
        )
        joined.raise_for_status()
    return room_id, users


def send_path(room_id: str, txn: str) -> str:
    return f"{V3}/rooms/{quote(room_id, safe='')}/send/m.room.message/{quote(txn, safe='')}"


def count_bodies(db: Path, body: str) -> int:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute(
            "SELECT count(*) FROM events WHERE json_extract(json, '$.content.body') = ?", (body,)
        ).fetchone()
        return int(row[0])
    finally:
        conn.close()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


async def run_round(
    server: Server,
    room_id: str,
    users: list[Client],
    round_no: int,
    rng: random.Random,
    *,
    max_send_seconds: float = 1.5,
) -> RoundResult:
    result = RoundResult()
    acked: dict[str, str] = {}
    in_flight: dict[int, str] = {}
    kill_after = rng.uniform(0.1, max_send_seconds)

    async def sender(user: Client) -> None:
        headers = {"Authorization": f"Bearer {user.token}"}
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            n = 0
            while True:
                txn = f"r{round_no}-c{user.index}-{n}"
                in_flight[user.index] = txn
                try:
                    response = await http.put(
                        send_path(room_id, txn),
                        json={"msgtype": "m.text", "body": txn},
                        headers=headers,
                    )
                except httpx.TransportError:
                    return  # the server died under this request: it stays in flight
                if response.status_code != 200:
                    raise RuntimeError(f"send failed: {response.status_code} {response.text}")
                acked[txn] = str(response.json()["event_id"])
                del in_flight[user.index]
                n += 1

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for user in users:
            nursery.start_soon(sender, user)
        await trio.sleep(kill_after)
        await server.kill()
    result.send_seconds = time.perf_counter() - started
    result.integrity = integrity(server.db)
    result.restart_seconds = await server.start()
    result.acked = len(acked)
    result.in_flight = len(in_flight)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        by_index = {u.index: u for u in users}
        for txn, event_id in acked.items():
            user = users[int(txn.split("-c")[1].split("-")[0])]
            got = await http.get(
                f"{V3}/rooms/{quote(room_id, safe='')}/event/{quote(event_id, safe='')}",
                headers={"Authorization": f"Bearer {user.token}"},
            )
            if got.status_code != 200 or got.json()["content"].get("body") != txn:
                result.lost.append(txn)
        for index, txn in in_flight.items():
            user = by_index[index]
            if count_bodies(server.db, txn):
                result.in_flight_committed += 1
            ids = set()
            for _ in range(2):
                retry = await http.put(
                    send_path(room_id, txn),
                    json={"msgtype": "m.text", "body": txn},
                    headers={"Authorization": f"Bearer {user.token}"},
                )
                retry.raise_for_status()
                ids.add(retry.json()["event_id"])
            if len(ids) != 1 or count_bodies(server.db, txn) != 1:
                result.duplicates.append(txn)
    return result


async def run(rounds: int, clients: int, seed: int, workdir: Path) -> list[RoundResult]:
    rng = random.Random(seed)
    server = Server(workdir / "homeserver.db", workdir / "server.log")
    results: list[RoundResult] = []
    try:
        await server.start()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            room_id, users = await setup(http, clients)
        for round_no in range(rounds):
            result = await run_round(server, room_id, users, round_no, rng)
            results.append(result)
            print(
                f"round {round_no + 1:3d}: acked {result.acked:5d} in {result.send_seconds:5.2f}s"
                f" ({result.acked / max(result.send_seconds, 1e-9):6.0f}/s),"
                f" in flight {result.in_flight} ({result.in_flight_committed} already committed),"
                f" lost {len(result.lost)}, duplicates {len(result.duplicates)},"
                f" integrity {result.integrity}, restart {result.restart_seconds:.2f}s",
                flush=True,
            )
    finally:
        with trio.CancelScope(shield=True):
            await server.stop()
    return results


def summary(results: list[RoundResult]) -> str:
    acked = sum(r.acked for r in results)
    flight = sum(r.in_flight for r in results)
    committed = sum(r.in_flight_committed for r in results)
    bad = [i + 1 for i, r in enumerate(results) if not r.ok]
    return (
        f"{len(results)} rounds: {acked} acknowledged events, all present: {not bad};"
        f" {flight} in-flight transactions retried ({committed} had committed before the kill),"
        f" each exactly one event; integrity_check ok in every round: "
        f"{all(r.integrity == 'ok' for r in results)}; failing rounds: {bad or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trioserver-durability-") as tmp:
        results = trio.run(run, args.rounds, args.clients, args.seed, Path(tmp))
    print(summary(results))
    sys.exit(0 if all(r.ok for r in results) else 1)


if __name__ == "__main__":
    main()
