"""Shared steps of the room tests: users, rooms, requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from trioserver.testing import TestClient, TestHomeserver
from trioserver.testing.homeserver import TestResponse

V3 = "/_matrix/client/v3"
R0 = "/_matrix/client/r0"


def q(value: str) -> str:
    """A path segment, percent-encoded."""
    return quote(value, safe="")


def err(response: TestResponse) -> tuple[int, str]:
    return response.status, response.json().get("errcode")


@dataclass
class User:
    user_id: str
    client: TestClient
    device_id: str

    async def create_room(self, **body: Any) -> str:
        response = await self.client.post(f"{V3}/createRoom", json_body=body)
        assert response.status == 200, response.json()
        return str(response.json()["room_id"])

    async def send(
        self, room_id: str, body: dict[str, Any], txn: str, event_type: str = "m.room.message"
    ) -> TestResponse:
        return await self.client.put(
            f"{V3}/rooms/{q(room_id)}/send/{q(event_type)}/{q(txn)}", json_body=body
        )

    async def send_ok(self, room_id: str, text: str, txn: str) -> str:
        response = await self.send(room_id, {"msgtype": "m.text", "body": text}, txn)
        assert response.status == 200, response.json()
        return str(response.json()["event_id"])

    async def post(self, path: str, body: dict[str, Any] | None = None) -> TestResponse:
        return await self.client.post(f"{V3}{path}", json_body=body if body is not None else {})

    async def join(self, room_id: str) -> TestResponse:
        return await self.post(f"/rooms/{q(room_id)}/join")

    async def invite(self, room_id: str, user_id: str) -> TestResponse:
        return await self.post(f"/rooms/{q(room_id)}/invite", {"user_id": user_id})

    async def put_state(
        self, room_id: str, event_type: str, content: dict[str, Any], state_key: str = ""
    ) -> TestResponse:
        return await self.client.put(
            f"{V3}/rooms/{q(room_id)}/state/{q(event_type)}/{q(state_key)}", json_body=content
        )

    async def get_event(self, room_id: str, event_id: str) -> TestResponse:
        return await self.client.get(f"{V3}/rooms/{q(room_id)}/event/{q(event_id)}")


async def user(hs: TestHomeserver, localpart: str) -> User:
    session = await hs.register_user(localpart)
    return User(session.user_id, hs.client(session.access_token), session.device_id)
