"""Reading typed parameters out of request bodies, with the spec's 400s:
``M_MISSING_PARAM`` for a required key that is absent, ``M_INVALID_PARAM``
for a value of the wrong type or size."""

from __future__ import annotations

from typing import Any

from trioserver.protocol.errors import MatrixError

#: Device IDs and display names we accept from clients.
MAX_DEVICE_ID_LENGTH = 255
MAX_DEVICE_DISPLAY_NAME_LENGTH = 100


def optional_str(body: dict[str, Any], key: str, *, max_length: int | None = None) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MatrixError("M_INVALID_PARAM", f"'{key}' must be a string")
    if max_length is not None and len(value) > max_length:
        raise MatrixError("M_INVALID_PARAM", f"'{key}' is longer than {max_length} characters")
    return value


def required_str(body: dict[str, Any], key: str, *, max_length: int | None = None) -> str:
    value = optional_str(body, key, max_length=max_length)
    if value is None:
        raise MatrixError("M_MISSING_PARAM", f"Missing '{key}'")
    return value


def optional_bool(body: dict[str, Any], key: str, default: bool = False) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise MatrixError("M_INVALID_PARAM", f"'{key}' must be true or false")
    return value


def device_id_param(body: dict[str, Any]) -> str | None:
    device_id = optional_str(body, "device_id", max_length=MAX_DEVICE_ID_LENGTH)
    if device_id == "":
        raise MatrixError("M_INVALID_PARAM", "'device_id' must not be empty")
    return device_id


def device_display_name_param(body: dict[str, Any], key: str) -> str | None:
    return optional_str(body, key, max_length=MAX_DEVICE_DISPLAY_NAME_LENGTH)
