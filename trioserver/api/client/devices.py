"""Device management (client-server API, "Device Management"): ``GET /devices``,
``GET/PUT/DELETE /devices/{deviceId}``, ``POST /delete_devices``.

Deleting devices asks for the password again (UIA), as the spec's security
considerations advise; it deletes the devices' tokens and everything else
stored per device.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from trioserver.api.client.params import MAX_DEVICE_DISPLAY_NAME_LENGTH, optional_str
from trioserver.api.client.uia import PASSWORD_FLOWS, user_interactive_auth
from trioserver.api.context import services
from trioserver.api.http import json_body, json_response, require_user
from trioserver.db.devices import StoredDevice
from trioserver.protocol.errors import MatrixError

blueprint = Blueprint("client_devices", __name__)

_PREFIXES = "<any(v3, r0):prefix>"


def device_json(device: StoredDevice) -> dict[str, Any]:
    """A device as the spec's ``Device`` object (absent fields left out)."""
    body: dict[str, Any] = {"device_id": device.device_id}
    if device.display_name is not None:
        body["display_name"] = device.display_name
    if device.last_seen_ip is not None:
        body["last_seen_ip"] = device.last_seen_ip
    if device.last_seen_ts is not None:
        body["last_seen_ts"] = device.last_seen_ts
    return body


@blueprint.get(f"/_matrix/client/{_PREFIXES}/devices")
async def list_devices(prefix: str) -> Response:
    owner = await require_user()
    devices = await services().accounts.devices.list(owner.user_id)
    return json_response({"devices": [device_json(device) for device in devices]})


@blueprint.get(f"/_matrix/client/{_PREFIXES}/devices/<path:deviceId>")
async def get_device(prefix: str, deviceId: str) -> Response:
    owner = await require_user()
    device = await services().accounts.devices.get(owner.user_id, deviceId)
    if device is None:
        raise MatrixError("M_NOT_FOUND", "No such device")
    return json_response(device_json(device))


@blueprint.put(f"/_matrix/client/{_PREFIXES}/devices/<path:deviceId>")
async def update_device(prefix: str, deviceId: str) -> Response:
    """Rename a device. Creating devices is for application services only,
    which this server does not have: an unknown device is 404."""
    owner = await require_user()
    body = await json_body()
    name = optional_str(body, "display_name", max_length=MAX_DEVICE_DISPLAY_NAME_LENGTH)
    devices = services().accounts.devices
    if name is None:
        found = await devices.get(owner.user_id, deviceId) is not None
    else:
        found = await devices.rename(owner.user_id, deviceId, name)
    if not found:
        raise MatrixError("M_NOT_FOUND", "No such device")
    return json_response({})


@blueprint.delete(f"/_matrix/client/{_PREFIXES}/devices/<path:deviceId>")
async def delete_device(prefix: str, deviceId: str) -> Response:
    owner = await require_user(allow_guest=False)
    body = await json_body(allow_empty=True)
    async with user_interactive_auth(body, PASSWORD_FLOWS, user_id=owner.user_id):
        await services().accounts.devices.delete(owner.user_id, [deviceId])
    return json_response({})


@blueprint.post(f"/_matrix/client/{_PREFIXES}/delete_devices")
async def delete_devices(prefix: str) -> Response:
    owner = await require_user(allow_guest=False)
    body = await json_body()
    device_ids = body.get("devices")
    if device_ids is None:
        raise MatrixError("M_MISSING_PARAM", "Missing 'devices'")
    if not isinstance(device_ids, list) or not all(isinstance(d, str) for d in device_ids):
        raise MatrixError("M_INVALID_PARAM", "'devices' must be a list of device IDs")
    async with user_interactive_auth(body, PASSWORD_FLOWS, user_id=owner.user_id):
        await services().accounts.devices.delete(owner.user_id, device_ids)
    return json_response({})
