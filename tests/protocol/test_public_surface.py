"""The names other parts of the project (and outside checks) call in through."""

from __future__ import annotations

import inspect

import trioserver.protocol as protocol


def test_the_documented_public_surface_is_exported() -> None:
    for name in [
        "canonical_json",
        "parse_json",
        "BadJson",
        "sign_json",
        "verify_signed_json",
        "SignatureError",
        "compute_content_hash",
        "compute_event_id",
        "compute_room_id",
        "sign_event",
        "redact",
        "check_auth",
        "AuthError",
        "auth_event_types",
        "resolve_state",
        "RoomVersion",
        "ROOM_VERSIONS",
    ]:
        assert hasattr(protocol, name), name
    assert issubclass(protocol.BadJson, ValueError)
    assert list(inspect.signature(protocol.resolve_state).parameters) == [
        "room_version",
        "state_sets",
        "event_map",
    ]
    assert list(inspect.signature(protocol.check_auth).parameters)[:3] == [
        "event",
        "auth_events",
        "room_version",
    ]
    assert sorted(protocol.ROOM_VERSIONS, key=int) == [str(n) for n in range(1, 13)]


def test_protocol_imports_no_io_modules() -> None:
    import subprocess
    import sys

    code = (
        "import sys, trioserver.protocol; "
        "bad = {'trio', 'sqlite3', 'quart', 'hypercorn'} & set(sys.modules); "
        "print(sorted(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
