"""Bad input to the account endpoints never produces a 500."""

from __future__ import annotations

import json

from tests.api.accounts_helpers import V1, V3
from trioserver.testing import open_test_homeserver

ALICE = "@alice:localhost"
ROOM = "!r:localhost"

ENDPOINTS = [
    ("POST", f"{V3}/register"),
    ("POST", f"{V3}/register?kind=guest"),
    ("GET", f"{V3}/register/available?username=%ED%A0%80"),
    ("GET", f"{V1}/register/m.login.registration_token/validity?token=%00"),
    ("POST", f"{V3}/login"),
    ("POST", f"{V1}/login/get_token"),
    ("POST", f"{V3}/refresh"),
    ("POST", f"{V3}/logout"),
    ("POST", f"{V3}/account/password"),
    ("POST", f"{V3}/account/deactivate"),
    ("POST", f"{V3}/account/3pid/add"),
    ("POST", f"{V3}/account/3pid/delete"),
    ("PUT", f"{V3}/devices/DEV"),
    ("DELETE", f"{V3}/devices/DEV"),
    ("POST", f"{V3}/delete_devices"),
    ("PUT", f"{V3}/profile/{ALICE}/displayname"),
    ("PUT", f"{V3}/profile/{ALICE}/avatar_url"),
    ("PUT", f"{V3}/profile/{ALICE}/org.example.x"),
    ("GET", f"{V3}/profile/%ED%A0%80/displayname"),
    ("PUT", f"{V3}/user/{ALICE}/account_data/org.example"),
    ("PUT", f"{V3}/user/{ALICE}/rooms/{ROOM}/account_data/org.example"),
    ("PUT", f"{V3}/user/{ALICE}/rooms/{ROOM}/tags/u.x"),
    ("GET", f"{V3}/user/{ALICE}/rooms/%00/tags"),
]

KEYS = (
    "username",
    "password",
    "new_password",
    "device_id",
    "initial_device_display_name",
    "display_name",
    "displayname",
    "avatar_url",
    "org.example.x",
    "refresh_token",
    "token",
    "devices",
    "identifier",
    "user",
    "type",
    "order",
    "inhibit_login",
    "logout_devices",
    "erase",
    "guest_access_token",
    "client_secret",
    "sid",
    "medium",
    "address",
)
ODD_VALUES: list[object] = [None, 0, -1, 2**70, 1.5, True, "", "\x00", [], {}, [1, "x"], {"a": {}}]


def bodies() -> list[bytes]:
    raw = [
        b"",
        b"null",
        b"[]",
        b'"text"',
        b'{"a": "\\ud800"}',
        b'{"username": "\\udfff", "password": "\\ud800x"}',
        b"{" * 200 + b"}" * 200,
        b'{"auth": 5}',
        b'{"auth": {"type": 5, "session": []}}',
        b'{"auth": {"type": "m.login.password", "identifier": "alice", "password": 1}}',
        b'{"auth": {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": 5}}}',
        b'{"auth": {"type": "m.login.registration_token", "token": {}}}',
        b'{"type": "m.login.token", "token": ["x"]}',
        b'{"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "@:"}}',
    ]
    for value in ODD_VALUES:
        raw.append(json.dumps({key: value for key in KEYS}).encode())
    return raw


async def test_no_bad_request_is_a_server_error() -> None:
    async with open_test_homeserver(guest_access=True) as hs:
        alice = await hs.register_user("alice", "pw")
        failures = []
        for token in (None, alice.access_token):
            client = hs.client(token)
            for method, url in ENDPOINTS:
                path, _, query = url.partition("?")
                params = dict([query.split("=", 1)]) if query else None
                for data in bodies():
                    response = await client.request(
                        method,
                        path,
                        data=data,
                        query=params,
                        headers={"Content-Type": "application/json"},
                    )
                    answer = response.json()
                    explained = "errcode" in answer or "flows" in answer  # an error or UIA
                    if response.status >= 500 or (response.status != 200 and not explained):
                        failures.append((method, url, data[:60], response.status))
        assert failures == [], "\n".join(map(repr, failures))
