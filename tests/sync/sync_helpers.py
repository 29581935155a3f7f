"""Shared steps of the /sync tests."""

from __future__ import annotations

import json
from typing import Any

from tests.api.rooms_helpers import V3, User
from trioserver.testing.homeserver import TestResponse


async def sync(
    u: User,
    since: str | None = None,
    *,
    timeout_ms: int = 0,
    filter_: Any = None,
    full_state: bool = False,
) -> dict[str, Any]:
    response = await sync_raw(
        u, since, timeout_ms=timeout_ms, filter_=filter_, full_state=full_state
    )
    assert response.status == 200, response.json()
    body: dict[str, Any] = response.json()
    return body


async def sync_raw(
    u: User,
    since: str | None = None,
    *,
    timeout_ms: int = 0,
    filter_: Any = None,
    full_state: bool = False,
) -> TestResponse:
    query = {"timeout": str(timeout_ms)}
    if since is not None:
        query["since"] = since
    if filter_ is not None:
        query["filter"] = filter_ if isinstance(filter_, str) else json.dumps(filter_)
    if full_state:
        query["full_state"] = "true"
    return await u.client.get(f"{V3}/sync", query=query)


def timeline(body: dict[str, Any], room_id: str, section: str = "join") -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = body["rooms"][section][room_id]["timeline"]["events"]
    return events


def bodies(events: list[dict[str, Any]]) -> list[Any]:
    return [e["content"].get("body") for e in events if e["type"] == "m.room.message"]
