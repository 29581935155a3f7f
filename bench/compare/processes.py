"""The servers under benchmark as child processes: start trioserver or Synapse
on a fresh database, wait for ``/versions``, read CPU and memory from
``/proc``, stop them.

Synapse is installed from PyPI into its own virtualenv (never into ours) and
configured like trioserver: SQLite, open registration, every rate limit off,
loopback only, logging at WARNING, the same default room version. Its YAML
files are written as JSON (a subset of YAML) so that we need no YAML library.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import trio

from trioserver.protocol.room_versions import DEFAULT_ROOM_VERSION

__all__ = [
    "PeakRss",
    "Server",
    "ensure_synapse",
    "run_synapse",
    "run_trioserver",
    "target_server",
]

SERVER_NAME = "localhost"
#: How long a server may take to answer its first /versions.
START_TIMEOUT = 180.0
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_ticks(stat: str) -> int:
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def _process_tree(pid: int) -> list[int]:
    """``pid`` and every descendant, from the parent IDs in ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


@dataclass
class Server:
    """A running homeserver: where to reach it and how to measure it."""

    name: str
    base_url: str
    server_name: str
    pid: int | None = None
    db_paths: list[Path] = field(default_factory=list)
    startup_seconds: float | None = None

    def rss_bytes(self) -> int | None:
        """Resident memory of the server and its children (``/proc/*/statm``)."""
        pages = self._sum_over_tree("statm", lambda text: int(text.split()[1]))
        return None if pages is None else pages * _PAGE

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server and its children so far."""
        ticks = self._sum_over_tree("stat", _cpu_ticks)
        return None if ticks is None else ticks / _TICKS

    def _sum_over_tree(self, name: str, read: Callable[[str], int]) -> int | None:
        """``read(/proc/<pid>/<name>)`` summed over the server and its children
        (a process gone meanwhile counts 0); None before the server runs."""
        if self.pid is None:
            return None
        total = 0
        for pid in _process_tree(self.pid):
            try:
                total += read(Path(f"/proc/{pid}/{name}").read_text())
            except OSError:
                continue
        return total

    def db_bytes(self) -> int | None:
        """The database files' size on disk (main file, WAL, shared memory)."""
        if not self.db_paths:
            return None
        return sum(path.stat().st_size for path in self.db_paths if path.exists())


class PeakRss:
    """Samples a server's RSS every 50 ms while :meth:`run` runs."""

    def __init__(self, server: Server, interval: float = 0.05) -> None:
        self.server = server
        self.interval = interval
        self.peak_bytes = 0
        self.samples = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            rss = self.server.rss_bytes() or 0
            self.peak_bytes = max(self.peak_bytes, rss)
            self.samples += 1
            await trio.sleep(self.interval)


def target_server(url: str) -> Server:
    """Any homeserver by URL: no process to measure; its server name is read
    from the user IDs it gives (the workloads never need it)."""
    return Server(name="target", base_url=url.rstrip("/"), server_name="")


async def wait_until_up(process: trio.Process, base_url: str, log: Path, started: float) -> float:
    """Seconds from ``started`` to the first answered ``/versions``; raises
    with the end of ``log`` if the server exits or never answers."""
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as http:
        deadline = time.perf_counter() + START_TIMEOUT
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited ({process.returncode}):\n{_tail(log)}")
            try:
                if (await http.get("/_matrix/client/versions")).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            await trio.sleep(0.01)
    raise RuntimeError(f"no answer to /versions in {START_TIMEOUT:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@asynccontextmanager
async def _running(
    name: str, command: list[str], port: int, log: Path, db: Path
) -> AsyncIterator[Server]:
    base_url = f"http://127.0.0.1:{port}"
    with log.open("ab") as sink:
        started = time.perf_counter()
        process = await trio.lowlevel.open_process(command, stdout=sink, stderr=sink)
    try:
        startup = await wait_until_up(process, base_url, log, started)
        db_paths = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
        yield Server(name, base_url, SERVER_NAME, process.pid, db_paths, startup)
    finally:
        with trio.CancelScope(shield=True):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                with trio.move_on_after(15):
                    await process.wait()
            if process.poll() is None:
                process.kill()
                await process.wait()


@asynccontextmanager
async def run_trioserver(workdir: Path) -> AsyncIterator[Server]:
    """trioserver on a fresh database in ``workdir``, production settings but
    open registration, no rate limits and WARNING logs."""
    await trio.Path(workdir).mkdir(parents=True, exist_ok=True)
    port = free_port()
    db = workdir / "homeserver.db"
    command = [
        sys.executable,
        "-m",
        "trioserver.cli",
        "serve",
        "--db",
        str(db),
        "--bind",
        f"127.0.0.1:{port}",
        "--server-name",
        SERVER_NAME,
        "--registration",
        "open",
        "--no-rate-limits",
        "--log-level",
        "WARNING",
    ]
    async with _running("trioserver", command, port, workdir / "trioserver.log", db) as server:
        yield server


def ensure_synapse(venv: Path, version: str | None = None) -> Path:
    """The Python of a virtualenv holding matrix-synapse, made if missing."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import synapse.app.homeserver"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python
    requirement = f"matrix-synapse=={version}" if version else "matrix-synapse"
    print(f"installing {requirement} into {venv} (a few minutes, once)", flush=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", requirement], check=True)
    return python


_UNLIMITED = {"per_second": 1_000_000, "burst_count": 1_000_000}
#: Every client-facing rate limit of Synapse's config (synapse/config/ratelimiting.py).
_RATE_LIMITS: dict[str, object] = {
    "rc_message": _UNLIMITED,
    "rc_registration": _UNLIMITED,
    "rc_registration_token_validity": _UNLIMITED,
    "rc_login": {"address": _UNLIMITED, "account": _UNLIMITED, "failed_attempts": _UNLIMITED},
    "rc_admin_redaction": _UNLIMITED,
    "rc_joins": {"local": _UNLIMITED, "remote": _UNLIMITED},
    "rc_joins_per_room": _UNLIMITED,
    "rc_key_requests": _UNLIMITED,
    "rc_3pid_validation": _UNLIMITED,
    "rc_invites": {"per_room": _UNLIMITED, "per_user": _UNLIMITED, "per_issuer": _UNLIMITED},
    "rc_third_party_invite": _UNLIMITED,
    "rc_media_create": _UNLIMITED,
    "rc_presence": {"per_user": _UNLIMITED},
    "rc_delayed_event_mgmt": _UNLIMITED,
    "rc_room_creation": _UNLIMITED,
    "rc_reports": _UNLIMITED,
    "rc_user_directory": _UNLIMITED,
    "rc_profile": _UNLIMITED,
}


def synapse_config(workdir: Path, port: int) -> dict[str, object]:
    return {
        "server_name": SERVER_NAME,
        "pid_file": str(workdir / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(workdir / "homeserver.db")}},
        "log_config": str(workdir / "log_config.yaml"),
        "media_store_path": str(workdir / "media_store"),
        "signing_key_path": str(workdir / "signing.key"),
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "enable_registration": True,
        "enable_registration_without_verification": True,
        "url_preview_enabled": False,
        "default_room_version": DEFAULT_ROOM_VERSION,
        "presence": {"enabled": True},
        **_RATE_LIMITS,
    }


def synapse_log_config(workdir: Path) -> dict[str, object]:
    return {
        "version": 1,
        "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "filename": str(workdir / "synapse.log"),
                "formatter": "plain",
            }
        },
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


@asynccontextmanager
async def run_synapse(workdir: Path, venv: Path) -> AsyncIterator[Server]:
    """Synapse from ``venv`` (installed if missing) on a fresh SQLite database."""
    python = await trio.to_thread.run_sync(ensure_synapse, venv)
    await trio.Path(workdir).mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "homeserver.yaml"
    await trio.Path(config).write_text(json.dumps(synapse_config(workdir, port), indent=1))
    await trio.Path(workdir / "log_config.yaml").write_text(json.dumps(synapse_log_config(workdir)))
    await trio.run_process(
        [str(python), "-m", "synapse.app.homeserver", "-c", str(config), "--generate-keys"],
        capture_stdout=True,
        capture_stderr=True,
        cwd=workdir,
    )
    command = [str(python), "-m", "synapse.app.homeserver", "-c", str(config)]
    db = workdir / "homeserver.db"
    async with _running("synapse", command, port, workdir / "synapse.out", db) as server:
        yield server
