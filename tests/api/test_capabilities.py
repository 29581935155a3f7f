"""GET /capabilities."""

from __future__ import annotations

from tests.api.accounts_helpers import V3, errcode
from trioserver.protocol.room_versions import ROOM_VERSIONS
from trioserver.testing import TestHomeserver


async def test_capabilities(homeserver: TestHomeserver) -> None:
    alice = await homeserver.register_user("alice")
    response = await homeserver.client(alice.access_token).get(f"{V3}/capabilities")
    assert response.status == 200
    capabilities = response.json()["capabilities"]
    assert capabilities["m.room_versions"] == {
        "default": "12",
        "available": {str(n): "stable" for n in range(1, 13)},
    }
    assert set(capabilities["m.room_versions"]["available"]) == set(ROOM_VERSIONS)
    assert capabilities["m.change_password"] == {"enabled": True}
    assert capabilities["m.set_displayname"] == {"enabled": True}
    assert capabilities["m.set_avatar_url"] == {"enabled": True}
    assert capabilities["m.3pid_changes"] == {"enabled": False}
    assert capabilities["m.get_login_token"] == {"enabled": True}
    assert capabilities["m.profile_fields"] == {"enabled": True}
    assert errcode(await homeserver.client().get(f"{V3}/capabilities")) == (401, "M_MISSING_TOKEN")
