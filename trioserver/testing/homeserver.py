"""``open_test_homeserver``: a fresh homeserver on an ephemeral loopback port."""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio
import trio.testing

from trioserver.accounts import Session
from trioserver.api import Services
from trioserver.config import Config
from trioserver.server import RunningHomeserver, run_homeserver
from trioserver.util.clock import Clock, SystemClock, TrioClock


class Headers(dict[str, str]):
    """Response headers, looked up without regard to case."""

    def __init__(self, items: Mapping[str, str]) -> None:
        super().__init__({k.lower(): v for k, v in items.items()})

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key.lower(), default)


@dataclass(frozen=True, slots=True)
class TestResponse:
    __test__ = False

    status: int
    headers: Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class TestClient:
    """Requests to the homeserver over an in-memory transport (no socket)."""

    __test__ = False  # not a pytest test class

    def __init__(self, running: RunningHomeserver, access_token: str | None = None) -> None:
        self._running = running
        self.access_token = access_token

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> TestResponse:
        all_headers = dict(headers or {})
        if self.access_token is not None:
            all_headers.setdefault("Authorization", f"Bearer {self.access_token}")
        client = self._running.app.test_client()
        kwargs: dict[str, Any] = {"method": method, "headers": all_headers}
        if json_body is not None:
            kwargs["json"] = json_body
        elif data is not None:
            kwargs["data"] = data
        if query:
            kwargs["query_string"] = dict(query)
        response = await client.open(path, **kwargs)
        body = await response.get_data(as_text=False)
        return TestResponse(response.status_code, Headers(dict(response.headers)), body)

    async def get(self, path: str, **kwargs: Any) -> TestResponse:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> TestResponse:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> TestResponse:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return await self.request("DELETE", path, **kwargs)


@dataclass
class TestHomeserver:
    __test__ = False  # not a pytest test class

    running: RunningHomeserver
    deterministic: bool

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the real socket."""
        return self.running.binds[0]

    @property
    def server_name(self) -> str:
        return self.services.server_name

    @property
    def services(self) -> Services:
        return self.running.services

    async def register_user(
        self, localpart: str, password: str | None = "password", *, admin: bool = False
    ) -> Session:
        """Create a user with a device and an access token."""
        session = await self.services.accounts.register(localpart, password, admin=admin)
        assert session is not None
        return session

    async def settle(self) -> None:
        """Wait until every follower of the roomserver's output stream (the
        directory and search index, the relations index) has applied what
        was committed so far: afterwards their effects are all visible."""
        from trioserver.api.client.directory import INDEXER_EXTENSION
        from trioserver.api.client.relations import relations_indexer_of

        position = self.services.roomserver.output.position
        app = self.running.app
        directory = app.extensions.get(INDEXER_EXTENSION)
        if directory is not None:
            await directory.wait_caught_up(position)
        relations = relations_indexer_of(app)
        if relations is not None:
            await relations.wait_for(position)

    def client(self, access_token: str | None = None) -> TestClient:
        return TestClient(self.running, access_token)


def _is_mock_clock() -> bool:
    return isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)


@asynccontextmanager
async def open_test_homeserver(
    *,
    server_name: str = "localhost",
    registration: str = "open",
    deterministic: bool | None = None,
    db_path: str | Path | None = None,
    clock: Clock | None = None,
    **config: Any,
) -> AsyncIterator[TestHomeserver]:
    """Start a homeserver on ``127.0.0.1:0`` with a fresh database; stop it on exit.

    ``deterministic`` (default: whether trio runs on a ``MockClock``) runs
    database calls inline on an in-memory database and takes timestamps from
    the trio clock. Extra keyword arguments are :class:`Config` fields.
    """
    if deterministic is None:
        deterministic = _is_mock_clock()
    with tempfile.TemporaryDirectory(prefix="trioserver-test-") as tmp:
        if db_path is None:
            db_path = ":memory:" if deterministic else str(Path(tmp) / "homeserver.db")
        cfg = Config(
            server_name=server_name,
            bind=("127.0.0.1:0",),
            db=str(db_path),
            registration=registration,
            rate_limits=False,
            graceful_timeout=1.0,
        ).with_(**config)
        clock = clock or (TrioClock() if deterministic else SystemClock())
        async with trio.open_nursery() as nursery:
            running: RunningHomeserver = await nursery.start(
                lambda task_status: run_homeserver(
                    cfg,
                    clock=clock,
                    inline_db=deterministic,
                    fast_password_hashing=True,
                    task_status=task_status,
                )
            )
            try:
                yield TestHomeserver(running, deterministic)
            finally:
                running.request_shutdown()
