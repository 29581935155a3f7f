"""One worker task per room with work, fed by a small bounded channel.

Contract:

* :meth:`RoomWorkers.submit` hands one item to the room's worker and waits
  for its result. Items of one room are processed one at a time, in the
  order their senders got into the channel; rooms proceed independently.
* The channel of a room is bounded: when it is full, senders wait; a sender
  that cannot get in before ``submit_timeout`` gets :class:`RoomBusy`
  (``M_LIMIT_EXCEEDED`` with ``retry_after_ms``) and its item is not queued.
* Workers start on demand and retire after ``idle_timeout`` seconds with
  nothing to do. A worker is removed from the registry and its channel
  closed with no checkpoint in between, so no item can be sent to a
  retired worker.
* An item whose processing raises fails alone: its sender gets the
  exception, the error is logged with the room and item, and the worker
  goes on with the next item. Cancellation is never swallowed.
* Submitting from inside a room worker would deadlock (the worker would
  wait for itself or for another worker waiting for it): it raises.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import outcome
import trio

from trioserver.protocol.errors import MatrixError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_inside_worker: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "trioserver_room_worker", default=None
)


class RoomBusy(MatrixError):
    """The room's input queue stayed full past the deadline."""

    def __init__(self, room_id: str, retry_after_ms: int) -> None:
        super().__init__(
            "M_LIMIT_EXCEEDED",
            "Too many events are queued for this room; try again shortly",
            retry_after_ms=retry_after_ms,
        )
        self.room_id = room_id


class WorkerStopped(Exception):
    """The room's worker was stopped (server shutting down) before finishing the item."""


class _Job(Generic[T, R]):
    __slots__ = ("done", "item", "result")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = trio.Event()
        self.result: outcome.Outcome[R] | None = None


@dataclass
class _Worker(Generic[T, R]):
    send: trio.MemorySendChannel[_Job[T, R]]
    receive: trio.MemoryReceiveChannel[_Job[T, R]]


@dataclass(frozen=True, slots=True)
class WorkerStatistics:
    workers: int  #: rooms with a live worker
    queued: int  #: items waiting in all rooms' channels
    queued_by_room: dict[str, int]
    processed: int  #: items finished (successfully or not)
    failed: int  #: items whose processing raised
    busy_refusals: int  #: senders refused with RoomBusy
    workers_started: int


class RoomWorkers(Generic[T, R]):
    """A supervised pool of per-room workers running ``process(room_id, item)``."""

    def __init__(
        self,
        process: Callable[[str, T], Awaitable[R]],
        *,
        queue_size: int = 100,
        idle_timeout: float = 30.0,
        submit_timeout: float = 10.0,
        describe: Callable[[T], str] = repr,
    ) -> None:
        self._process = process
        self._queue_size = queue_size
        self._idle_timeout = idle_timeout
        self._submit_timeout = submit_timeout
        self._describe = describe
        self._workers: dict[str, _Worker[T, R]] = {}
        self._nursery: trio.Nursery | None = None
        self._processed = 0
        self._failed = 0
        self._busy = 0
        self._started = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The supervising service: owns every worker task; runs until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._nursery = None

    async def submit(self, room_id: str, item: T) -> R:
        """Process ``item`` in ``room_id``'s worker and return its result."""
        if _inside_worker.get() is not None:
            raise RuntimeError(
                f"submitting to room {room_id} from inside the worker of room "
                f"{_inside_worker.get()} would deadlock"
            )
        job: _Job[T, R] = _Job(item)
        sent = False
        with trio.move_on_after(self._submit_timeout):
            while not sent:
                worker = self._workers.get(room_id) or self._start_worker(room_id)
                try:
                    await worker.send.send(job)  # cancelled: not sent (trio guarantees)
                except (trio.ClosedResourceError, trio.BrokenResourceError):
                    continue  # retired while we waited: start a fresh one
                sent = True
        if not sent:
            self._busy += 1
            raise RoomBusy(room_id, retry_after_ms=int(self._submit_timeout * 1000))
        await job.done.wait()
        assert job.result is not None
        return job.result.unwrap()

    def _start_worker(self, room_id: str) -> _Worker[T, R]:
        if self._nursery is None:
            raise RuntimeError("the room workers are not running")
        send, receive = trio.open_memory_channel[_Job[T, R]](self._queue_size)
        worker = _Worker(send, receive)
        self._workers[room_id] = worker
        self._started += 1
        self._nursery.start_soon(self._work, room_id, worker, name=f"room worker {room_id}")
        return worker

    async def _work(self, room_id: str, worker: _Worker[T, R]) -> None:
        _inside_worker.set(room_id)
        receive = worker.receive
        try:
            while True:
                job: _Job[T, R] | None = None
                with trio.move_on_after(self._idle_timeout):
                    job = await receive.receive()
                if job is not None:
                    await self._run_job(room_id, job)
                    continue
                # Idle: retire with no checkpoint between leaving the registry
                # and closing the channel.
                if self._workers.get(room_id) is worker:
                    del self._workers[room_id]
                worker.send.close()
                return
        finally:
            # Stopped (cancelled): anything still queued fails; nobody waits forever.
            if self._workers.get(room_id) is worker:
                del self._workers[room_id]
            worker.send.close()
            while True:
                try:
                    job = receive.receive_nowait()
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
                job.result = outcome.Error(WorkerStopped(f"the worker of {room_id} stopped"))
                job.done.set()

    async def _run_job(self, room_id: str, job: _Job[T, R]) -> None:
        try:
            job.result = outcome.Value(await self._process(room_id, job.item))
        except Exception as exc:
            self._failed += 1
            if not isinstance(exc, MatrixError):
                log.exception(
                    "room worker failed on %s in room %s", self._describe(job.item), room_id
                )
            job.result = outcome.Error(exc)
        finally:
            if job.result is None:  # cancelled: the sender must not wait forever
                job.result = outcome.Error(WorkerStopped(f"the worker of {room_id} stopped"))
            self._processed += 1
            job.done.set()

    def statistics(self) -> WorkerStatistics:
        by_room = {
            room: worker.send.statistics().current_buffer_used
            for room, worker in self._workers.items()
        }
        return WorkerStatistics(
            workers=len(self._workers),
            queued=sum(by_room.values()),
            queued_by_room=by_room,
            processed=self._processed,
            failed=self._failed,
            busy_refusals=self._busy,
            workers_started=self._started,
        )
