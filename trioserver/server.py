"""The composition root: one nursery that owns the database writer, the HTTP
server and every other service of a running homeserver.

A crash in any service takes the whole server down through that nursery
(never only logged while the server keeps answering).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

import nacl.signing
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve
from quart_trio import QuartTrio

from trioserver.accounts import Accounts
from trioserver.api import Services, create_app
from trioserver.api.client.directory import attach_indexer
from trioserver.api.client.relations import attach_relations_indexer
from trioserver.api.client.room_hooks import install_room_hooks
from trioserver.api.client.sync import install_sync
from trioserver.api.context import SigningKeys
from trioserver.api.media.common import install_media
from trioserver.config import Config
from trioserver.db import Database, prepare_database
from trioserver.db import server_keys as keys_sql
from trioserver.db.schema import SchemaTree
from trioserver.directory import DirectoryIndexer
from trioserver.relations import RelationsIndexer
from trioserver.roomserver.builder import ServerIdentity
from trioserver.roomserver.queries import RoomQueries
from trioserver.roomserver.service import Roomserver
from trioserver.sync.follower import RoomEventFollower
from trioserver.sync.notifier import Notifier
from trioserver.sync.presence import PresenceTracker
from trioserver.sync.receipts import Receipts
from trioserver.sync.service import SyncService
from trioserver.sync.typing import TypingTracker
from trioserver.sync.unread import UnreadCounter
from trioserver.util.blocking import BlockingRunner
from trioserver.util.clock import Clock, SystemClock
from trioserver.util.memory import return_freed_memory, trim_every

log = logging.getLogger("trioserver")

#: How often freed heap memory goes back to the system (util.memory).
TRIM_SECONDS = 10.0


@dataclass
class RunningHomeserver:
    """What :func:`run_homeserver` hands its starter once it answers requests."""

    services: Services
    app: QuartTrio
    #: The bound addresses, e.g. ``["http://127.0.0.1:8008"]``.
    binds: list[str]
    _shutdown: trio.Event = field(repr=False)

    def request_shutdown(self) -> None:
        """Stop accepting, let in-flight requests finish, commit what is queued, exit."""
        self._shutdown.set()


async def open_database(
    path: str, *, inline: bool = False, schema: SchemaTree | None = None
) -> Database:
    """Open the database file and bring its schema up to date."""
    db = Database(path, inline=inline)
    try:
        await BlockingRunner(inline=inline).run(prepare_database, db.writer_connection, schema)
    except BaseException:
        await db.aclose()
        raise
    return db


def signing_keys_from(stored: list[keys_sql.StoredSigningKey]) -> SigningKeys:
    current = [k for k in stored if k.expired_ts is None]
    if len(current) != 1:
        raise RuntimeError("the database must hold exactly one current signing key")
    old = {
        k.key_id: (nacl.signing.SigningKey(k.seed).verify_key, k.expired_ts)
        for k in stored
        if k.expired_ts is not None
    }
    return SigningKeys(current[0].key_id, nacl.signing.SigningKey(current[0].seed), old)


async def load_signing_keys(db: Database, clock: Clock) -> SigningKeys:
    """Our signing keys, creating the first one on first start (never regenerated)."""
    await db.run_write(keys_sql.ensure_current_key_txn, clock.time_ms())
    return signing_keys_from(await db.run_read(keys_sql.all_keys_txn))


def hypercorn_config(config: Config) -> HypercornConfig:
    hc = HypercornConfig()
    hc.bind = list(config.bind)
    hc.graceful_timeout = config.graceful_timeout
    hc.accesslog = None  # we log one line per request ourselves
    hc.errorlog = logging.getLogger("hypercorn.error")
    hc.keep_alive_timeout = 75
    return hc


async def run_homeserver(
    config: Config,
    *,
    clock: Clock | None = None,
    inline_db: bool = False,
    fast_password_hashing: bool = False,
    handle_signals: bool = False,
    task_status: trio.TaskStatus[RunningHomeserver] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run a homeserver until shutdown is requested (or SIGINT/SIGTERM when
    ``handle_signals``). Hands a :class:`RunningHomeserver` to ``nursery.start``."""
    clock = clock or SystemClock()
    db = await open_database(config.db, inline=inline_db)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(db.run_writer)
            keys = await load_signing_keys(db, clock)
            accounts = Accounts(
                db,
                clock,
                config.server_name,
                fast_password_hashing=fast_password_hashing,
                access_token_lifetime_ms=config.access_token_lifetime * 1000,
            )
            await nursery.start(accounts.run)
            roomserver = await Roomserver.open(
                db, clock, ServerIdentity(config.server_name, keys.key_id, keys.signing_key)
            )
            await nursery.start(roomserver.run)
            indexer = DirectoryIndexer(
                db, roomserver.output, RoomQueries(db, roomserver.events).events
            )
            await nursery.start(indexer.run)
            relations_indexer = RelationsIndexer(db, roomserver.output)
            await nursery.start(relations_indexer.run)
            notifier = Notifier()
            await nursery.start(RoomEventFollower(db, roomserver.output, notifier).run)
            typing = TypingTracker(db, notifier)
            await nursery.start(typing.run)
            presence = PresenceTracker(db, notifier, clock)
            await nursery.start(presence.run)
            services = Services(
                config=config,
                clock=clock,
                db=db,
                accounts=accounts,
                signing_keys=keys,
                roomserver=roomserver,
                rooms=RoomQueries(db, roomserver.events),
                notifier=notifier,
                typing=typing,
                receipts=await Receipts.open(db, notifier),
                presence=presence,
                unread=UnreadCounter(db),
                sync=SyncService(db, clock, notifier, roomserver.output),
            )
            install_room_hooks(services)
            install_sync(services)
            app = create_app(services)
            attach_indexer(app, indexer)
            attach_relations_indexer(app, relations_indexer)
            media = install_media(app, services)
            await nursery.start(media.repository.run)
            shutdown = trio.Event()
            if handle_signals:  # the process is ours
                nursery.start_soon(_watch_signals, shutdown, nursery.cancel_scope)
                nursery.start_soon(trim_every, TRIM_SECONDS)
            binds = await nursery.start(
                _serve_http, app, hypercorn_config(config), shutdown.wait, db, nursery.cancel_scope
            )
            log.info("trioserver %s listening on %s", config.server_name, ", ".join(binds))
            task_status.started(RunningHomeserver(services, app, binds, shutdown))
    finally:
        with trio.CancelScope(shield=True):
            await db.aclose()
    log.info("trioserver stopped")


async def _serve_http(
    app: QuartTrio,
    hc: HypercornConfig,
    shutdown_trigger: Callable[[], Awaitable[None]],
    db: Database,
    services_scope: trio.CancelScope,
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    await hypercorn_serve(app, hc, shutdown_trigger=shutdown_trigger, task_status=task_status)
    # No request is in flight any more: commit what is queued, then stop the services.
    log.info("HTTP server stopped; closing the database")
    await db.aclose()
    services_scope.cancel()


async def _watch_signals(shutdown: trio.Event, services_scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            if not shutdown.is_set():
                log.info("%s received: shutting down", signal.Signals(signum).name)
                shutdown.set()
            else:
                log.warning("second signal: stopping now")
                services_scope.cancel()
                return


def serve_forever(config: Config) -> None:
    """Run the server in this process until SIGINT/SIGTERM (the ``serve`` command)."""
    return_freed_memory()
    trio.run(partial(run_homeserver, config, handle_signals=True))
