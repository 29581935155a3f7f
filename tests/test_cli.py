"""The trioserver command, run as users run it."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from trioserver.cli import main

COMMAND = [sys.executable, "-m", "trioserver.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], input=stdin, capture_output=True, text=True, timeout=60, cwd=cwd
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("trioserver ")


def test_register_user_then_status_then_backup(tmp_path: Path) -> None:
    db = tmp_path / "hs.db"
    password = tmp_path / "pw"
    password.write_text("correct horse\n")
    created = run(
        "register-user",
        "alice",
        "--admin",
        "--password-file",
        str(password),
        "--db",
        str(db),
        "--server-name",
        "example.org",
    )
    assert created.returncode == 0, created.stderr
    assert "created admin user @alice:example.org" in created.stdout

    again = run(
        "register-user",
        "alice",
        "--password-file",
        str(password),
        "--db",
        str(db),
        "--server-name",
        "example.org",
    )
    assert again.returncode != 0
    assert again.stderr.strip().count("\n") == 0
    assert "already exists" in again.stderr

    status = run("db", "status", "--db", str(db))
    assert status.returncode == 0
    assert "schema version: 2" in status.stdout

    copy = tmp_path / "copy.db"
    backup = run("backup", str(copy), "--db", str(db))
    assert backup.returncode == 0, backup.stderr
    conn = sqlite3.connect(copy)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT user_id, is_admin FROM users").fetchall() == [
        ("@alice:example.org", 1)
    ]
    conn.close()


def test_register_user_reads_the_password_from_stdin(tmp_path: Path) -> None:
    db = tmp_path / "hs.db"
    result = run("register-user", "bob", "--password-file", "-", "--db", str(db), stdin="pw\n")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["serve", "--registration", "sometimes"], "'registration'"),
        (["serve", "--bind", "nowhere"], "'bind'"),
        (["db", "status", "--db", "/nonexistent/x.db"], "no database"),
        (["register-user", "Not Valid!", "--password-file", "-"], "user names may contain"),
    ],
)
def test_errors_are_one_clear_line(tmp_path: Path, args: list[str], needle: str) -> None:
    result = run(*args, stdin="pw\n", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]


def test_a_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("serve", "--bind", f"127.0.0.1:{port}", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("trioserver: cannot start")


def test_refuses_a_database_from_a_newer_trioserver(tmp_path: Path) -> None:
    db = tmp_path / "hs.db"
    assert main(["db", "status", "--db", str(db)]) == 2  # no database yet
    run("register-user", "x", "--password-file", "-", "--db", str(db), stdin="pw\n")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE schema_version SET compat_version = 999")
    conn.commit()
    conn.close()
    result = run("serve", "--db", str(db), "--bind", f"127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert "upgrade trioserver" in result.stderr


def test_serve_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "TRIOSERVER_SERVER_NAME": "cli.test"}
    process = subprocess.Popen(
        [*COMMAND, "serve", "--bind", f"127.0.0.1:{port}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/_matrix/client/versions", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        assert response.status_code == 200
        keys = httpx.get(f"http://127.0.0.1:{port}/_matrix/key/v2/server").json()
        assert keys["server_name"] == "cli.test"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "GET /_matrix/client/versions 200" in stderr
    assert (tmp_path / "homeserver.db").exists()
    conn = sqlite3.connect(tmp_path / "homeserver.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # The key made on first start is kept for the next one.
    assert conn.execute("SELECT count(*) FROM server_signing_keys").fetchone()[0] == 1
    conn.close()
