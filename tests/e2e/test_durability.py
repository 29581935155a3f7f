"""One quick round of bench/durability.py: kill -9 the server while 8 clients
send, restart it on the same file, check nothing acknowledged was lost and
retried transaction IDs made exactly one event (more rounds: run the bench)."""

from __future__ import annotations

from pathlib import Path

from bench.durability import run


async def test_kill_9_while_sending_loses_nothing(tmp_path: Path) -> None:
    (result,) = await run(rounds=1, clients=8, seed=7, workdir=tmp_path)
    assert result.integrity == "ok"
    assert result.lost == [] and result.duplicates == []
    assert result.acked > 0 and result.in_flight > 0
