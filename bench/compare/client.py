"""A small Matrix client for the benchmarks: only the public client-server
API, so the same calls run against trioserver, Synapse or any ``--target``.

Every call checks its answer; an unexpected status raises
:class:`WorkloadFailed` with the server's error, so a workload never counts a
failed request as done work.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import trio

__all__ = ["Http", "Session", "WorkloadFailed", "open_http"]

V3 = "/_matrix/client/v3"
PASSWORD = "bench-password-1"  # throwaway users, throwaway password


class WorkloadFailed(Exception):
    """A request failed or a result was wrong: the workload counts as failed."""


def _q(value: str) -> str:
    return quote(value, safe="")


@dataclass
class Session:
    """A logged-in user."""

    user_id: str
    token: str
    device_id: str


class Http:
    """An httpx client bound to one homeserver, with Matrix-shaped helpers."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._txn = itertools.count()

    async def request(
        self,
        method: str,
        path: str,
        session: Session | None = None,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        expect: int = 200,
    ) -> Any:
        headers = {"Authorization": f"Bearer {session.token}"} if session else {}
        response = await self.client.request(
            method,
            path,
            headers=headers,
            content=None if body is None else json.dumps(body).encode(),
            params=params,
        )
        if response.status_code != expect:
            raise WorkloadFailed(
                f"{method} {path.split('?')[0]} -> {response.status_code}: {response.text[:300]}"
            )
        return response.json()

    # Accounts

    async def register(self, username: str) -> Session:
        """Register with user-interactive auth (``m.login.dummy``), as a client would."""
        first = await self.client.post(
            f"{V3}/register", json={"username": username, "password": PASSWORD}
        )
        if first.status_code == 200:  # a server that asks for no auth
            body = first.json()
        else:
            if first.status_code != 401:
                raise WorkloadFailed(f"register -> {first.status_code}: {first.text[:300]}")
            auth: dict[str, Any] = {"type": "m.login.dummy"}
            session_id = first.json().get("session")
            if isinstance(session_id, str):
                auth["session"] = session_id
            body = await self.request(
                "POST",
                f"{V3}/register",
                body={"username": username, "password": PASSWORD, "auth": auth},
            )
        return Session(body["user_id"], body["access_token"], body["device_id"])

    async def login(self, user_id: str) -> Session:
        body = await self.request(
            "POST",
            f"{V3}/login",
            body={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user_id},
                "password": PASSWORD,
            },
        )
        return Session(body["user_id"], body["access_token"], body["device_id"])

    # Rooms

    async def create_room(self, session: Session, **body: Any) -> str:
        body.setdefault("preset", "public_chat")
        answer = await self.request("POST", f"{V3}/createRoom", session, body=body)
        return str(answer["room_id"])

    async def join(self, session: Session, room_id: str) -> None:
        await self.request("POST", f"{V3}/join/{_q(room_id)}", session, body={})

    async def send_text(self, session: Session, room_id: str, text: str) -> str:
        txn = f"b{time.monotonic_ns()}.{next(self._txn)}"
        answer = await self.request(
            "PUT",
            f"{V3}/rooms/{_q(room_id)}/send/m.room.message/{txn}",
            session,
            body={"msgtype": "m.text", "body": text},
        )
        return str(answer["event_id"])

    async def messages(
        self, session: Session, room_id: str, *, from_: str | None, limit: int
    ) -> dict[str, Any]:
        params = {"dir": "b", "limit": str(limit)}
        if from_ is not None:
            params["from"] = from_
        answer: dict[str, Any] = await self.request(
            "GET", f"{V3}/rooms/{_q(room_id)}/messages", session, params=params
        )
        return answer

    async def all_bodies(
        self, session: Session, room_id: str, prefix: str
    ) -> tuple[list[str], int]:
        """Every ``m.text`` body starting with ``prefix`` in the room, oldest
        first, read back with ``/messages?dir=b&limit=100``; and the pages read."""
        bodies: list[str] = []
        token: str | None = None
        pages = 0
        while True:
            page = await self.messages(session, room_id, from_=token, limit=100)
            pages += 1
            for event in page.get("chunk", []):
                body = event.get("content", {}).get("body")
                if event.get("type") == "m.room.message" and str(body).startswith(prefix):
                    bodies.append(str(body))
            token = page.get("end")
            if not page.get("chunk") or token is None:
                break
        bodies.reverse()
        return bodies, pages

    async def sync(
        self,
        session: Session,
        *,
        since: str | None = None,
        timeout_ms: int = 0,
        filter_: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], int]:
        """One ``/sync``: the answer and its size in bytes."""
        params = {"timeout": str(timeout_ms)}
        if since is not None:
            params["since"] = since
        if filter_ is not None:
            params["filter"] = json.dumps(filter_, separators=(",", ":"))
        response = await self.client.get(
            f"{V3}/sync",
            params=params,
            headers={"Authorization": f"Bearer {session.token}"},
            timeout=timeout_ms / 1000 + 60,
        )
        if response.status_code != 200:
            raise WorkloadFailed(f"sync -> {response.status_code}: {response.text[:300]}")
        answer: dict[str, Any] = response.json()
        return answer, len(response.content)


class open_http:
    """``async with open_http(base_url) as http``: a pooled client for many users."""

    def __init__(self, base_url: str) -> None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=2000)
        self._client = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120)

    async def __aenter__(self) -> Http:
        await self._client.__aenter__()
        return Http(self._client)

    async def __aexit__(self, *exc: object) -> None:
        with trio.CancelScope(shield=True):
            await self._client.__aexit__(None, None, None)
