"""Micro-benchmarks of trioserver.protocol (run on demand, not collected by pytest):

    .venv/bin/python -m bench.bench_protocol        # or: python bench/bench_protocol.py

Prints one table: events hashed and signed per second, ``check_auth`` calls per
second (a message and a join), and state resolution of a synthetic room with
1,000 and 10,000 members whose history forks into two branches of 50 state
events each (100 conflicting state events), for v2 (room 10) and v2.1 (room 12).
Event IDs are made up; nothing is read from disk.
"""

from __future__ import annotations

import importlib
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from trioserver.protocol.room_versions import room_version
from trioserver.protocol.state_res import resolve_state, resolve_state_lazy
from trioserver.protocol.state_res.graph import EventStore

Key = tuple[str, str]
Rows = list[tuple[str, str, str]]


def measure(fn: Callable[[], object], *, repeat: int = 5, min_time: float = 0.2) -> float:
    """Seconds per call: the best of ``repeat`` runs of enough calls to last ``min_time``."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or calls >= 1 << 20:
            break
        calls *= 2
    runs = [elapsed / calls]
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - start) / calls)
    return min(runs)


class SyntheticRoom:
    """A room built from made-up event IDs: valid events, auth events chosen
    from the state of the branch they are sent on."""

    def __init__(self, version: str) -> None:
        self.version = room_version(version)
        self.events: dict[str, dict[str, Any]] = {}
        self.room_id = "!create" if self.version.room_id_from_create_event else "!bench:x"
        self.admin = "@admin:x"

    def send(
        self,
        state: dict[Key, str],
        event_type: str,
        sender: str,
        content: dict[str, Any],
        state_key: str | None,
        auth_keys: list[Key],
    ) -> str:
        n = len(self.events)
        event_id = "$create" if event_type == "m.room.create" else f"$ev{n}"
        keys = auth_keys if self.version.room_id_from_create_event else [
            ("m.room.create", ""), *auth_keys
        ]  # fmt: skip
        event: dict[str, Any] = {
            "type": event_type,
            "sender": sender,
            "content": content,
            "origin_server_ts": 1_700_000_000_000 + n,
            "depth": n + 1,
            "prev_events": [],
            "auth_events": sorted({state[k] for k in keys if k in state}),
            "hashes": {"sha256": "x"},
            "signatures": {},
        }
        if event_type != "m.room.create" or not self.version.room_id_from_create_event:
            event["room_id"] = self.room_id
        if state_key is not None:
            event["state_key"] = state_key
            state[(event_type, state_key)] = event_id
        self.events[event_id] = event
        return event_id


def build_forked_room(members: int, version: str, per_branch: int = 50) -> tuple[
    SyntheticRoom, list[dict[Key, str]]
]:  # fmt: skip
    room = SyntheticRoom(version)
    rv = room.version
    admin = room.admin
    state: dict[Key, str] = {}
    create: dict[str, Any] = {"room_version": version}
    if not rv.implicit_room_creator:
        create["creator"] = admin
    room.send(state, "m.room.create", admin, create, "", [])
    me = ("m.room.member", admin)
    room.send(state, "m.room.member", admin, {"membership": "join"}, admin, [])
    users = {f"@u{i}:x": 50 for i in range(0, members, 100)}
    if not rv.privileged_creators:
        users[admin] = 100
    pl, jr = ("m.room.power_levels", ""), ("m.room.join_rules", "")
    room.send(state, "m.room.power_levels", admin, {"users": users}, "", [me])
    room.send(state, "m.room.join_rules", admin, {"join_rule": "public"}, "", [me, pl])
    for i in range(members):
        user = f"@u{i}:x"
        room.send(state, "m.room.member", user, {"membership": "join"}, user, [pl, jr])
    branches = [dict(state), dict(state)]
    for b, branch in enumerate(branches):
        # Every event of a branch sets a different key: each ends up in its
        # branch's state, so the two state sets differ by 2 * per_branch events.
        for j in range(per_branch):
            user = f"@u{(2 * j + b + 1) % members}:x"
            target = ("m.room.member", user)
            if j == 0:
                levels = {**users, user: 10 + b}
                room.send(branch, "m.room.power_levels", admin, {"users": levels}, "", [pl, me])
            elif j == 1:
                room.send(branch, "m.room.topic", admin, {"topic": f"branch {b}"}, "", [pl, me])
            elif j % 10 == 5:
                room.send(branch, "m.room.member", admin, {"membership": "leave"}, user,
                          [pl, me, target])  # fmt: skip
            else:
                content = {"membership": "join", "displayname": f"u {b}/{j}"}
                room.send(branch, "m.room.member", user, content, user, [pl, jr, target])
    return room, branches


def bench_signing(rows: Rows) -> None:
    try:
        hashes = importlib.import_module("trioserver.protocol.hashes")
        signing = importlib.import_module("trioserver.protocol.signing")
        sign_event = hashes.sign_event
        key = signing.signing_key_from_seed(b"\x01" * 32)
    except (ImportError, AttributeError) as exc:
        rows.append(("events hashed+signed", "skipped", f"protocol.hashes not ready: {exc}"))
        return
    event = {
        "room_id": "!r:x",
        "sender": "@a:x",
        "type": "m.room.message",
        "content": {"body": "hello " * 20, "msgtype": "m.text"},
        "origin_server_ts": 1_700_000_000_000,
        "depth": 10,
        "prev_events": ["$p"],
        "auth_events": ["$a", "$b", "$c"],
    }

    def sign() -> None:
        sign_event(event, "x", "ed25519:a", key, "10")

    rows.append(("events hashed+signed", f"{1 / measure(sign):,.0f} /s", "room v10 message"))


def bench_check_auth(rows: Rows) -> None:
    try:
        auth = importlib.import_module("trioserver.protocol.auth")
    except ImportError:
        rows.append(("check_auth", "skipped", "protocol.auth missing"))
        return
    room, (state, _) = build_forked_room(200, "10", per_branch=0)
    events = room.events
    message = {
        "room_id": room.room_id,
        "sender": "@u3:x",
        "type": "m.room.message",
        "content": {"body": "hi", "msgtype": "m.text"},
        "origin_server_ts": 1,
        "depth": 9,
        "prev_events": [],
        "auth_events": [],
    }
    join = dict(message, type="m.room.member", sender="@new:x", state_key="@new:x")
    join["content"] = {"membership": "join"}
    for name, event in (("message", message), ("join", join)):
        keys = auth.auth_event_types(event, "10")
        auth_events = {k: events[state[k]] for k in keys if k in state}
        auth.check_auth(event, auth_events, "10")  # must pass

        def check(event: dict[str, Any] = event, auth_events: Any = auth_events) -> None:
            auth.check_auth(event, auth_events, "10")

        rows.append((f"check_auth ({name})", f"{1 / measure(check):,.0f} /s", "room v10"))


def time_state_res(version: str, members: int) -> tuple[list[float], float, int]:
    """Eager timings (one per run) and the best lazy timing, in seconds."""
    room, state_sets = build_forked_room(members, version)
    events = room.events
    index = EventStore(events)  # stands in for the roomserver's auth chain index

    def fetch(ids: Any) -> dict[str, dict[str, Any]]:
        return {i: events[i] for i in ids if i in events}

    def eager() -> None:
        resolve_state(version, state_sets, events)

    def lazy() -> None:
        resolve_state_lazy(version, state_sets, fetch, index.auth_closure)

    eager()  # warm up, and fail early if it raises
    runs = 5 if members <= 1_000 else 3
    timings = [measure(eager, repeat=1, min_time=0) for _ in range(runs)]
    lazy_time = min(measure(lazy, repeat=1, min_time=0) for _ in range(runs))
    return timings, lazy_time, len(events)


def bench_state_res(rows: Rows) -> None:
    for version, label in (("10", "v2"), ("12", "v2.1")):
        for members in (1_000, 10_000):
            timings, lazy_time, n_events = time_state_res(version, members)
            rows.append((
                f"state res {label} (room {version}), {members:,} members",
                f"{min(timings) * 1000:,.1f} ms",
                f"median {statistics.median(timings) * 1000:,.1f} ms; lazy (index: a walk) "
                f"{lazy_time * 1000:,.1f} ms; {n_events:,} events",
            ))  # fmt: skip


def main() -> None:
    rows: Rows = []
    bench_signing(rows)
    bench_check_auth(rows)
    bench_state_res(rows)
    width = [max(len(r[i]) for r in [("benchmark", "result", "notes"), *rows]) for i in range(3)]
    print(f"Python {sys.version.split()[0]}")
    header = ("benchmark", "result", "notes")
    print("  ".join(h.ljust(w) for h, w in zip(header, width, strict=True)).rstrip())
    print("  ".join("-" * w for w in width))
    for row in rows:
        print(f"{row[0].ljust(width[0])}  {row[1].rjust(width[1])}  {row[2]}".rstrip())


if __name__ == "__main__":
    main()
