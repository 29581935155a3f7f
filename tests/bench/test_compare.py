"""The comparison benchmark's workloads, shrunk, against a real trioserver
process: each one's own correctness checks pass on our server, and the report
says what a reader needs (the table, the ratio, the goals)."""

from __future__ import annotations

from pathlib import Path

import trio

from bench.compare.client import open_http
from bench.compare.processes import run_trioserver
from bench.compare.report import Results, ServerFacts, goals, summarize, table
from bench.compare.target import Target
from bench.compare.workloads import WORKLOADS, idle_long_polls

SCALE = 0.05


def test_every_workload_passes_its_own_checks_on_trioserver(tmp_path: Path) -> None:
    results = Results(facts={"trioserver": ServerFacts()})

    async def main() -> None:
        async with run_trioserver(tmp_path) as server, open_http(server.base_url) as http:
            target = Target(server, http)
            for workload in WORKLOADS:
                if workload.number == 7:
                    figures = await idle_long_polls(target, 4, 0.5)
                else:
                    figures = await workload.run(target, SCALE)
                assert workload.primary in figures
                results.add(workload.number, "trioserver", figures)
            results.facts["trioserver"].messages_sent = target.messages_sent
            results.facts["trioserver"].db_bytes = server.db_bytes()

    trio.run(main)
    summaries = [summarize(w, results) for w in WORKLOADS]
    assert all(not s["failures"] for s in summaries)
    assert results.runs[5]["trioserver"][0]["p99_ms"] > 0
    assert results.runs[6]["trioserver"][0]["bytes"] > 1000
    text = table(summaries, results.facts, goals(summaries, results.facts))
    assert "| 2 | 1 user sends 1,000 messages in turn | msgs_per_s * |" in text


def test_the_ratio_and_goals_compare_the_two_servers() -> None:
    results = Results()
    for server, rate, p99 in (("trioserver", 2000.0, 5.0), ("synapse", 100.0, 50.0)):
        results.add(2, server, {"msgs_per_s": rate, "p50_ms": 1.0, "p99_ms": 2.0, "max_ms": 3.0})
        results.add(5, server, {"p50_ms": 1.0, "p99_ms": p99, "max_ms": p99})
    results.ceilings = {"http_put_c1": 4000.0, "sqlite_tx_per_row": 8000.0}
    summaries = [summarize(w, results) for w in WORKLOADS if w.number in (2, 5)]
    assert summaries[0]["ratio"] == 20.0
    assert summaries[0]["ceiling"] == {"name": "http_put_c1", "value": 4000.0, "fraction": 0.5}
    assert summaries[1]["ratio"] == 0.1
    checks = {c["goal"]: c["met"] for c in goals(summaries, {})}
    assert checks["workload 2 throughput >= 10x Synapse"] is True
    assert checks["fan-out p99 <= 1/5 of Synapse"] is True
    assert checks["workload 3 throughput >= 10x Synapse"] is None
