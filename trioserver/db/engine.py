"""The one SQLite file: a group-committing writer and a pool of WAL readers.

Contract:

* One writer connection. Write jobs (plain synchronous functions taking the
  connection, the ``*_txn`` functions of the ``db`` modules) go through one
  channel to one writer task, which runs every job waiting in one
  transaction, commits once, then answers every caller. A job that raises is
  rolled back alone (savepoint); its batch-mates commit. A caller is answered
  only after its job's transaction has committed (``synchronous=FULL``).
* Background jobs (the indexers' bookkeeping) are not waited on by any
  client: a batch made only of them lingers up to ``BACKGROUND_LINGER``
  seconds for a foreground job to share its transaction, so that a stream of
  sends costs one commit (one fsync) per send, not one per send and indexer.
* Several read connections; reads never wait behind the writer (WAL).
* In production blocking SQLite calls run in worker threads. In inline mode
  (deterministic tests under ``MockClock``) they run on the trio thread over
  a single connection.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import outcome
import trio

from trioserver.util.blocking import BlockingRunner

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long a batch of background jobs waits for a foreground one to join it.
BACKGROUND_LINGER = 0.01

#: Pragmas applied to every connection (spec of durability: ARCHITECTURE.md, "Storage").
_PRAGMAS = (
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
    "PRAGMA synchronous = FULL",
    "PRAGMA temp_store = MEMORY",
)

#: Page cache per connection, in KiB. Each connection has its own, all
#: holding copies of the same pages (the OS caches the file besides): the
#: writer's is the one that saves work (index pages it updates on every
#: commit); a reader's mostly duplicates the writer's and the OS's.
WRITER_CACHE_KIB = 8192
READER_CACHE_KIB = 2048


class DatabaseClosed(Exception):
    """The database was closed before the job could run."""


@dataclass(frozen=True, slots=True)
class DatabaseStatistics:
    transactions: int  #: write transactions committed (or attempted)
    jobs: int  #: write jobs run
    failed_jobs: int  #: write jobs rolled back alone
    largest_batch: int
    queued: int  #: write jobs waiting for the writer now
    reads: int


class _WriteJob(Generic[T]):
    __slots__ = ("args", "background", "done", "fn", "result")

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...], background: bool) -> None:
        self.fn = fn
        self.args = args
        self.background = background
        self.done = trio.Event()
        self.result: outcome.Outcome[T] | None = None


def _answer(jobs: list[_WriteJob[Any]]) -> None:
    """Wake every caller of ``jobs``; a job that never ran gets :class:`DatabaseClosed`."""
    for job in jobs:
        if job.result is None:
            job.result = outcome.Error(DatabaseClosed("the database closed before this write ran"))
        job.done.set()


def connect(path: str, *, read_only: bool = False) -> sqlite3.Connection:
    """Open one connection with our pragmas, in autocommit mode (we BEGIN ourselves)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in _PRAGMAS:
        conn.execute(pragma)
    if path != ":memory:":
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"could not switch {path} to WAL mode (got {mode})")
    cache_kib = READER_CACHE_KIB if read_only else WRITER_CACHE_KIB
    conn.execute(f"PRAGMA cache_size = -{cache_kib}")
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    return conn


class Database:
    """The server's database. Create with :meth:`open`, run :meth:`run_writer`
    as a service in a nursery, and close with :meth:`aclose`."""

    def __init__(
        self,
        path: str,
        *,
        inline: bool = False,
        readers: int = 2,
        queue_size: int = 1000,
        max_batch: int = 500,
    ) -> None:
        self.path = path
        self.inline = inline
        self._max_batch = max_batch
        self._writer_conn = connect(path)
        self._readers: list[sqlite3.Connection] = []
        #: The connection of :meth:`read_now` (the writer's in inline mode).
        self._now_reader = self._writer_conn
        if not inline:
            self._readers = [connect(path, read_only=True) for _ in range(readers)]
            self._now_reader = connect(path, read_only=True)
        self._reader_limiter = trio.CapacityLimiter(max(1, readers))
        self._send, self._receive = trio.open_memory_channel[_WriteJob[Any]](queue_size)
        self._runner = BlockingRunner(inline=inline)
        self._writer_running = False
        self._writer_stopped = trio.Event()
        self._closed = False
        self._transactions = 0
        self._jobs = 0
        self._failed_jobs = 0
        self._largest_batch = 0
        self._reads = 0

    # -- lifecycle -------------------------------------------------------

    @property
    def writer_connection(self) -> sqlite3.Connection:
        """The writer connection, for start-up work done before the writer
        task runs (migrations). Never use it while the writer task runs."""
        if self._writer_running:
            raise RuntimeError("the writer connection belongs to the writer task")
        return self._writer_conn

    async def run_writer(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """The writer service: runs until :meth:`aclose`, then finishes what is queued."""
        self._writer_running = True
        task_status.started()
        try:
            while True:
                try:
                    first = await self._receive.receive()
                except trio.EndOfChannel:
                    break
                batch = [first]
                self._drain_into(batch)
                if not self.inline and all(job.background for job in batch):
                    with trio.move_on_after(BACKGROUND_LINGER):
                        try:
                            batch.append(await self._receive.receive())
                        except trio.EndOfChannel:
                            pass
                        else:
                            self._drain_into(batch)
                try:
                    await self._runner.run(self._run_batch, batch)
                finally:
                    _answer(batch)
        finally:
            # Cancelled (the server is going down hard): nobody may wait forever.
            leftover: list[_WriteJob[Any]] = []
            while True:
                try:
                    leftover.append(self._receive.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                    break
            self._receive.close()
            _answer(leftover)
            self._writer_running = False
            self._writer_stopped.set()

    def _drain_into(self, batch: list[_WriteJob[Any]]) -> None:
        while len(batch) < self._max_batch:
            try:
                batch.append(self._receive.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                break

    async def aclose(self) -> None:
        """Stop taking writes, let the writer commit what is queued, close every connection."""
        if self._closed:
            return
        self._closed = True
        await self._send.aclose()
        if self._writer_running:
            await self._writer_stopped.wait()
        async with self._reader_limiter:
            pass
        for conn in {self._writer_conn, self._now_reader, *self._readers}:
            conn.close()
        self._readers = []

    # -- writing ---------------------------------------------------------

    async def run_write(self, fn: Callable[..., T], *args: Any, background: bool = False) -> T:
        """Run ``fn(conn, *args)`` in the next write transaction; return its
        result once that transaction has committed, or raise what it raised
        (its changes rolled back, its batch-mates unaffected).

        ``background``: no client waits on this job (indexers); it may wait
        up to ``BACKGROUND_LINGER`` to share a foreground job's commit."""
        if self._closed:
            raise DatabaseClosed("the database is closed")
        job: _WriteJob[T] = _WriteJob(fn, args, background)
        try:
            await self._send.send(job)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise DatabaseClosed("the database is closed") from None
        await job.done.wait()
        assert job.result is not None
        return job.result.unwrap()

    def _run_batch(self, batch: list[_WriteJob[Any]]) -> None:
        """One transaction for the whole batch, a savepoint per job. Results
        are handed out only once COMMIT has returned."""
        conn = self._writer_conn
        self._transactions += 1
        self._largest_batch = max(self._largest_batch, len(batch))
        results: list[outcome.Outcome[Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                self._jobs += 1
                conn.execute("SAVEPOINT job")
                try:
                    value = job.fn(conn, *job.args)
                except Exception as exc:
                    self._failed_jobs += 1
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    results.append(outcome.Error(exc))
                else:
                    conn.execute("RELEASE job")
                    results.append(outcome.Value(value))
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if not isinstance(exc, Exception):
                raise  # the callers get DatabaseClosed from _answer
            log.exception("a write transaction of %d jobs failed and was rolled back", len(batch))
            for job in batch:
                job.result = outcome.Error(exc)
            return
        for job, result in zip(batch, results, strict=True):
            job.result = result

    # -- reading ---------------------------------------------------------

    async def run_read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in a read transaction (one consistent snapshot)."""
        if self._closed:
            raise DatabaseClosed("the database is closed")
        self._reads += 1
        if self.inline:
            await trio.lowlevel.checkpoint()
            return self._read_on(self._writer_conn, fn, args)
        async with self._reader_limiter:
            conn = self._readers.pop()
            try:
                return await trio.to_thread.run_sync(self._read_on, conn, fn, args)
            finally:
                self._readers.append(conn)

    def read_now(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in a read transaction at once, on the calling
        thread: for lookups of a few rows by index, which take microseconds,
        less than handing them to a reader thread and back. WAL readers never
        wait for the writer, so this does not block on it. Anything that may
        scan should use :meth:`run_read`."""
        if self._closed:
            raise DatabaseClosed("the database is closed")
        self._reads += 1
        return self._read_on(self._now_reader, fn, args)

    @staticmethod
    def _read_on(conn: sqlite3.Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        if conn.in_transaction:  # inline mode shares the writer connection
            return fn(conn, *args)
        conn.execute("BEGIN")
        try:
            return fn(conn, *args)
        finally:
            conn.execute("ROLLBACK")

    # -- maintenance -----------------------------------------------------

    async def backup(self, target: str | Path) -> None:
        """An online, consistent copy of the live database into ``target``
        (SQLite's backup API, from a read connection, so writes go on)."""
        target_path = Path(target)
        if await trio.Path(target_path).exists():
            raise FileExistsError(f"{target_path} already exists")

        def copy(conn: sqlite3.Connection) -> None:
            dest = sqlite3.connect(str(target_path))
            try:
                conn.backup(dest, pages=-1)  # one step: one consistent snapshot
                dest.execute("PRAGMA journal_mode = WAL")
            finally:
                dest.close()

        if self.inline:
            await trio.lowlevel.checkpoint()
            copy(self._writer_conn)
            return
        async with self._reader_limiter:
            conn = self._readers.pop()
            try:
                await trio.to_thread.run_sync(copy, conn)
            finally:
                self._readers.append(conn)

    def statistics(self) -> DatabaseStatistics:
        return DatabaseStatistics(
            transactions=self._transactions,
            jobs=self._jobs,
            failed_jobs=self._failed_jobs,
            largest_batch=self._largest_batch,
            queued=self._send.statistics().current_buffer_used,
            reads=self._reads,
        )
