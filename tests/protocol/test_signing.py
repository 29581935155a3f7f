"""trioserver.protocol.signing: keys, signed JSON, key validity (spec vectors in
tests/data/spec/signing.json)."""

from __future__ import annotations

import copy
from typing import Any

import nacl.exceptions
import nacl.signing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.protocol.json_strategies import ALL_VERSIONS, json_objects, json_values, load_vectors
from trioserver.protocol.base64 import decode_base64, encode_base64
from trioserver.protocol.json import BadJson, canonical_json, parse_json
from trioserver.protocol.room_versions import ROOM_VERSIONS
from trioserver.protocol.signing import (
    MAX_KEY_VALIDITY_MS,
    SignatureError,
    cap_valid_until_ts,
    decode_signing_key_base64,
    decode_verify_key_base64,
    encode_signing_key_base64,
    generate_signing_key,
    is_valid_key_id,
    key_valid_for_event,
    parse_key_id,
    sign_json,
    signature_key_ids,
    signing_key_from_seed,
    verify_key_base64,
    verify_signed_json,
)

VECTORS = load_vectors("spec/signing.json")
KEY_INFO = VECTORS["signing_key"]
SERVER = KEY_INFO["server_name"]
KEY_ID = KEY_INFO["key_id"]
KEY = decode_signing_key_base64(KEY_INFO["seed_b64"])
OTHER_KEY = signing_key_from_seed(bytes(range(32)))


def test_signing_key_from_the_spec_seed() -> None:
    seed = decode_base64(KEY_INFO["seed_b64"])
    assert len(seed) == 32
    key = signing_key_from_seed(seed)
    assert bytes(key) == seed
    assert verify_key_base64(key) == KEY_INFO["derived_public_key_b64"]
    assert verify_key_base64(key.verify_key) == KEY_INFO["derived_public_key_b64"]
    # The spec's seed text ends in "XA1": its last two bits (past the 256 bits
    # of the seed) are not zero, so it is not the canonical encoding, and the
    # decoder must ignore those bits. Re-encoding gives "...XA0".
    assert encode_signing_key_base64(key) == KEY_INFO["seed_b64"][:-1] + "0"
    assert decode_base64(encode_signing_key_base64(key)) == seed


def test_key_encoding_roundtrips() -> None:
    key = generate_signing_key()
    assert bytes(decode_signing_key_base64(encode_signing_key_base64(key))) == bytes(key)
    public = decode_verify_key_base64(verify_key_base64(key))
    assert public == key.verify_key
    assert generate_signing_key() != key


@pytest.mark.parametrize("seed", [b"", b"\x00" * 31, b"\x00" * 33, "x" * 32])
def test_bad_seeds(seed: Any) -> None:
    with pytest.raises(ValueError):
        signing_key_from_seed(seed)


@pytest.mark.parametrize("text", ["", "AAAA", "not base64!", encode_base64(b"\x00" * 33)])
def test_bad_encoded_keys(text: str) -> None:
    with pytest.raises(ValueError):
        decode_signing_key_base64(text)
    with pytest.raises(ValueError):
        decode_verify_key_base64(text)


@pytest.mark.parametrize(
    ("key_id", "parsed", "valid"),
    [
        ("ed25519:1", ("ed25519", "1"), True),
        ("ed25519:abc123", ("ed25519", "abc123"), True),
        ("ed25519:a_B_9", ("ed25519", "a_B_9"), True),
        ("curve25519:x", ("curve25519", "x"), False),
        ("ed25519:", None, False),
        ("ed25519", None, False),
        (":abc", None, False),
        ("ed25519:a-b", None, False),
        ("ed25519:a.b", None, False),
        ("ed25519:a:b", None, False),
        ("ed25519:é", None, False),
        ("ed25519:a b", None, False),
    ],
)
def test_key_ids(key_id: str, parsed: tuple[str, str] | None, valid: bool) -> None:
    assert is_valid_key_id(key_id) is valid
    if parsed is None:
        with pytest.raises(ValueError):
            parse_key_id(key_id)
    else:
        assert parse_key_id(key_id) == parsed


# --- signed JSON -----------------------------------------------------------------


@pytest.mark.parametrize("case", VECTORS["json_signing"], ids=["empty", "one_two"])
def test_json_signing_spec_vectors(case: dict[str, Any]) -> None:
    original = copy.deepcopy(case["input"])
    signed = sign_json(case["input"], SERVER, KEY_ID, KEY)
    assert signed == case["expected"]
    assert case["input"] == original
    verify_signed_json(case["expected"], SERVER, KEY_ID, KEY.verify_key)


def test_sign_json_keeps_unsigned_and_other_signatures() -> None:
    obj = {
        "a": 1,
        "unsigned": {"age_ts": 5},
        "signatures": {"other.example": {"ed25519:x": "sig"}, SERVER: {"ed25519:0": "old"}},
    }
    original = copy.deepcopy(obj)
    signed = sign_json(obj, SERVER, KEY_ID, KEY)
    assert obj == original
    assert signed["unsigned"] == {"age_ts": 5}
    assert signed["signatures"]["other.example"] == {"ed25519:x": "sig"}
    assert set(signed["signatures"][SERVER]) == {"ed25519:0", KEY_ID}
    # The signature covers neither unsigned nor signatures.
    bare = sign_json({"a": 1}, SERVER, KEY_ID, KEY)
    assert signed["signatures"][SERVER][KEY_ID] == bare["signatures"][SERVER][KEY_ID]
    verify_signed_json(signed, SERVER, KEY_ID, KEY.verify_key)


def test_several_servers_and_keys() -> None:
    obj: dict[str, Any] = {"content": "x"}
    obj = sign_json(obj, "a.example", "ed25519:1", KEY)
    obj = sign_json(obj, "a.example", "ed25519:2", OTHER_KEY)
    obj = sign_json(obj, "b.example", "ed25519:1", OTHER_KEY)
    assert signature_key_ids(obj, "a.example") == ["ed25519:1", "ed25519:2"]
    assert signature_key_ids(obj, "b.example") == ["ed25519:1"]
    assert signature_key_ids(obj, "c.example") == []
    verify_signed_json(obj, "a.example", "ed25519:1", KEY.verify_key)
    verify_signed_json(obj, "a.example", "ed25519:2", OTHER_KEY.verify_key)
    verify_signed_json(obj, "b.example", "ed25519:1", OTHER_KEY.verify_key)
    with pytest.raises(SignatureError, match="bad signature"):
        verify_signed_json(obj, "b.example", "ed25519:1", KEY.verify_key)
    # Re-signing with the same key ID replaces the signature.
    again = sign_json(obj, "a.example", "ed25519:1", OTHER_KEY)
    verify_signed_json(again, "a.example", "ed25519:1", OTHER_KEY.verify_key)
    verify_signed_json(again, "a.example", "ed25519:2", OTHER_KEY.verify_key)


def test_signature_key_ids_ignores_unknown_algorithms() -> None:
    obj = {"signatures": {"s": {"ed25519:a": "x", "other:b": "y", "ed25519:bad-id": "z"}}}
    assert signature_key_ids(obj, "s") == ["ed25519:a"]
    assert signature_key_ids({"signatures": "nope"}, "s") == []
    assert signature_key_ids({"signatures": {"s": []}}, "s") == []


@pytest.mark.parametrize("key_id", ["ed25519", "ed25519:a-b", "rsa:1"])
def test_sign_json_wants_an_ed25519_key_id(key_id: str) -> None:
    with pytest.raises(ValueError, match="not an ed25519 key ID"):
        sign_json({}, SERVER, key_id, KEY)


SIGNED_ONE_TWO = VECTORS["json_signing"][1]["expected"]
GOOD_SIG = SIGNED_ONE_TWO["signatures"][SERVER][KEY_ID]


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"one": 1}, "object has no signatures"),
        ({"signatures": []}, "object has no signatures"),
        ({"signatures": {}}, "no signature from 'domain'"),
        ({"signatures": {"domain": "x"}}, "no signature from 'domain'"),
        ({"signatures": {"domain": {}}}, "no signature from 'domain' with key 'ed25519:1'"),
        ({"signatures": {"domain": {"ed25519:2": GOOD_SIG}}}, "with key 'ed25519:1'$"),
        ({"signatures": {"domain": {"ed25519:1": 5}}}, "is not a string"),
        ({"signatures": {"domain": {"ed25519:1": "!!!"}}}, "is not valid base64"),
        ({"signatures": {"domain": {"ed25519:1": GOOD_SIG[:-1]}}}, "is not valid base64"),
        ({"signatures": {"domain": {"ed25519:1": GOOD_SIG[:-4]}}}, "is malformed"),
        ({"signatures": {"domain": {"ed25519:1": GOOD_SIG + "AAAA"}}}, "is malformed"),
        (dict(SIGNED_ONE_TWO, one=2), "bad signature"),
        (dict(SIGNED_ONE_TWO, three=3), "bad signature"),
        ({k: v for k, v in SIGNED_ONE_TWO.items() if k != "two"}, "bad signature"),
    ],
)
def test_verify_failures(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(SignatureError, match=message) as info:
        verify_signed_json(obj, SERVER, KEY_ID, KEY.verify_key)
    assert isinstance(info.value, ValueError)


def test_verify_with_the_wrong_key_fails() -> None:
    with pytest.raises(SignatureError, match="bad signature"):
        verify_signed_json(SIGNED_ONE_TWO, SERVER, KEY_ID, OTHER_KEY.verify_key)


def test_verify_accepts_padded_and_urlsafe_signatures() -> None:
    raw = decode_base64(GOOD_SIG)
    for text in (encode_base64(raw) + "==", encode_base64(raw, urlsafe=True)):
        obj = dict(SIGNED_ONE_TWO, signatures={SERVER: {KEY_ID: text}})
        verify_signed_json(obj, SERVER, KEY_ID, KEY.verify_key)


def test_unsigned_is_not_covered() -> None:
    obj = dict(SIGNED_ONE_TWO, unsigned={"age": 1234})
    verify_signed_json(obj, SERVER, KEY_ID, KEY.verify_key)


# --- properties --------------------------------------------------------------------


@given(json_objects, st.data())
def test_sign_then_verify_and_every_flipped_byte_fails(obj: dict[str, Any], data: Any) -> None:
    signed = sign_json(obj, SERVER, KEY_ID, KEY)
    verify_signed_json(signed, SERVER, KEY_ID, KEY.verify_key)
    signature = decode_base64(signed["signatures"][SERVER][KEY_ID])

    message = canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})
    index = data.draw(st.integers(0, len(message) - 1), label="index")
    mask = data.draw(st.integers(1, 255), label="mask")
    flipped = bytearray(message)
    flipped[index] ^= mask
    with pytest.raises(nacl.exceptions.BadSignatureError):
        KEY.verify_key.verify(bytes(flipped), signature)
    try:
        tampered = parse_json(bytes(flipped))
    except BadJson:
        tampered = None
    if isinstance(tampered, dict) and canonical_json(tampered) != message:
        tampered["signatures"] = signed["signatures"]
        with pytest.raises(SignatureError):
            verify_signed_json(tampered, SERVER, KEY_ID, KEY.verify_key)

    sig_index = data.draw(st.integers(0, 63), label="sig_index")
    bad_signature = bytearray(signature)
    bad_signature[sig_index] ^= mask
    forged = dict(signed, signatures={SERVER: {KEY_ID: encode_base64(bytes(bad_signature))}})
    with pytest.raises(SignatureError, match="bad signature"):
        verify_signed_json(forged, SERVER, KEY_ID, KEY.verify_key)


@given(json_objects, st.text(min_size=1, max_size=6), json_values)
def test_changing_any_signed_value_fails(obj: dict[str, Any], key: str, value: Any) -> None:
    signed = sign_json(obj, SERVER, KEY_ID, KEY)
    if key in ("signatures", "unsigned") or (key in obj and obj[key] == value):
        return
    changed = dict(signed)
    changed[key] = value
    with pytest.raises(SignatureError, match="bad signature"):
        verify_signed_json(changed, SERVER, KEY_ID, KEY.verify_key)


# --- key validity -------------------------------------------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_key_validity_per_room_version(version: str) -> None:
    enforced = int(version) >= 5
    assert ROOM_VERSIONS[version].enforce_key_validity is enforced
    assert key_valid_for_event(1000, 999, version)
    assert key_valid_for_event(1000, 1000, version)
    assert key_valid_for_event(1000, 1001, version) is not enforced
    assert key_valid_for_event(0, 10**12, ROOM_VERSIONS[version]) is not enforced


def test_cap_valid_until_ts() -> None:
    received = 1_000_000
    assert cap_valid_until_ts(received + 5, received) == received + 5
    assert cap_valid_until_ts(received + 10**12, received) == received + MAX_KEY_VALIDITY_MS
    assert MAX_KEY_VALIDITY_MS == 7 * 24 * 3600 * 1000


def test_verify_key_type() -> None:
    assert isinstance(decode_verify_key_base64(verify_key_base64(KEY)), nacl.signing.VerifyKey)
