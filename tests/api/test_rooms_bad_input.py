"""Bad input to the room endpoints never produces a 500."""

from __future__ import annotations

import json

from tests.api.rooms_helpers import V3, q
from trioserver.testing import TestHomeserver

KEYS = (
    "user_id",
    "reason",
    "visibility",
    "preset",
    "room_alias_name",
    "name",
    "topic",
    "invite",
    "invite_3pid",
    "room_version",
    "creation_content",
    "initial_state",
    "is_direct",
    "power_level_content_override",
    "body",
    "msgtype",
    "alias",
    "alt_aliases",
    "third_party_signed",
)
ODD_VALUES: list[object] = [None, 0, -1, 2**70, 1.5, True, "", "\x00", [], {}, [1, "x"], [{}]]


def bodies() -> list[bytes]:
    raw = [b"", b"null", b"[]", b'"x"', b'{"a": "\\ud800"}', b"{" * 200 + b"}" * 200]
    for value in ODD_VALUES:
        raw.append(json.dumps({key: value for key in KEYS}).encode())
    return raw


async def test_no_bad_request_is_a_server_error(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    room_resp = await homeserver.client(alice.access_token).post(
        f"{V3}/createRoom", json_body={"preset": "public_chat"}
    )
    room = q(room_resp.json()["room_id"])
    odd_room = q("!\x00:x")
    endpoints = [
        ("POST", "/createRoom"),
        ("POST", f"/rooms/{room}/join"),
        ("POST", f"/join/{room}"),
        ("POST", f"/join/{q('#a:b')}"),
        ("POST", f"/join/{odd_room}"),
        ("POST", f"/knock/{room}"),
        ("POST", f"/rooms/{room}/invite"),
        ("POST", f"/rooms/{room}/kick"),
        ("POST", f"/rooms/{room}/ban"),
        ("POST", f"/rooms/{room}/unban"),
        ("POST", f"/rooms/{room}/leave"),
        ("POST", f"/rooms/{room}/forget"),
        ("POST", f"/rooms/{odd_room}/invite"),
        ("PUT", f"/rooms/{room}/send/m.room.message/t1"),
        ("PUT", f"/rooms/{room}/send/{q('%00')}/{q('x' * 300)}"),
        ("PUT", f"/rooms/{odd_room}/send/m.room.message/t1"),
        ("PUT", f"/rooms/{room}/redact/{q('$x')}/t2"),
        ("PUT", f"/rooms/{room}/redact/{q('bad')}/t2"),
        ("PUT", f"/rooms/{room}/state/m.room.topic"),
        ("PUT", f"/rooms/{room}/state/m.room.canonical_alias/"),
        ("PUT", f"/rooms/{room}/state/m.room.power_levels"),
        ("PUT", f"/rooms/{room}/state/m.room.member/{q('@bob:localhost')}"),
        ("GET", f"/rooms/{room}/state"),
        ("GET", f"/rooms/{room}/state/m.room.create?format=%00"),
        ("GET", f"/rooms/{room}/members?at=s99999999999&membership=join"),
        ("GET", f"/rooms/{room}/members?at=%ED%A0%80&not_membership=x"),
        ("GET", f"/rooms/{room}/joined_members"),
        ("GET", f"/rooms/{odd_room}/event/{q('$%00')}"),
        ("GET", f"/rooms/{room}/event/{q('$x:y')}"),
        ("GET", "/joined_rooms"),
    ]
    failures = []
    for token in (None, alice.access_token):
        client = homeserver.client(token)
        for method, url in endpoints:
            path, _, query = url.partition("?")
            params = dict(p.split("=", 1) for p in query.split("&")) if query else None
            for data in bodies() if method != "GET" else [b""]:
                response = await client.request(
                    method,
                    f"{V3}{path}",
                    data=data,
                    query=params,
                    headers={"Content-Type": "application/json"},
                )
                explained = "errcode" in response.json() if response.body else False
                if response.status >= 500 or (response.status != 200 and not explained):
                    failures.append((method, url, data[:60], response.status, response.body[:200]))
    assert failures == [], "\n".join(map(repr, failures))
