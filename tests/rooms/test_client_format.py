"""The ClientEvent format of stored PDUs."""

from __future__ import annotations

from typing import Any

import pytest

from trioserver.rooms.client_format import client_event

ROOM = "!r:example.org"


def pdu(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "m.room.message",
        "room_id": ROOM,
        "sender": "@a:example.org",
        "content": {"body": "hi", "msgtype": "m.text"},
        "origin_server_ts": 1000,
        "depth": 5,
        "prev_events": ["$p"],
        "auth_events": ["$a"],
        "hashes": {"sha256": "x"},
        "signatures": {"example.org": {"ed25519:a": "sig"}},
        "unsigned": {"io.trioserver.txn": "m", "age_ts": 1},
    }
    base.update(extra)
    return base


def test_plain_message_drops_federation_keys() -> None:
    event = client_event(pdu(), "$e", "12", age_ms=7, transaction_id="t1")
    assert event == {
        "type": "m.room.message",
        "room_id": ROOM,
        "sender": "@a:example.org",
        "content": {"body": "hi", "msgtype": "m.text"},
        "origin_server_ts": 1000,
        "event_id": "$e",
        "unsigned": {"age": 7, "transaction_id": "t1"},
    }


def test_without_room_id_and_no_unsigned() -> None:
    event = client_event(pdu(), "$e", "12", room_id_included=False)
    assert "room_id" not in event and "unsigned" not in event


def test_state_event_has_state_key_and_extra_unsigned() -> None:
    event = client_event(
        pdu(type="m.room.name", state_key="", content={"name": "n"}),
        "$e",
        "10",
        unsigned_extra={"prev_content": {"name": "old"}, "replaces_state": "$old"},
    )
    assert event["state_key"] == ""
    assert event["unsigned"] == {"prev_content": {"name": "old"}, "replaces_state": "$old"}


@pytest.mark.parametrize("version", ["1", "10", "11", "12"])
def test_redacted_event_content_and_because(version: str) -> None:
    because = {"type": "m.room.redaction", "event_id": "$r"}
    member = pdu(
        type="m.room.member",
        state_key="@a:example.org",
        content={"membership": "join", "displayname": "A"},
    )
    event = client_event(member, "$e", version, redacted_because=because)
    assert event["content"] == {"membership": "join"}
    assert event["unsigned"]["redacted_because"] == because


@pytest.mark.parametrize(
    ("version", "shape"),
    [("10", {"redacts": "$t"}), ("11", {"content": {"redacts": "$t"}})],
)
def test_redaction_exposes_redacts_both_ways(version: str, shape: dict[str, Any]) -> None:
    base = pdu(type="m.room.redaction", content={"reason": "spam"})
    base.update({k: v for k, v in shape.items() if k != "content"})
    if "content" in shape:
        base["content"] = {**base["content"], **shape["content"]}
    event = client_event(base, "$r", version)
    assert event["redacts"] == "$t"
    assert event["content"] == {"reason": "spam", "redacts": "$t"}


def test_input_not_modified() -> None:
    original = pdu(type="m.room.redaction", redacts="$t", content={})
    client_event(original, "$r", "5", redacted_because={"event_id": "$x"})
    assert original["content"] == {} and original["redacts"] == "$t"
