"""/sync on a real server: fan-out latency, initial sync, idle long-polls.

Run on demand (never part of the test suite):

    .venv/bin/python -m bench.bench_sync [--members 50] [--messages 100] [--idle 1000]

Starts ``trioserver serve`` on a fresh database (loopback, open registration,
no rate limits) and measures, through the client API:

* send-to-delivery latency (p50/p99/max over every (message, receiver) pair)
  when ``--members`` members of one room each hold a long-poll and
  ``--messages`` messages are sent one by one; every receiver must see every
  message once, in order;
* the initial ``/sync`` of a user in 20 rooms of 50 messages and 10 members
  (time and bytes, median of 5 fresh devices);
* the server's CPU (percent of one core) and memory while ``--idle`` users
  each hold a long-poll for 10 s.

The same workloads are workloads 5-7 of ``python -m bench compare``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import trio

from bench.compare.client import open_http
from bench.compare.processes import run_trioserver
from bench.compare.target import Target
from bench.compare.workloads import fanout, idle_long_polls, w6_initial_sync


async def run(args: argparse.Namespace, work: Path) -> None:
    async with run_trioserver(work) as server, open_http(server.base_url) as http:
        target = Target(server, http)
        rss = server.rss_bytes() or 0
        print(f"started in {server.startup_seconds or 0:.2f} s, RSS {rss / 2**20:.0f} MiB")
        spread = await fanout(target, args.members, args.messages)
        print(
            f"fan-out to {args.members} long-polls, {args.messages} messages: "
            f"p50 {spread['p50_ms']:.1f} ms, p99 {spread['p99_ms']:.1f} ms, "
            f"max {spread['max_ms']:.1f} ms"
        )
        runs = [await w6_initial_sync(target, 1.0) for _ in range(5)]
        print(
            "initial sync, 20 rooms x 50 messages x 10 members: "
            f"{statistics.median(r['ms'] for r in runs):.1f} ms median "
            f"(min {min(r['ms'] for r in runs):.1f}, max {max(r['ms'] for r in runs):.1f}), "
            f"{runs[0]['bytes'] / 1024:.0f} KiB"
        )
        idle = await idle_long_polls(target, args.idle, 10.0)
        print(
            f"{args.idle} idle long-polls for 10 s: CPU {idle['cpu_percent']:.2f}% of a core, "
            f"RSS {idle['rss_mib']:.0f} MiB"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--idle", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        trio.run(run, args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
