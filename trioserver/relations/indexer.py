"""The relations indexer: follows the roomserver's output stream and records
each event's relation in ``event_relations``.

Contract:

* Each batch of entries is written in one transaction together with the
  stream position reached, so after a restart the indexer resumes exactly
  where it stopped (nothing skipped, nothing applied twice; rows are
  ``INSERT OR IGNORE`` anyway).
* Redactions need no work here: readers leave out children whose event is
  redacted (:mod:`trioserver.db.relations`).
* The output stream reaches the indexer as an object (:class:`OutputSource`),
  so this package needs no roomserver.
* A batch that fails to be written is logged and skipped (derived data only):
  the indexer never takes the server down.
* :meth:`RelationsIndexer.wait_for` lets a reader wait until an event it
  knows of is indexed (read-your-writes for the relations endpoints).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from trioserver.db import Database
from trioserver.db.relations import RelationRow, add_relations_txn, stream_position_txn
from trioserver.relations.parse import relation_row

log = logging.getLogger(__name__)

NAME = "relations"


class OutputEntry(Protocol):
    """What the indexer reads of one output-stream entry."""

    @property
    def position(self) -> int: ...
    @property
    def room_id(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def pdu(self) -> dict[str, Any]: ...


class OutputSource(Protocol):
    @property
    def position(self) -> int: ...

    def follow(self, after: int, limit: int = ...) -> AsyncIterator[Sequence[OutputEntry]]: ...


@dataclass(frozen=True, slots=True)
class IndexerStatistics:
    position: int
    relations_indexed: int
    failed_batches: int


class RelationsIndexer:
    def __init__(self, db: Database, output: OutputSource, *, batch_size: int = 500) -> None:
        self._db = db
        self._output = output
        self._batch_size = batch_size
        self._position = 0
        self._advanced = trio.Event()
        self._indexed = 0
        self._failed = 0

    @property
    def position(self) -> int:
        """The stream position up to which every entry is indexed."""
        return self._position

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The service: resumes at the stored position and follows the stream."""
        self._position = await self._db.run_read(stream_position_txn, NAME)
        task_status.started()
        async for batch in self._output.follow(self._position, self._batch_size):
            if not batch:
                continue
            await self._apply(batch)

    async def _apply(self, batch: Sequence[OutputEntry]) -> None:
        rows: list[RelationRow] = []
        for entry in batch:
            row = relation_row(entry.pdu, entry.event_id, entry.room_id, entry.position)
            if row is not None:
                rows.append(row)
        try:
            await self._db.run_write(
                add_relations_txn, rows, NAME, batch[-1].position, background=True
            )
        except Exception:
            self._failed += 1
            log.exception(
                "relations: could not index positions %d..%d",
                batch[0].position,
                batch[-1].position,
            )
        else:
            self._indexed += len(rows)
        self._position = batch[-1].position
        self._advanced.set()
        self._advanced = trio.Event()

    async def wait_for(self, position: int) -> None:
        """Wait until every entry up to ``position`` is indexed (callers bound
        the wait with ``trio.move_on_after``)."""
        while self._position < position:
            await self._advanced.wait()

    def statistics(self) -> IndexerStatistics:
        return IndexerStatistics(self._position, self._indexed, self._failed)
