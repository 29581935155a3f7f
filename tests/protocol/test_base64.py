"""trioserver.protocol.base64: unpadded Base64 (spec vectors in tests/data/spec)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.protocol.json_strategies import load_vectors
from trioserver.protocol.base64 import decode_base64, encode_base64

CASES = load_vectors("spec/unpadded_base64.json")["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: repr(c["input_utf8"]))
def test_spec_vectors(case: dict[str, str]) -> None:
    raw = case["input_utf8"].encode("utf-8")
    assert encode_base64(raw) == case["expected"]
    assert encode_base64(raw, urlsafe=True) == case["expected"]
    assert decode_base64(case["expected"]) == raw


@pytest.mark.parametrize("case", CASES, ids=lambda c: repr(c["input_utf8"]))
def test_decoder_accepts_padding(case: dict[str, str]) -> None:
    raw = case["input_utf8"].encode("utf-8")
    assert decode_base64(base64.b64encode(raw).decode()) == raw


def test_alphabets() -> None:
    raw = bytes([0xFB, 0xEF, 0xFF])
    assert encode_base64(raw) == "++//"
    assert encode_base64(raw, urlsafe=True) == "--__"
    assert decode_base64("++//") == raw
    assert decode_base64("--__") == raw


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Z", "invalid base64 length"),
        ("Zm9vY", "invalid base64 length"),
        ("Zg=", "invalid base64 padding"),
        ("Zg===", "invalid base64 padding"),
        ("Zm9==", "invalid base64 padding"),
        ("Zm9vYg=", "invalid base64 padding"),
        ("Zm9v=", "invalid base64 padding"),
        ("=", "invalid base64 padding"),
        ("Zg=g", "invalid base64 character"),
        ("Zm 9v", "invalid base64 character"),
        ("Zm9v\n", "invalid base64 character"),
        ("Zm9*", "invalid base64 character"),
        ("Zm9é", "invalid base64 character"),
        ("+-AA", "mixes the standard and URL-safe alphabets"),
        ("ab/_", "mixes the standard and URL-safe alphabets"),
    ],
)
def test_decoder_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_base64(text)


def test_decoder_accepts_correct_padding_only() -> None:
    assert decode_base64("Zm9=") == b"fo"
    assert decode_base64("Zg==") == b"f"


def test_decoder_wants_str() -> None:
    with pytest.raises(TypeError):
        decode_base64(b"Zg")  # type: ignore[arg-type]


@given(st.binary(max_size=100), st.booleans())
def test_roundtrip(raw: bytes, urlsafe: bool) -> None:
    text = encode_base64(raw, urlsafe=urlsafe)
    assert "=" not in text
    assert len(text) == (len(raw) * 4 + 2) // 3
    assert decode_base64(text) == raw
    padded = text + "=" * (-len(text) % 4)
    assert decode_base64(padded) == raw
    expected = base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)
    assert padded == expected.decode()
