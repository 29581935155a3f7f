"""Devices' last-seen time, IP and user agent, without a write per request.

Each authenticated request records its device's activity in memory (a dict
assignment). :meth:`DeviceActivity.run_flusher` writes what was recorded at
most once per ``interval`` seconds, all devices in one write, so the cost
is one small transaction per interval however busy the server is. Readers
(``GET /devices``) see recorded-but-unwritten activity through
:meth:`DeviceActivity.pending`. What is recorded in the last interval before a
shutdown is lost; the spec allows last-seen to be "a few minutes out of date".
"""

from __future__ import annotations

import logging

import trio

from trioserver.db import Database, DatabaseClosed
from trioserver.db import devices as devices_sql
from trioserver.db.devices import LastSeen

log = logging.getLogger(__name__)

#: Seconds between writes of device activity.
FLUSH_INTERVAL = 300.0


class DeviceActivity:
    def __init__(self, db: Database, interval: float = FLUSH_INTERVAL) -> None:
        self._db = db
        self._interval = interval
        self._pending: dict[tuple[str, str], LastSeen] = {}
        self._something_pending = trio.Event()

    def record(
        self, user_id: str, device_id: str, ts: int, ip: str | None, user_agent: str | None
    ) -> None:
        """Note that ``device_id`` made a request at ``ts`` (cheap: no I/O)."""
        self._pending[(user_id, device_id)] = LastSeen(user_id, device_id, ts, ip, user_agent)
        self._something_pending.set()

    def pending(self, user_id: str, device_id: str) -> LastSeen | None:
        """Activity recorded since the last write, if any."""
        return self._pending.get((user_id, device_id))

    def forget(self, user_id: str, device_ids: list[str]) -> None:
        """Drop what was recorded for deleted devices."""
        for device_id in device_ids:
            self._pending.pop((user_id, device_id), None)

    async def flush(self) -> int:
        """Write everything recorded so far; returns how many devices."""
        batch = list(self._pending.values())
        self._pending = {}
        self._something_pending = trio.Event()
        if batch:
            await self._db.run_write(devices_sql.update_last_seen_txn, batch, background=True)
        return len(batch)

    async def run_flusher(self) -> None:
        """Write recorded activity at most once per interval, forever. Sleeps
        only while there is something to write (an idle server sets no timer)."""
        while True:
            await self._something_pending.wait()
            await trio.sleep(self._interval)
            try:
                await self.flush()
            except DatabaseClosed:
                return  # shutting down
            except Exception:
                log.exception("could not write device activity")
