"""matrix-nio registers, logs in, manages devices and its profile on a real trioserver."""

from __future__ import annotations

from typing import Any

import nio

from tests.e2e.nio_helpers import run_asyncio
from trioserver.testing import TestHomeserver


async def test_nio_registers_manages_devices_and_profile(homeserver: TestHomeserver) -> None:
    base_url = homeserver.base_url

    async def session() -> dict[str, Any]:
        results: dict[str, Any] = {}
        phone = nio.AsyncClient(base_url, "carol")
        laptop = nio.AsyncClient(base_url, "@carol:localhost")
        try:
            # nio's register() sends m.login.dummy auth straight away.
            results["register"] = await phone.register("carol", "s3cret!", device_name="phone")
            results["login"] = await laptop.login("s3cret!", device_name="laptop")
            results["devices"] = await phone.devices()
            laptop_id = laptop.device_id
            results["challenge"] = await phone.delete_devices([laptop_id])
            auth = {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": "carol"},
                "password": "s3cret!",
                "session": results["challenge"].session,
            }
            results["deleted"] = await phone.delete_devices([laptop_id], auth)
            results["devices_after"] = await phone.devices()
            results["laptop_whoami"] = await laptop.whoami()
            results["set_name"] = await phone.set_displayname("Carol C.")
            results["get_name"] = await laptop.get_displayname("@carol:localhost")
            results["laptop_id"] = laptop_id
            return results
        finally:
            await phone.close()
            await laptop.close()

    r = await run_asyncio(session)
    assert isinstance(r["register"], nio.RegisterResponse), r["register"]
    assert r["register"].user_id == "@carol:localhost"
    assert isinstance(r["login"], nio.LoginResponse), r["login"]
    assert isinstance(r["devices"], nio.DevicesResponse), r["devices"]
    names = {d.id: d.display_name for d in r["devices"].devices}
    assert names == {r["register"].device_id: "phone", r["laptop_id"]: "laptop"}
    assert isinstance(r["challenge"], nio.DeleteDevicesAuthResponse), r["challenge"]
    assert r["challenge"].flows == [{"stages": ["m.login.password"]}]
    assert isinstance(r["deleted"], nio.DeleteDevicesResponse), r["deleted"]
    assert [d.id for d in r["devices_after"].devices] == [r["register"].device_id]
    assert isinstance(r["laptop_whoami"], nio.WhoamiError)
    assert r["laptop_whoami"].status_code == "M_UNKNOWN_TOKEN"
    assert isinstance(r["set_name"], nio.ProfileSetDisplayNameResponse), r["set_name"]
    assert isinstance(r["get_name"], nio.ProfileGetDisplayNameResponse), r["get_name"]
    assert r["get_name"].displayname == "Carol C."
