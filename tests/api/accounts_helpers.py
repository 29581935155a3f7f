"""Shared steps of the account tests: UIA bodies, registering through the API."""

from __future__ import annotations

from typing import Any

from trioserver.testing import TestClient, TestHomeserver

V1 = "/_matrix/client/v1"
V3 = "/_matrix/client/v3"


def password_auth(user: str, password: str, session: str | None = None) -> dict[str, Any]:
    auth: dict[str, Any] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
    }
    if session is not None:
        auth["session"] = session
    return auth


async def uia_session(
    client: TestClient, method: str, path: str, body: dict[str, Any] | None = None
) -> str:
    """Start UIA for a request: it must answer 401 with flows and a session."""
    response = await client.request(method, path, json_body=body if body is not None else {})
    assert response.status == 401, response.json()
    answer = response.json()
    assert answer["flows"] and isinstance(answer["session"], str)
    return str(answer["session"])


async def register(
    hs: TestHomeserver, username: str, password: str = "pw", **extra: Any
) -> dict[str, Any]:
    """Register through POST /register (open registration: the dummy stage)."""
    client = hs.client()
    body: dict[str, Any] = {"username": username, "password": password, **extra}
    session = await uia_session(client, "POST", f"{V3}/register", body)
    response = await client.post(
        f"{V3}/register", json_body={**body, "auth": {"type": "m.login.dummy", "session": session}}
    )
    assert response.status == 200, response.json()
    return dict(response.json())


def errcode(response: Any) -> tuple[int, str]:
    return response.status, response.json().get("errcode")
