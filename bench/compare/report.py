"""The comparison's results: medians with min/max per server, the ratio
trioserver/Synapse, each figure against its ceiling, and the goals of issue
#9 checked. Pure: results in, a dict (for JSON) and text out."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.compare.workloads import Workload

__all__ = ["Results", "ServerFacts", "goals", "summarize", "table"]

OURS = "trioserver"
THEIRS = "synapse"


@dataclass
class ServerFacts:
    """Workload 10 and the like: figures about the server process itself."""

    version: str = ""
    startup_seconds: list[float] = field(default_factory=list)
    rss_start_mib: list[float] = field(default_factory=list)
    rss_peak_mib: float | None = None
    db_bytes: int | None = None
    messages_sent: int = 0

    def as_dict(self) -> dict[str, Any]:
        per_message = (
            self.db_bytes / self.messages_sent
            if self.db_bytes is not None and self.messages_sent
            else None
        )
        return {
            "version": self.version,
            "startup_seconds": self.startup_seconds,
            "rss_start_mib": self.rss_start_mib,
            "rss_peak_mib": self.rss_peak_mib,
            "db_bytes": self.db_bytes,
            "messages_sent": self.messages_sent,
            "db_bytes_per_message": per_message,
        }


@dataclass
class Results:
    """Every run of every workload on every server."""

    runs: dict[int, dict[str, list[dict[str, float]]]] = field(default_factory=dict)
    failures: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    facts: dict[str, ServerFacts] = field(default_factory=dict)
    ceilings: dict[str, float] = field(default_factory=dict)

    def add(self, number: int, server: str, figures: dict[str, float]) -> None:
        self.runs.setdefault(number, {}).setdefault(server, []).append(figures)

    def fail(self, number: int, server: str, error: str) -> None:
        self.failures.setdefault(number, {}).setdefault(server, []).append(error)


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(workload: Workload, results: Results) -> dict[str, Any]:
    """One workload's summary: per server, every figure's median/min/max."""
    per_server: dict[str, Any] = {}
    for server, runs in results.runs.get(workload.number, {}).items():
        keys = runs[0].keys()
        per_server[server] = {
            "runs": runs,
            "figures": {key: _spread([run[key] for run in runs]) for key in keys},
        }
    summary: dict[str, Any] = {
        "number": workload.number,
        "title": workload.title,
        "primary": workload.primary,
        "higher_is_better": workload.higher_is_better,
        "servers": per_server,
        "failures": results.failures.get(workload.number, {}),
    }
    ours = _median(per_server, OURS, workload.primary)
    theirs = _median(per_server, THEIRS, workload.primary)
    if ours is not None and theirs:
        summary["ratio"] = ours / theirs
    bound = _bound(workload, results.ceilings)
    figure = _median(per_server, OURS, workload.bound_figure or workload.primary)
    if bound is not None and figure is not None:
        name, value = bound
        summary["ceiling"] = {"name": name, "value": value, "fraction": figure / value}
    return summary


def _median(per_server: dict[str, Any], server: str, key: str) -> float | None:
    figures = per_server.get(server, {}).get("figures", {})
    spread = figures.get(key)
    return None if spread is None else float(spread["median"])


def _bound(workload: Workload, ceilings: dict[str, float]) -> tuple[str, float] | None:
    known = [(name, ceilings[name]) for name in workload.bounded_by if name in ceilings]
    return min(known, key=lambda item: item[1]) if known else None


def goals(summaries: list[dict[str, Any]], facts: dict[str, ServerFacts]) -> list[dict[str, Any]]:
    """Issue #9's goals, each with the figure that decides it (None: not measured)."""
    by_number = {s["number"]: s for s in summaries}

    def ratio(number: int) -> float | None:
        value = by_number.get(number, {}).get("ratio")
        return None if value is None else float(value)

    checks: list[dict[str, Any]] = []

    def check(goal: str, value: float | None, met: bool | None) -> None:
        checks.append({"goal": goal, "value": value, "met": met})

    for number in (2, 3, 4):
        value = ratio(number)
        check(f"workload {number} throughput >= 10x Synapse", value, _cmp(value, ">=", 10))
    value = ratio(5)
    check("fan-out p99 <= 1/5 of Synapse", value, _cmp(value, "<=", 0.2))
    value = ratio(6)
    check("initial sync >= 5x faster (time ratio <= 0.2)", value, _cmp(value, "<=", 0.2))
    idle = _median(by_number.get(7, {}).get("servers", {}), OURS, "cpu_percent")
    check("idle CPU of 200 long-polls near zero (< 1% of a core)", idle, _cmp(idle, "<=", 1.0))
    ours, theirs = facts.get(OURS), facts.get(THEIRS)
    if ours and theirs:
        start = _fact_ratio(ours.rss_start_mib, theirs.rss_start_mib)
        check("memory at start <= 1/5 of Synapse", start, _cmp(start, "<=", 0.2))
        peak = (
            ours.rss_peak_mib / theirs.rss_peak_mib
            if ours.rss_peak_mib and theirs.rss_peak_mib
            else None
        )
        check("memory at peak <= 1/3 of Synapse", peak, _cmp(peak, "<=", 1 / 3))
        mine = ours.as_dict()["db_bytes_per_message"]
        other = theirs.as_dict()["db_bytes_per_message"]
        size = mine / other if mine and other else None
        check("database bytes per message <= Synapse's", size, _cmp(size, "<=", 1.0))
    return checks


def _fact_ratio(ours: list[float], theirs: list[float]) -> float | None:
    if not ours or not theirs:
        return None
    return statistics.median(ours) / statistics.median(theirs)


def _cmp(value: float | None, op: str, limit: float) -> bool | None:
    if value is None:
        return None
    return value >= limit if op == ">=" else value <= limit


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cell(summary: dict[str, Any], server: str, key: str) -> str:
    data = summary["servers"].get(server)
    if data is None:
        errors = summary["failures"].get(server)
        return "FAILED" if errors else "-"
    spread = data["figures"][key]
    cell = _fmt(spread["median"])
    if len(data["runs"]) > 1:
        cell += f" ({_fmt(spread['min'])}-{_fmt(spread['max'])})"
    if summary["failures"].get(server):
        cell += " +FAILED"
    return cell


def table(
    summaries: list[dict[str, Any]], facts: dict[str, ServerFacts], checks: list[dict[str, Any]]
) -> str:
    """The Markdown table printed at the end and pasted into bench/README.md."""
    lines = [
        "| # | workload | figure | trioserver | Synapse | ratio | of ceiling |",
        "|---|---|---|---|---|---|---|",
    ]
    for summary in summaries:
        keys = (
            list(next(iter(summary["servers"].values()))["figures"]) if summary["servers"] else []
        )
        primary = summary["primary"]
        for key in [primary, *[k for k in keys if k != primary]]:
            first = key == primary
            ratio = f"{summary['ratio']:.2f}" if first and "ratio" in summary else ""
            ceiling = summary.get("ceiling")
            of_ceiling = (
                f"{ceiling['fraction']:.0%} of {ceiling['name']}" if first and ceiling else ""
            )
            lines.append(
                f"| {summary['number'] if first else ''} | {summary['title'] if first else ''} "
                f"| {key}{' *' if first else ''} | {_cell(summary, OURS, key)} "
                f"| {_cell(summary, THEIRS, key)} | {ratio} | {of_ceiling} |"
            )
    lines.append("")
    lines.append("| 10 | server | trioserver | Synapse |")
    lines.append("|---|---|---|---|")
    ours, theirs = facts.get(OURS, ServerFacts()), facts.get(THEIRS, ServerFacts())
    for label, attribute in (
        ("start-up to first /versions (s)", "startup_seconds"),
        ("RSS at start (MiB)", "rss_start_mib"),
    ):
        a, b = getattr(ours, attribute), getattr(theirs, attribute)
        lines.append(f"| | {label} | {_list(a)} | {_list(b)} |")
    lines.append(
        f"| | RSS at peak (MiB) | {_opt(ours.rss_peak_mib)} | {_opt(theirs.rss_peak_mib)} |"
    )
    lines.append(f"| | database on disk (MiB) | {_mib(ours.db_bytes)} | {_mib(theirs.db_bytes)} |")
    lines.append(
        f"| | database bytes per message sent | {_opt(ours.as_dict()['db_bytes_per_message'])} "
        f"| {_opt(theirs.as_dict()['db_bytes_per_message'])} |"
    )
    lines.append("")
    lines.append("| goal | figure | met |")
    lines.append("|---|---|---|")
    for item in checks:
        met = {True: "yes", False: "NO", None: "not measured"}[item["met"]]
        lines.append(f"| {item['goal']} | {_opt(item['value'])} | {met} |")
    return "\n".join(lines)


def _list(values: list[float]) -> str:
    if not values:
        return "-"
    median = _fmt(statistics.median(values))
    return median if len(values) == 1 else f"{median} ({_fmt(min(values))}-{_fmt(max(values))})"


def _opt(value: float | None) -> str:
    return "-" if value is None else _fmt(value)


def _mib(value: int | None) -> str:
    return "-" if value is None else _fmt(value / 2**20)
