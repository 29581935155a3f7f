"""trioserver.protocol.hashes: content hashes, reference hashes, event and room
IDs, event signatures (vectors in tests/data/spec/signing.json) and the PDU
format checks."""

from __future__ import annotations

import base64
import copy
import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.protocol.json_strategies import ALL_VERSIONS, events, load_vectors
from trioserver.protocol.base64 import encode_base64
from trioserver.protocol.errors import MatrixError
from trioserver.protocol.hashes import (
    MAX_PDU_BYTES,
    InvalidPdu,
    check_content_hash,
    check_pdu_format,
    compute_content_hash,
    compute_event_id,
    compute_reference_hash,
    compute_room_id,
    make_v1_event_id,
    sign_event,
    verify_event_signature,
)
from trioserver.protocol.identifiers import is_valid_event_id, is_valid_room_id
from trioserver.protocol.json import canonical_json
from trioserver.protocol.redaction import redact
from trioserver.protocol.room_versions import ROOM_VERSIONS, EventFormat
from trioserver.protocol.signing import SignatureError, decode_signing_key_base64

VECTORS = load_vectors("spec/signing.json")
SERVER = VECTORS["signing_key"]["server_name"]
KEY_ID = VECTORS["signing_key"]["key_id"]
KEY = decode_signing_key_base64(VECTORS["signing_key"]["seed_b64"])
EVENT_CASES = VECTORS["event_signing"]
VERIFY_CASES = VECTORS["event_signature_verification"]["cases"]
HASHED_VERSIONS = [v for v in ALL_VERSIONS if ROOM_VERSIONS[v].event_ids_are_hashes]


# --- spec, Synapse and gomatrixserverlib vectors --------------------------------


@pytest.mark.parametrize("case", EVENT_CASES, ids=[c["name"] for c in EVENT_CASES])
def test_event_signing_vectors(case: dict[str, Any]) -> None:
    original = copy.deepcopy(case["input"])
    assert compute_content_hash(case["input"]) == case["expected_hashes_sha256"]
    signed = sign_event(case["input"], SERVER, KEY_ID, KEY, case["room_version"])
    assert case["input"] == original, "sign_event must not modify its input"
    assert signed["hashes"] == {"sha256": case["expected_hashes_sha256"]}
    assert signed["signatures"] == {SERVER: {KEY_ID: case["expected_signature"]}}
    if "expected_signed_event" in case:
        assert signed == case["expected_signed_event"]
    assert check_content_hash(signed)
    verify_event_signature(signed, SERVER, KEY_ID, KEY.verify_key, case["room_version"])
    verify_event_signature(redact(signed, "1"), SERVER, KEY_ID, KEY.verify_key, "1")


def test_derived_reference_hashes_and_event_ids() -> None:
    case = EVENT_CASES[0]
    signed = case["expected_signed_event"]
    derived = case["derived_reference_hash"]
    old, new = derived["room_versions_3_to_10"], derived["room_versions_11_12"]
    for version in ("3", "4", "5", "6", "7", "8", "9", "10"):
        assert encode_base64(compute_reference_hash(signed, version)) == old["sha256_b64"]
        expected = old["event_id_v3"] if version == "3" else old["event_id_v4_to_v10"]
        assert compute_event_id(signed, version) == expected
    for version in ("11", "12"):
        assert encode_base64(compute_reference_hash(signed, version)) == new["sha256_b64"]
        assert compute_event_id(signed, version) == new["event_id"]
    # The v11 hash has '+' and '/': URL-safe in the event ID, standard in base64.
    assert "/" in new["sha256_b64"] and "+" in new["sha256_b64"]


@pytest.mark.parametrize("case", VERIFY_CASES, ids=[c["name"] for c in VERIFY_CASES])
def test_event_signature_verification_vectors(case: dict[str, Any]) -> None:
    if case["valid"]:
        verify_event_signature(case["event"], SERVER, KEY_ID, KEY.verify_key, "1")
    else:
        with pytest.raises(SignatureError, match="bad signature"):
            verify_event_signature(case["event"], SERVER, KEY_ID, KEY.verify_key, "1")


def test_content_hash_of_verification_vectors() -> None:
    by_name = {c["name"]: c["event"] for c in VERIFY_CASES}
    assert check_content_hash(by_name["ok_minimal"])
    assert check_content_hash(by_name["ok_message"])
    # Redacted copies keep a valid signature but fail the content hash.
    assert not check_content_hash(by_name["ok_message_content_redacted"])
    assert not check_content_hash(by_name["fail_content_hash_modified"])


@pytest.mark.parametrize(
    "hashes", [None, {}, {"sha256": 5}, {"sha256": "!!"}, {"sha256": "AAAA"}, "text"]
)
def test_check_content_hash_false_for_bad_hashes(hashes: Any) -> None:
    event: dict[str, Any] = {"type": "x", "content": {}}
    if hashes is not None:
        event["hashes"] = hashes
    assert not check_content_hash(event)


# --- event IDs and room IDs -------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_v1_v2_event_ids_are_not_derived(version: str) -> None:
    with pytest.raises(ValueError, match="assigned, not derived"):
        compute_event_id({"type": "x", "content": {}}, version)


def test_make_v1_event_id() -> None:
    assert make_v1_event_id("example.org", "abc123") == "$abc123:example.org"
    assert is_valid_event_id(make_v1_event_id("example.org:8448", "a"), "1")
    for bad in ("", "a:b", "a\x00"):
        with pytest.raises(ValueError):
            make_v1_event_id("example.org", bad)
    with pytest.raises(ValueError, match="255 bytes"):
        make_v1_event_id("example.org", "a" * 243)
    assert len(make_v1_event_id("example.org", "a" * 242)) == 255


def test_v3_uses_the_standard_alphabet_and_v4_the_urlsafe_one() -> None:
    event: dict[str, Any] = {"type": "x", "content": {}, "sender": "@a:b", "depth": 0}
    while True:
        digest = encode_base64(compute_reference_hash(event, "3"))
        if "+" in digest or "/" in digest:
            break
        event["depth"] += 1
    assert compute_event_id(event, "3") == "$" + digest
    assert compute_event_id(event, "4") == "$" + digest.replace("+", "-").replace("/", "_")
    assert is_valid_event_id(compute_event_id(event, "3"), "3")
    assert not is_valid_event_id(compute_event_id(event, "3"), "4")
    assert is_valid_event_id(compute_event_id(event, "4"), "4")


def test_event_id_ignores_a_stray_event_id_field_in_hashed_versions() -> None:
    event = sign_event(EVENT_CASES[0]["input"], SERVER, KEY_ID, KEY, "10")
    event_id = compute_event_id(event, "10")
    with_id = dict(event, event_id=event_id)
    assert compute_event_id(with_id, "10") == event_id
    assert check_content_hash(with_id, "10")
    verify_event_signature(with_id, SERVER, KEY_ID, KEY.verify_key, "10")
    assert "event_id" not in sign_event(with_id, SERVER, KEY_ID, KEY, "10")
    # In v1 the event ID is part of the event.
    v1 = sign_event(dict(EVENT_CASES[0]["input"], event_id="$a:domain"), SERVER, KEY_ID, KEY, "1")
    with pytest.raises(SignatureError):
        verify_event_signature(dict(v1, event_id="$b:domain"), SERVER, KEY_ID, KEY.verify_key, "1")


V12_CREATE = {
    "type": "m.room.create",
    "state_key": "",
    "sender": "@alice:example.org",
    "content": {"room_version": "12", "additional_creators": ["@bob:example.org"]},
    "origin_server_ts": 1700000000000,
    "depth": 1,
    "prev_events": [],
    "auth_events": [],
    "origin": "example.org",
    "unsigned": {"age": 5},
}


def test_v12_room_id_from_the_create_event() -> None:
    signed = sign_event(V12_CREATE, "example.org", KEY_ID, KEY, "12")
    room_id = compute_room_id(signed)
    assert room_id == "!" + compute_event_id(signed, "12")[1:]
    assert room_id == compute_room_id(signed, ROOM_VERSIONS["12"])
    assert is_valid_room_id(room_id, "12")
    check_pdu_format(signed, "12")
    # Independently: the redacted v12 create event, written out by hand.
    content_hash = signed["hashes"]["sha256"]
    expected_bytes = (
        '{"auth_events":[],"content":{"additional_creators":["@bob:example.org"],'
        '"room_version":"12"},"depth":1,"hashes":{"sha256":"' + content_hash + '"},'
        '"origin_server_ts":1700000000000,"prev_events":[],"sender":"@alice:example.org",'
        '"state_key":"","type":"m.room.create"}'
    ).encode()
    digest = hashlib.sha256(expected_bytes).digest()
    assert room_id == "!" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_room_id_only_for_hashed_room_id_versions() -> None:
    for version in ALL_VERSIONS:
        if not ROOM_VERSIONS[version].room_id_from_create_event:
            with pytest.raises(ValueError, match="not derived"):
                compute_room_id(V12_CREATE, version)
    with pytest.raises(ValueError, match=r"not an m\.room\.create"):
        compute_room_id(dict(V12_CREATE, type="m.room.member"))


# --- sign_event -----------------------------------------------------------------


def test_sign_event_keeps_other_hashes_and_signatures() -> None:
    event = dict(
        EVENT_CASES[1]["input"],
        hashes={"sha512": "other", "sha256": "stale"},
        signatures={"other.example": {"ed25519:z": "theirs"}},
    )
    signed = sign_event(event, SERVER, KEY_ID, KEY, "1")
    assert signed["hashes"] == {"sha512": "other", "sha256": compute_content_hash(event)}
    assert signed["signatures"]["other.example"] == {"ed25519:z": "theirs"}
    verify_event_signature(signed, SERVER, KEY_ID, KEY.verify_key, "1")
    assert event["hashes"]["sha256"] == "stale"


def test_a_second_server_can_sign() -> None:
    first = sign_event(V12_CREATE, "example.org", KEY_ID, KEY, "12")
    other_key = decode_signing_key_base64(encode_base64(bytes(32)))
    second = sign_event(first, "notary.example", "ed25519:n", other_key, "12")
    assert second["hashes"] == first["hashes"]
    verify_event_signature(second, "example.org", KEY_ID, KEY.verify_key, "12")
    verify_event_signature(second, "notary.example", "ed25519:n", other_key.verify_key, "12")


def test_unsigned_and_age_ts_do_not_change_hashes() -> None:
    base = sign_event(EVENT_CASES[0]["input"], SERVER, KEY_ID, KEY, "10")
    changed = dict(base, unsigned={"age": 1, "x": [1]}, age_ts=77)
    assert compute_event_id(changed, "10") == compute_event_id(base, "10")
    verify_event_signature(changed, SERVER, KEY_ID, KEY.verify_key, "10")
    assert not check_content_hash(changed)  # age_ts is not redacted away from the content hash


# --- properties -------------------------------------------------------------------


def _strip(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in ("unsigned", "signatures", "hashes")}


@given(events)
def test_signed_events_verify_in_full_and_redacted(event: dict[str, Any]) -> None:
    for version in ALL_VERSIONS:
        signed = sign_event(event, SERVER, KEY_ID, KEY, version)
        assert check_content_hash(signed)
        verify_event_signature(signed, SERVER, KEY_ID, KEY.verify_key, version)
        redacted = redact(signed, version)
        verify_event_signature(redacted, SERVER, KEY_ID, KEY.verify_key, version)
        assert check_content_hash(redacted) is (_strip(redacted) == _strip(signed))
        assert compute_reference_hash(redacted, version) == compute_reference_hash(signed, version)
        if ROOM_VERSIONS[version].event_ids_are_hashes:
            assert compute_event_id(redacted, version) == compute_event_id(signed, version)


@given(events, st.sampled_from(HASHED_VERSIONS))
def test_event_ids_have_the_version_grammar(event: dict[str, Any], version: str) -> None:
    event_id = compute_event_id(event, version)
    assert is_valid_event_id(event_id, version)
    assert len(event_id) == 44


@given(events, st.sampled_from(ALL_VERSIONS), st.text(min_size=1, max_size=5))
def test_changing_the_content_breaks_the_hash_and_only_covered_keys_break_the_signature(
    event: dict[str, Any], version: str, text: str
) -> None:
    signed = sign_event(event, SERVER, KEY_ID, KEY, version)
    for key in ("body_extra", "membership"):
        changed = dict(signed, content=dict(signed["content"], **{key: text}))
        if changed == signed:
            continue
        assert not check_content_hash(changed)
        if redact(changed, version) == redact(signed, version):
            verify_event_signature(changed, SERVER, KEY_ID, KEY.verify_key, version)
        else:  # e.g. any key of a v11+ create event, membership of a member event
            with pytest.raises(SignatureError, match="bad signature"):
                verify_event_signature(changed, SERVER, KEY_ID, KEY.verify_key, version)


# --- PDU format ---------------------------------------------------------------------


def valid_pdu(version: str) -> dict[str, Any]:
    rv = ROOM_VERSIONS[version]
    ref: Any = "$" + "A" * 43
    if rv.event_format is EventFormat.V1:
        ref = ["$ref:example.org", {"sha256": "abc"}]
    room_id = "!" + "R" * 43 if rv.room_id_from_create_event else "!room:example.org"
    event: dict[str, Any] = {
        "type": "m.room.message",
        "sender": "@alice:example.org",
        "room_id": room_id,
        "content": {"body": "hello"},
        "origin_server_ts": 1700000000000,
        "depth": 5,
        "prev_events": [ref],
        "auth_events": [ref, ref],
        "unsigned": {"age": 5},
    }
    if rv.event_format is EventFormat.V1:
        event["event_id"] = "$event:example.org"
    return sign_event(event, "example.org", KEY_ID, KEY, version)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_valid_pdus(version: str) -> None:
    check_pdu_format(valid_pdu(version), version)
    check_pdu_format(valid_pdu(version), ROOM_VERSIONS[version])
    state = dict(valid_pdu(version), state_key="s" * 255, type="t" * 255)
    check_pdu_format(state, version)


def _check_fails(event: Any, version: str, errcode: str, message: str) -> None:
    with pytest.raises(InvalidPdu, match=message) as info:
        check_pdu_format(event, version)
    assert info.value.errcode == errcode
    assert isinstance(info.value, MatrixError)
    assert isinstance(info.value, ValueError)
    assert info.value.status == (413 if errcode == "M_TOO_LARGE" else 400)


def _without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != key}


REQUIRED = [
    "sender",
    "type",
    "room_id",
    "content",
    "origin_server_ts",
    "depth",
    "hashes",
    "signatures",
    "prev_events",
    "auth_events",
]


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("key", REQUIRED)
def test_missing_required_keys(version: str, key: str) -> None:
    _check_fails(_without(valid_pdu(version), key), version, "M_BAD_JSON", key)


@pytest.mark.parametrize("version", ["1", "2"])
def test_v1_needs_an_event_id(version: str) -> None:
    _check_fails(_without(valid_pdu(version), "event_id"), version, "M_BAD_JSON", "event_id")


def test_v12_create_event_needs_no_room_id() -> None:
    create = sign_event(V12_CREATE, "example.org", KEY_ID, KEY, "12")
    check_pdu_format(create, "12")
    _check_fails(dict(create, type="m.room.member"), "12", "M_BAD_JSON", "room_id")
    v11 = sign_event(V12_CREATE, "example.org", KEY_ID, KEY, "11")
    _check_fails(v11, "11", "M_BAD_JSON", "room_id is missing")


WRONG_TYPES = [
    ("sender", 5, "sender is missing or not a string"),
    ("sender", "alice", "sender is not a user ID"),
    ("sender", "@alice", "sender is not a user ID"),
    ("type", None, "type is missing or not a string"),
    ("room_id", ["!r:x"], "room_id is missing or not a string"),
    ("state_key", None, "state_key is not a string"),
    ("state_key", 1, "state_key is not a string"),
    ("redacts", 1, "redacts is not a string"),
    ("content", "body", "content is missing or not an object"),
    ("origin_server_ts", "1", "origin_server_ts is missing or not an integer"),
    ("origin_server_ts", True, "origin_server_ts is missing or not an integer"),
    ("depth", "5", "depth is missing or not an integer"),
    ("depth", False, "depth is missing or not an integer"),
    ("depth", -1, "depth -1 is out of range"),
    ("hashes", {"sha512": "x"}, "hashes.sha256 is missing or not a string"),
    ("hashes", {"sha256": 1}, "hashes.sha256 is missing or not a string"),
    ("signatures", [], "signatures is missing or malformed"),
    ("signatures", {"example.org": "sig"}, "signatures is missing or malformed"),
    ("signatures", {"example.org": {"ed25519:1": 1}}, "signatures is missing or malformed"),
    ("unsigned", [], "unsigned is not an object"),
    ("prev_events", {}, "prev_events is not a list"),
    ("auth_events", "$a", "auth_events is not a list"),
    ("prev_events", [5], "prev_events"),
    ("auth_events", ["no-sigil"], "auth_events (holds something that is not|entries must be)"),
]


@pytest.mark.parametrize("version", ["1", "5", "10", "12"])
@pytest.mark.parametrize(("key", "value", "message"), WRONG_TYPES)
def test_wrong_types(version: str, key: str, value: Any, message: str) -> None:
    _check_fails(dict(valid_pdu(version), **{key: value}), version, "M_BAD_JSON", message)


def test_not_an_object() -> None:
    _check_fails(["not", "an", "event"], "10", "M_BAD_JSON", "event is not an object")


@pytest.mark.parametrize(
    ("version", "ok", "bad"),
    [
        ("1", [["$a:x", {"sha256": "h"}]], ["$a:x"]),
        ("1", [["$a:x", {}]], [["$a:x"]]),
        ("2", [["$a:x", {"sha256": "h"}]], [["$a:x", {"sha256": 1}]]),
        ("2", [], [["$a:x", "h"]]),
        ("3", ["$abc"], [["$abc", {"sha256": "h"}]]),
        ("10", ["$abc"], [["$abc", {"sha256": "h"}]]),
    ],
)
def test_reference_formats(version: str, ok: list[Any], bad: list[Any]) -> None:
    for key in ("prev_events", "auth_events"):
        check_pdu_format(dict(valid_pdu(version), **{key: ok}), version)
        _check_fails(dict(valid_pdu(version), **{key: bad}), version, "M_BAD_JSON", key)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_prev_and_auth_event_counts(version: str) -> None:
    pdu = valid_pdu(version)
    ref = pdu["prev_events"][0]
    check_pdu_format(dict(pdu, prev_events=[ref] * 20, auth_events=[ref] * 10), version)
    _check_fails(
        dict(pdu, prev_events=[ref] * 21),
        version,
        "M_BAD_JSON",
        "prev_events has 21 entries, more than 20",
    )
    _check_fails(
        dict(pdu, auth_events=[ref] * 11),
        version,
        "M_BAD_JSON",
        "auth_events has 11 entries, more than 10",
    )


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_depth_limits(version: str) -> None:
    strict = ROOM_VERSIONS[version].strict_canonical_json
    assert strict is (int(version) >= 6)
    pdu = valid_pdu(version)
    check_pdu_format(dict(pdu, depth=0), version)
    check_pdu_format(dict(pdu, depth=2**53 - 1), version)
    if strict:
        _check_fails(dict(pdu, depth=2**53), version, "M_BAD_JSON", "depth 9007199254740992")
    else:
        check_pdu_format(dict(pdu, depth=2**53), version)
        check_pdu_format(dict(pdu, depth=2**63 - 1), version)
        _check_fails(dict(pdu, depth=2**63), version, "M_BAD_JSON", "out of range")


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_non_canonical_values_in_strict_versions(version: str) -> None:
    pdu = valid_pdu(version)
    for content in ({"n": 1.5}, {"n": [2**53]}, {"n": {"m": -(2**53)}}):
        event = dict(pdu, content=content)
        if ROOM_VERSIONS[version].strict_canonical_json:
            _check_fails(event, version, "M_BAD_JSON", "is not allowed|is out of range")
        else:
            check_pdu_format(event, version)


@pytest.mark.parametrize("version", ["1", "3", "11", "12"])
@pytest.mark.parametrize("key", ["sender", "room_id", "state_key", "type", "event_id", "redacts"])
def test_255_byte_limits(version: str, key: str) -> None:
    pdu = valid_pdu(version)
    if key == "room_id" and ROOM_VERSIONS[version].room_id_from_create_event:
        fits = "!" + "r" * 254  # not a valid v12 room ID, but only size is checked here
    else:
        suffix = ":example.org"
        sigil = {"sender": "@", "room_id": "!", "event_id": "$", "redacts": "$"}.get(key, "")
        room = 255 - len(sigil) - len(suffix)
        fits = sigil + "é" * (room // 2) + "a" * (room % 2) + suffix
    assert len(fits.encode()) == 255
    check_pdu_format(dict(pdu, **{key: fits}), version)
    too_long = fits[0] + "a" + fits[1:]
    _check_fails(
        dict(pdu, **{key: too_long}), version, "M_TOO_LARGE", f"{key} is longer than 255 bytes"
    )


def test_255_byte_limit_on_cited_event_ids() -> None:
    pdu = valid_pdu("10")
    check_pdu_format(dict(pdu, prev_events=["$" + "a" * 254]), "10")
    _check_fails(
        dict(pdu, prev_events=["$" + "a" * 255]),
        "10",
        "M_TOO_LARGE",
        "an event ID in prev_events is longer than 255 bytes",
    )


@pytest.mark.parametrize("version", ["1", "3", "12"])
def test_total_size_limit(version: str) -> None:
    pdu = valid_pdu(version)
    pdu["content"] = {"body": ""}
    room = MAX_PDU_BYTES - len(canonical_json(pdu))
    pdu["content"] = {"body": "x" * room}
    assert len(canonical_json(pdu)) == MAX_PDU_BYTES
    check_pdu_format(pdu, version)
    pdu["content"] = {"body": "x" * (room + 1)}
    _check_fails(pdu, version, "M_TOO_LARGE", f"event is {MAX_PDU_BYTES + 1} bytes")
    # Multi-byte characters count as their UTF-8 bytes.
    pdu["content"] = {"body": "é" * (room // 2 + 1)}
    _check_fails(pdu, version, "M_TOO_LARGE", "more than 65536")


def test_size_limit_ignores_a_stray_event_id_in_hashed_versions() -> None:
    pdu = valid_pdu("10")
    pdu["content"] = {"body": ""}
    room = MAX_PDU_BYTES - len(canonical_json(pdu))
    pdu["content"] = {"body": "x" * room}
    pdu["event_id"] = compute_event_id(pdu, "10")
    check_pdu_format(pdu, "10")
