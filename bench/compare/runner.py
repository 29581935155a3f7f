"""``python -m bench compare``: trioserver and Synapse side by side.

Starts trioserver and Synapse (installed from PyPI into its own virtualenv,
SQLite, open registration, rate limits off, loopback only) on fresh
databases, measures the ceilings of this machine, then runs each workload on
one server then the other, ``--repeat`` times (A, B, A, B: machine drift hits
both), prints a Markdown table of medians with min-max and the ratio
trioserver/Synapse, and writes everything as JSON. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import trio

import trioserver
from bench.compare.client import WorkloadFailed, open_http
from bench.compare.processes import (
    PeakRss,
    Server,
    ensure_synapse,
    run_synapse,
    run_trioserver,
    target_server,
)
from bench.compare.report import Results, ServerFacts, goals, summarize, table
from bench.compare.target import Target
from bench.compare.workloads import WORKLOADS, Workload

__all__ = ["main"]

DEFAULT_VENV = Path.home() / ".cache" / "trioserver-bench" / "synapse-venv"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench compare", description=__doc__)
    parser.add_argument("--only", help="workload numbers to run, e.g. 2,5,6 (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="resize every workload")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each workload per server")
    parser.add_argument("--target", help="run against this homeserver URL instead of the two")
    parser.add_argument("--no-synapse", action="store_true", help="trioserver only")
    parser.add_argument("--synapse-venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--synapse-version", help="pin matrix-synapse (default: newest)")
    parser.add_argument("--startups", type=int, default=3, help="fresh start-ups timed")
    parser.add_argument("--no-ceilings", action="store_true")
    parser.add_argument("--json", type=Path, default=Path("bench-compare.json"))
    parser.add_argument("--workdir", type=Path, help="keep databases and logs here")
    return parser.parse_args(argv)


def selected(only: str | None) -> list[Workload]:
    if not only:
        return list(WORKLOADS)
    numbers = {int(part) for part in only.split(",") if part.strip()}
    unknown = numbers - {w.number for w in WORKLOADS} - {10}
    if unknown:
        raise SystemExit(f"no workload {sorted(unknown)}")
    return [w for w in WORKLOADS if w.number in numbers]


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kib = 0
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def synapse_version(venv: Path) -> str:
    python = venv / "bin" / "python"
    answer = subprocess.run(
        [str(python), "-c", "import synapse; print(synapse.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return answer.stdout.strip()


async def time_startups(args: argparse.Namespace, work: Path, results: Results) -> None:
    """Start each server ``--startups`` times on a fresh database, alternately."""
    for i in range(args.startups):
        for name in names(args):
            async with start(name, args, work / f"startup-{name}-{i}") as server:
                facts = results.facts[name]
                if server.startup_seconds is not None:
                    facts.startup_seconds.append(server.startup_seconds)
                rss = server.rss_bytes()
                if rss is not None:
                    facts.rss_start_mib.append(rss / 2**20)


def names(args: argparse.Namespace) -> list[str]:
    if args.target:
        return ["target"]
    return ["trioserver"] if args.no_synapse else ["trioserver", "synapse"]


def start(name: str, args: argparse.Namespace, workdir: Path) -> Any:
    workdir.mkdir(parents=True, exist_ok=True)
    if name == "synapse":
        return run_synapse(workdir, args.synapse_venv)
    return run_trioserver(workdir)


async def run_workload(workload: Workload, target: Target, scale: float, results: Results) -> None:
    started = time.perf_counter()
    try:
        figures = await workload.run(target, scale)
    except WorkloadFailed as failure:
        results.fail(workload.number, target.name, str(failure))
        print(f"  {workload.number} {target.name}: FAILED {failure}", flush=True)
        return
    results.add(workload.number, target.name, figures)
    shown = ", ".join(f"{key}={value:.4g}" for key, value in figures.items())
    elapsed = time.perf_counter() - started
    print(f"  {workload.number} {target.name}: {shown}  [{elapsed:.0f} s]", flush=True)


async def compare(args: argparse.Namespace, work: Path) -> Results:
    results = Results()
    workloads = selected(args.only)
    for name in names(args):
        results.facts[name] = ServerFacts()
    if not args.target and not args.no_synapse:
        await trio.to_thread.run_sync(ensure_synapse, args.synapse_venv, args.synapse_version)
        results.facts["synapse"].version = synapse_version(args.synapse_venv)
    if "trioserver" in results.facts:
        results.facts["trioserver"].version = trioserver.__version__
    if not args.no_ceilings:
        from bench.compare.limits import measure_ceilings

        print("ceilings:", flush=True)
        for ceiling in await measure_ceilings(work / "ceilings"):
            results.ceilings[ceiling.name] = ceiling.value
            print(f"  {ceiling.name}: {ceiling.value:,.0f} {ceiling.unit}", flush=True)
    if not args.target and args.startups:
        print("start-ups:", flush=True)
        await time_startups(args, work, results)
    async with AsyncExitStack() as stack, trio.open_nursery() as nursery:
        targets: list[Target] = []
        samplers: dict[str, PeakRss] = {}
        for name in names(args):
            server: Server
            if name == "target":
                server = target_server(args.target)
            else:
                server = await stack.enter_async_context(start(name, args, work / f"main-{name}"))
                samplers[name] = PeakRss(server)
                await nursery.start(samplers[name].run)
            http = await stack.enter_async_context(open_http(server.base_url))
            targets.append(Target(server, http))
        for workload in workloads:
            print(f"workload {workload.number}: {workload.title}", flush=True)
            for _ in range(args.repeat):
                for target in targets:
                    await run_workload(workload, target, args.scale, results)
        for target in targets:
            facts = results.facts[target.name]
            facts.messages_sent = target.messages_sent
            facts.db_bytes = target.server.db_bytes()
            sampler = samplers.get(target.name)
            if sampler is not None:
                facts.rss_peak_mib = sampler.peak_bytes / 2**20
        nursery.cancel_scope.cancel()
    return results


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        work = args.workdir or Path(tmp)
        results = trio.run(compare, args, work)
    summaries = [summarize(w, results) for w in selected(args.only)]
    checks = goals(summaries, results.facts)
    text = table(summaries, results.facts, checks)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)),
        "machine": machine(),
        "scale": args.scale,
        "repeat": args.repeat,
        "servers": {name: facts.as_dict() for name, facts in results.facts.items()},
        "ceilings": results.ceilings,
        "workloads": summaries,
        "goals": checks,
        "table": text,
        "seconds": time.time() - started,
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(f"{report['date']}, {report['machine']['cpu']}, {report['machine']['cores']} cores")
    print(text)
    print(f"\nJSON: {args.json}  ({report['seconds']:.0f} s in all)")
    failed = any(summary["failures"] for summary in summaries)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
