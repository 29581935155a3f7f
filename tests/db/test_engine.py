"""The database engine: group commit, per-job rollback, reads beside the writer."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing

from trioserver.db import Database, DatabaseClosed
from trioserver.db.engine import BACKGROUND_LINGER


def _create_table(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT")


def _insert(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute("INSERT INTO items (name) VALUES (?)", (name,)).lastrowid or 0)


def _names(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM items ORDER BY name")]


@pytest.fixture(params=["threads", "inline"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    inline = request.param == "inline"
    database = Database(str(tmp_path / "test.db"), inline=inline)
    _create_table(database.writer_connection)
    async with trio.open_nursery() as nursery:
        await nursery.start(database.run_writer)
        yield database
        await database.aclose()


@pytest.fixture
async def threaded_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(str(tmp_path / "test.db"))
    _create_table(database.writer_connection)
    async with trio.open_nursery() as nursery:
        await nursery.start(database.run_writer)
        yield database
        await database.aclose()


async def test_a_write_is_readable_once_acknowledged(db: Database) -> None:
    await db.run_write(_insert, "a")
    assert await db.run_read(_names) == ["a"]


async def test_concurrent_writes_are_batched_into_few_transactions(threaded_db: Database) -> None:
    db = threaded_db
    gate = threading.Event()

    def blocking_insert(conn: sqlite3.Connection) -> None:
        gate.wait(10)
        _insert(conn, "first")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(db.run_write, blocking_insert)
        await trio.testing.wait_all_tasks_blocked()
        for i in range(49):
            nursery.start_soon(db.run_write, _insert, f"item-{i:02d}")
        await trio.testing.wait_all_tasks_blocked()
        assert db.statistics().queued == 49
        gate.set()
    stats = db.statistics()
    assert stats.jobs == 50
    assert stats.transactions == 2, "the 49 writes queued behind the first share one commit"
    assert stats.largest_batch == 49
    assert len(await db.run_read(_names)) == 50


async def test_a_failing_job_rolls_back_alone(threaded_db: Database) -> None:
    db = threaded_db
    gate = threading.Event()
    outcomes: dict[str, object] = {}

    def blocking(conn: sqlite3.Connection) -> None:
        gate.wait(10)

    def half_then_fail(conn: sqlite3.Connection) -> None:
        _insert(conn, "half-written")
        raise ValueError("bad input")

    async def run(name: str, fn: object, *args: object) -> None:
        try:
            outcomes[name] = await db.run_write(fn, *args)  # type: ignore[arg-type]
        except Exception as exc:
            outcomes[name] = exc

    async with trio.open_nursery() as nursery:
        nursery.start_soon(db.run_write, blocking)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(run, "before", _insert, "before")
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(run, "bad", half_then_fail)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(run, "after", _insert, "after")
        await trio.testing.wait_all_tasks_blocked()
        gate.set()
    assert isinstance(outcomes["bad"], ValueError)
    assert isinstance(outcomes["before"], int) and isinstance(outcomes["after"], int)
    assert await db.run_read(_names) == ["after", "before"]
    assert db.statistics().transactions == 2
    assert db.statistics().failed_jobs == 1


async def test_nothing_is_acknowledged_when_the_commit_fails(threaded_db: Database) -> None:
    db = threaded_db
    gate = threading.Event()

    def setup(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY) STRICT")
        conn.execute(
            "CREATE TABLE child (parent INTEGER REFERENCES parent (id)"
            " DEFERRABLE INITIALLY DEFERRED) STRICT"
        )

    await db.run_write(setup)

    def blocking(conn: sqlite3.Connection) -> None:
        gate.wait(10)

    def orphan(conn: sqlite3.Connection) -> None:
        # Only checked at COMMIT: the whole transaction fails.
        conn.execute("INSERT INTO child (parent) VALUES (42)")

    results: list[object] = []

    async def run(fn: object, *args: object) -> None:
        try:
            results.append(await db.run_write(fn, *args))  # type: ignore[arg-type]
        except Exception as exc:
            results.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(db.run_write, blocking)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(run, _insert, "innocent")
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(run, orphan)
        await trio.testing.wait_all_tasks_blocked()
        gate.set()
    assert len(results) == 2
    assert all(isinstance(r, sqlite3.IntegrityError) for r in results)
    assert await db.run_read(_names) == []


async def test_the_writer_connection_is_not_lent_while_the_writer_runs(db: Database) -> None:
    with pytest.raises(RuntimeError):
        db.writer_connection  # noqa: B018


async def test_reads_do_not_wait_behind_a_write_transaction(threaded_db: Database) -> None:
    db = threaded_db
    await db.run_write(_insert, "committed")
    in_write = threading.Event()
    release = threading.Event()

    def slow_write(conn: sqlite3.Connection) -> None:
        _insert(conn, "uncommitted")
        in_write.set()
        release.wait(10)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(db.run_write, slow_write)
        await trio.to_thread.run_sync(in_write.wait, 10)
        # The write transaction is open; a read still answers, with committed data only.
        assert await db.run_read(_names) == ["committed"]
        release.set()
    assert await db.run_read(_names) == ["committed", "uncommitted"]


async def test_close_commits_what_is_queued(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "q.db"))
    _create_table(db.writer_connection)
    results: list[int] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(db.run_writer)

        async def write(i: int) -> None:
            results.append(await db.run_write(_insert, f"n{i}"))

        for i in range(20):
            nursery.start_soon(write, i)
        await trio.testing.wait_all_tasks_blocked()
        await db.aclose()
    assert len(results) == 20
    conn = sqlite3.connect(str(tmp_path / "q.db"))
    assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 20
    conn.close()


async def test_writes_after_close_are_refused(db: Database) -> None:
    await db.aclose()
    with pytest.raises(DatabaseClosed):
        await db.run_write(_insert, "late")


async def test_the_database_file_is_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "p.db"))
    conn = db.writer_connection
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    await db.aclose()


async def test_backup_under_concurrent_writes_is_consistent(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "live.db"))
    _create_table(db.writer_connection)
    target = tmp_path / "copy.db"
    async with trio.open_nursery() as nursery:
        await nursery.start(db.run_writer)
        stop = trio.Event()
        enough = trio.Event()
        written = 0

        async def writer(worker: int) -> None:
            nonlocal written
            i = 0
            while not stop.is_set():
                await db.run_write(_insert, f"w{worker}-{i}")
                i += 1
                written += 1
                if written >= 200:
                    enough.set()

        for w in range(4):
            nursery.start_soon(writer, w)
        await enough.wait()
        await db.backup(target)  # while the writers go on
        stop.set()
        await trio.testing.wait_all_tasks_blocked()
        await db.aclose()
    copy = sqlite3.connect(str(target))
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM items").fetchone()[0] >= 200
    copy.close()


async def test_a_background_write_shares_the_next_foreground_commit(
    mock_clock: trio.testing.MockClock, threaded_db: Database
) -> None:
    """An indexer's write waits (on the clock) for a client's write and
    commits with it: a stream of sends costs one commit each, not two."""
    db = threaded_db
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(db.run_write, _insert, "index", background=True))
        await trio.testing.wait_all_tasks_blocked()
        assert db.statistics().transactions == 0, "the background job lingers"
        await db.run_write(_insert, "message")
    assert db.statistics().transactions == 1
    assert await db.run_read(_names) == ["index", "message"]


async def test_a_background_write_alone_commits_after_lingering(
    mock_clock: trio.testing.MockClock, threaded_db: Database
) -> None:
    db = threaded_db
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(db.run_write, _insert, "index", background=True))
        await trio.testing.wait_all_tasks_blocked()
        assert db.statistics().transactions == 0
        mock_clock.jump(BACKGROUND_LINGER)
    assert db.statistics().transactions == 1
    assert await db.run_read(_names) == ["index"]
