"""trioserver.protocol.json: canonical JSON (spec vectors in tests/data/spec) and
the strict parser for untrusted bodies."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.protocol.json_strategies import json_objects, json_values, load_vectors
from trioserver.protocol.json import (
    CANONICAL_INT_MAX,
    CANONICAL_INT_MIN,
    BadJson,
    canonical_json,
    encode_json,
    find_non_canonical_value,
    parse_json,
    parse_json_object,
)

CANONICAL_CASES = load_vectors("spec/canonical_json.json")["cases"]


def _ints_for_integral_floats(value: Any) -> Any:
    """What the vector file asks for: ``-0`` and ``1e10`` read as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints_for_integral_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints_for_integral_floats(v) for v in value]
    return value


@pytest.mark.parametrize("case", CANONICAL_CASES, ids=lambda c: c["expected"][:30])
def test_canonical_json_spec_vectors(case: dict[str, str]) -> None:
    value = _ints_for_integral_floats(json.loads(case["input_json"]))
    assert canonical_json(value) == case["expected"].encode("utf-8")


@pytest.mark.parametrize("case", CANONICAL_CASES, ids=lambda c: c["expected"][:30])
def test_parse_json_reads_spec_vectors(case: dict[str, str]) -> None:
    data = case["input_json"].encode("utf-8")
    if "1e10" in case["input_json"]:
        # The strict parser refuses the float literal 1e10.
        with pytest.raises(BadJson, match=r"^float value 1e10 is not allowed$"):
            parse_json(data)
    else:
        assert canonical_json(parse_json(data)) == case["expected"].encode("utf-8")


def test_canonical_json_sorts_by_code_point_not_utf16() -> None:
    # U+FB01 sorts before U+1F600 by code point, after it in UTF-16 code units.
    value = {"\U0001f600": 1, "\ufb01": 2, "a": 3}
    assert canonical_json(value) == '{"a":3,"ﬁ":2,"😀":1}'.encode()


def test_canonical_json_escapes_only_what_it_must() -> None:
    value = {"s": 'q"b\\\x00\x1f\x7f\u2028é'}
    assert canonical_json(value) == b'{"s":"q\\"b\\\\\\u0000\\u001f\x7f\xe2\x80\xa8\xc3\xa9"}'


def test_encode_json_is_compact_and_keeps_order() -> None:
    assert encode_json({"b": [1, "é"], "a": None}) == '{"b":[1,"é"],"a":null}'.encode()
    with pytest.raises(ValueError):
        encode_json({"a": float("nan")})


# --- strict parser: every forbidden thing, with its message -------------------

PARSE_ERRORS = [
    (b'{"a": 1.5}', r"^float value 1\.5 is not allowed$", "M_BAD_JSON"),
    (b"1.0", r"^float value 1\.0 is not allowed$", "M_BAD_JSON"),
    (b"[1e3]", r"^float value 1e3 is not allowed$", "M_BAD_JSON"),
    (b"-0.0", r"^float value -0\.0 is not allowed$", "M_BAD_JSON"),
    (b"2E-1", r"^float value 2E-1 is not allowed$", "M_BAD_JSON"),
    (b'{"a": NaN}', r"^NaN is not allowed$", "M_BAD_JSON"),
    (b"[Infinity]", r"^Infinity is not allowed$", "M_BAD_JSON"),
    (b"-Infinity", r"^-Infinity is not allowed$", "M_BAD_JSON"),
    (b"9007199254740992", r"^integer 9007199254740992 is out of range$", "M_BAD_JSON"),
    (b"-9007199254740992", r"^integer -9007199254740992 is out of range$", "M_BAD_JSON"),
    (
        b"[1" + b"0" * 5000 + b"]",
        r"^integer 1000000000000000000\d\.\.\. is out of range$",
        "M_BAD_JSON",
    ),
    (b'{"a": 1, "a": 1}', r"^duplicate key 'a'$", "M_BAD_JSON"),
    (b'[{"x": {"b": 1, "c": 2, "b": 3}}]', r"^duplicate key 'b'$", "M_BAD_JSON"),
    (b'{"\\u0061": 1, "a": 2}', r"^duplicate key 'a'$", "M_BAD_JSON"),
    (b'"\xff"', r"^invalid UTF-8 at byte 1$", "M_NOT_JSON"),
    (b'"\xc0\xaf"', r"^invalid UTF-8 at byte 1$", "M_NOT_JSON"),  # overlong '/'
    (b'"\xed\xa0\x80"', r"^invalid UTF-8 at byte 1$", "M_NOT_JSON"),  # encoded surrogate
    (b'{"a": "\xe6\x97"}', r"^invalid UTF-8 at byte 7$", "M_NOT_JSON"),  # truncated
    (b'"\\ud800"', r"^unpaired surrogate escape in a string$", "M_BAD_JSON"),
    (b'"\\uDC00"', r"^unpaired surrogate escape in a string$", "M_BAD_JSON"),
    (b'"\\udc00\\ud800"', r"^unpaired surrogate escape in a string$", "M_BAD_JSON"),
    (b'"\\ud83dx"', r"^unpaired surrogate escape in a string$", "M_BAD_JSON"),
    (b'{"\\ud800": 1}', r"^unpaired surrogate escape in a string$", "M_BAD_JSON"),
    (b'[["ok", {"k": "\\udfff"}]]', r"^unpaired surrogate escape in a string$", "M_BAD_JSON"),
    (b"", r"^not JSON: Expecting value \(line 1, column 1\)$", "M_NOT_JSON"),
    (b"{", r"^not JSON: ", "M_NOT_JSON"),
    (b"{'a': 1}", r"^not JSON: ", "M_NOT_JSON"),
    (b'{"a": 1,}', r"^not JSON: ", "M_NOT_JSON"),
    (b"[1] [2]", r"^not JSON: Extra data", "M_NOT_JSON"),
    (b"\xef\xbb\xbf{}", r"^not JSON: ", "M_NOT_JSON"),  # byte-order mark
    (b'"tab\tinside"', r"^not JSON: Invalid control character", "M_NOT_JSON"),
    (b"01", r"^not JSON: Extra data", "M_NOT_JSON"),
    (b"+1", r"^not JSON: ", "M_NOT_JSON"),
    (b"[" * 100_000, r"^not JSON: nesting too deep$", "M_NOT_JSON"),
]


@pytest.mark.parametrize(("data", "message", "errcode"), PARSE_ERRORS)
def test_parse_json_rejects(data: bytes, message: str, errcode: str) -> None:
    with pytest.raises(BadJson, match=message) as info:
        parse_json(data)
    assert info.value.errcode == errcode
    assert isinstance(info.value, ValueError)


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


PARSE_OK = [
    (b"-0", 0),
    (b"9007199254740991", CANONICAL_INT_MAX),
    (b"-9007199254740991", CANONICAL_INT_MIN),
    (b'"\\ud83d\\ude00"', "\U0001f600"),
    (b'"\\uD83D\\uDE00"', "\U0001f600"),
    (b'"\\\\ud800"', "\\ud800"),  # an escaped backslash, then text
    (b'"\\u0000"', "\x00"),
    (b'"\xf0\x9f\x98\x80"', "\U0001f600"),
    (b' {"a" : [true, false, null] } ', {"a": [True, False, None]}),
    (b'{"a": {"a": 1}}', {"a": {"a": 1}}),
    (b"[" * 200 + b"]" * 200, _nested(200)),
]


@pytest.mark.parametrize(("data", "expected"), PARSE_OK)
def test_parse_json_accepts(data: bytes, expected: object) -> None:
    assert parse_json(data) == expected


@pytest.mark.parametrize("data", [b"[]", b"1", b'"x"', b"null", b"true"])
def test_parse_json_object_requires_an_object(data: bytes) -> None:
    parse_json(data)
    with pytest.raises(BadJson, match=r"^not an object$") as info:
        parse_json_object(data)
    assert info.value.errcode == "M_BAD_JSON"


def test_parse_json_object_returns_the_dict() -> None:
    assert parse_json_object(b'{"a": [1]}') == {"a": [1]}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"a": [1, {"b": 2.5}]}, "float value 2.5 is not allowed"),
        ([2**53], "integer 9007199254740992 is out of range"),
        ({"a": -(2**53)}, "integer -9007199254740992 is out of range"),
        ((1, 1.0), "float value 1.0 is not allowed"),
        ({"ok": [True, None, "s", CANONICAL_INT_MAX, CANONICAL_INT_MIN]}, None),
    ],
)
def test_find_non_canonical_value(value: object, problem: str | None) -> None:
    assert find_non_canonical_value(value) == problem


# --- properties ----------------------------------------------------------------


@given(json_values)
def test_canonical_json_is_stable_under_reencoding(value: object) -> None:
    encoded = canonical_json(value)
    parsed = parse_json(encoded)
    assert parsed == value
    assert canonical_json(parsed) == encoded
    assert parse_json(encode_json(value)) == value


def _reorder(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _reorder(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_reorder(v, rng) for v in value]
    return value


@given(json_objects, st.randoms(use_true_random=False))
def test_canonical_json_ignores_key_order(value: dict[str, Any], rng: random.Random) -> None:
    assert canonical_json(_reorder(value, rng)) == canonical_json(value)


@given(json_values)
def test_canonical_json_has_no_whitespace_between_tokens(value: object) -> None:
    encoded = canonical_json(value)
    assert (
        encoded
        == json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    )


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_parse_json_rejects_every_float(number: float) -> None:
    for text in (json.dumps(number), json.dumps({"k": [number]}), f"{number:.3e}"):
        with pytest.raises(BadJson, match=r"^float value .+ is not allowed$"):
            parse_json(text.encode())


@given(st.integers(min_value=CANONICAL_INT_MAX + 1) | st.integers(max_value=CANONICAL_INT_MIN - 1))
def test_parse_json_rejects_every_out_of_range_int(number: int) -> None:
    with pytest.raises(BadJson, match=r"^integer -?\d+(\.\.\.)? is out of range$"):
        parse_json(json.dumps({"n": number}).encode())


@given(st.integers(CANONICAL_INT_MIN, CANONICAL_INT_MAX))
def test_parse_json_accepts_every_in_range_int(number: int) -> None:
    assert parse_json(str(number).encode()) == number


@given(st.text())
def test_parse_json_reads_any_string_however_escaped(text: str) -> None:
    assert parse_json(json.dumps(text, ensure_ascii=True).encode()) == text
    assert parse_json(json.dumps(text, ensure_ascii=False).encode()) == text
