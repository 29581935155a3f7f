"""trioserver.protocol.identifiers: the grammars of appendices.md "Identifier
Grammar" (examples in tests/data/spec/identifiers.json) and their edge cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.protocol.json_strategies import load_vectors
from trioserver.protocol.identifiers import (
    InvalidIdentifier,
    RoomAlias,
    RoomID,
    UserID,
    is_valid_event_id,
    is_valid_localpart,
    is_valid_namespaced_identifier,
    is_valid_room_alias,
    is_valid_room_id,
    is_valid_server_name,
    is_valid_user_id,
    parse_server_name,
)
from trioserver.protocol.room_versions import ROOM_VERSIONS

VECTORS = load_vectors("spec/identifiers.json")


def test_vector_limits() -> None:
    assert VECTORS["max_identifier_length_bytes"] == 255


# --- server names ----------------------------------------------------------------


@pytest.mark.parametrize("name", VECTORS["valid_server_names"])
def test_spec_server_names_are_valid(name: str) -> None:
    assert is_valid_server_name(name)


@pytest.mark.parametrize(
    ("name", "host", "port"),
    [
        ("matrix.org", "matrix.org", None),
        ("matrix.org:8888", "matrix.org", 8888),
        ("1.2.3.4", "1.2.3.4", None),
        ("1.2.3.4:1234", "1.2.3.4", 1234),
        ("[1234:5678::abcd]", "[1234:5678::abcd]", None),
        ("[1234:5678::abcd]:5678", "[1234:5678::abcd]", 5678),
        ("[::1]", "[::1]", None),
        ("[::ffff:1.2.3.4]:8448", "[::ffff:1.2.3.4]", 8448),
        ("[ABCD:EF01::]", "[ABCD:EF01::]", None),
        ("localhost:0", "localhost", 0),
        ("localhost:65535", "localhost", 65535),
        ("localhost:00080", "localhost", 80),
        ("MATRIX.org", "MATRIX.org", None),
        ("xn--bcher-kva.example", "xn--bcher-kva.example", None),
        ("a", "a", None),
        ("255.255.255.255", "255.255.255.255", None),
        ("001.2.3.4", "001.2.3.4", None),
        ("1.2.3", "1.2.3", None),  # not an IPv4 literal, but a dns-name
        ("1.2.3.4.5", "1.2.3.4.5", None),
        ("example.com.", "example.com.", None),
    ],
)
def test_parse_server_name(name: str, host: str, port: int | None) -> None:
    assert parse_server_name(name) == (host, port)


@pytest.mark.parametrize(
    "name",
    [
        "",
        ":8448",
        "matrix.org:",
        "matrix.org:65536",
        "matrix.org:123456",
        "matrix.org:-1",
        "matrix.org:+1",
        "matrix.org: 80",
        "matrix.org:80:80",
        "matrix org",
        "matrix_org",
        "mätrix.org",
        "matrix.org/path",
        "@matrix.org",
        "256.1.1.1",
        "1.2.3.256:80",
        "::1",
        "[::1",
        "::1]",
        "[]",
        "[:]",
        "[::1]]",
        "[::1]:",
        "[::1]:99999",
        "[:::]",
        "[12345::]",
        "[g::1]",
        "[::1%eth0]",
        "[1.2.3.4]",
        "[" + "0:" * 8 + "0]",
        "a" * 256,
        "a" * 255 + ":80",
        None,
        1234,
    ],
)
def test_invalid_server_names(name: str) -> None:
    assert not is_valid_server_name(name)
    with pytest.raises(InvalidIdentifier):
        parse_server_name(name)


def test_server_name_length_limit() -> None:
    assert is_valid_server_name("a" * 255)
    assert is_valid_server_name("a" * 249 + ":65535")
    assert not is_valid_server_name("a" * 250 + ":65535")


# --- user IDs ------------------------------------------------------------------


@pytest.mark.parametrize(
    "user_id",
    [
        "@alice:example.org",
        "@a:b",
        "@0123456789abcdefghijklmnopqrstuvwxyz._=-/+:example.org",
        "@alice:example.org:8448",
        "@alice:[::1]:8448",
        "@alice:1.2.3.4",
    ],
)
def test_compliant_user_ids(user_id: str) -> None:
    assert is_valid_user_id(user_id, historical=False)
    assert is_valid_user_id(user_id)
    assert UserID.parse(user_id).is_compliant
    assert str(UserID.parse(user_id)) == user_id


@pytest.mark.parametrize(
    ("user_id", "localpart"),
    [
        ("@Alice:example.org", "Alice"),
        ("@:example.org", ""),
        ("@alice smith:example.org", "alice smith"),
        ("@日本:example.org", "日本"),
        ("@a\x01b:example.org", "a\x01b"),
        ("@a#b!c[d]:example.org", "a#b!c[d]"),
    ],
)
def test_historical_user_ids(user_id: str, localpart: str) -> None:
    assert is_valid_user_id(user_id)
    assert not is_valid_user_id(user_id, historical=False)
    parsed = UserID.parse(user_id)
    assert parsed == UserID(localpart, "example.org")
    with pytest.raises(InvalidIdentifier, match="localpart is not allowed"):
        UserID.parse(user_id, historical=False)


def test_compliance_of_historical_localparts() -> None:
    assert UserID.parse("@Alice!~:x").is_compliant
    for user_id in ("@:x", "@a b:x", "@é:x", "@a\x7f:x"):
        assert not UserID.parse(user_id).is_compliant


@pytest.mark.parametrize(
    "user_id",
    [
        "",
        "alice:example.org",
        "#alice:example.org",
        "@alice",
        "@alice:",
        "@alice:exa mple.org",
        "@alice:example.org:port",
        "@a\x00b:example.org",
        "@a\ud800b:example.org",
        "@alice:example.org:99999",
        None,
        ["@alice:example.org"],
    ],
)
def test_invalid_user_ids(user_id: str) -> None:
    assert not is_valid_user_id(user_id)
    with pytest.raises(InvalidIdentifier):
        UserID.parse(user_id)


def test_user_id_splits_at_the_first_colon() -> None:
    assert UserID.parse("@a:b:1") == UserID("a", "b:1")


def test_user_id_length_is_255_bytes() -> None:
    domain = "example.org"
    fits = "@" + "a" * (255 - len(domain) - 2) + ":" + domain
    assert len(fits) == 255
    assert is_valid_user_id(fits, historical=False)
    assert not is_valid_user_id("@a" + fits[1:])
    # Bytes, not characters: 'é' is two bytes of UTF-8.
    wide = "@" + "é" * 121 + ":" + domain
    assert len(wide.encode()) == 255
    assert is_valid_user_id(wide)
    assert not is_valid_user_id("@é" + wide[1:])


@pytest.mark.parametrize(
    ("localpart", "valid"),
    [
        ("alice", True),
        ("a", True),
        ("0", True),
        ("a.b_c=d-e/f+g", True),
        ("", False),
        ("Alice", False),
        ("alice smith", False),
        ("alice:x", False),
        ("alice@x", False),
        ("alice*", False),
        ("é", False),
        ("alice\n", False),
    ],
)
def test_is_valid_localpart(localpart: str, valid: bool) -> None:
    assert is_valid_localpart(localpart) is valid


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._=-/+", min_size=1, max_size=40))
def test_any_strict_localpart_makes_a_user_id(localpart: str) -> None:
    assert is_valid_localpart(localpart)
    assert UserID.parse(f"@{localpart}:example.org", historical=False) == UserID(
        localpart, "example.org"
    )


@given(st.text(max_size=40).filter(lambda s: ":" not in s and "\x00" not in s))
def test_any_historical_localpart_is_accepted(localpart: str) -> None:
    assert UserID.parse(f"@{localpart}:example.org").localpart == localpart


# --- room IDs, aliases, event IDs ------------------------------------------------

HASH_ROOM_ID = "!Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ"  # the v12 PDU example


def test_room_ids_per_version() -> None:
    formats = {v: f for f in VECTORS["room_id_formats"] for v in f["room_versions"]}
    assert sorted(formats, key=int) == sorted(ROOM_VERSIONS, key=int)
    for version, fmt in formats.items():
        hashed = fmt["format"].startswith("! + URL-safe")
        assert ROOM_VERSIONS[version].room_id_from_create_event is hashed
        assert is_valid_room_id(HASH_ROOM_ID, version) is hashed
        assert is_valid_room_id("!abc123:matrix.org", version) is not hashed
    assert is_valid_room_id(HASH_ROOM_ID)
    assert is_valid_room_id("!abc123:matrix.org")


def test_room_id_parse() -> None:
    assert RoomID.parse("!abc:matrix.org") == RoomID("abc", "matrix.org")
    assert RoomID.parse(HASH_ROOM_ID) == RoomID(HASH_ROOM_ID[1:], None)
    assert str(RoomID.parse(HASH_ROOM_ID)) == HASH_ROOM_ID
    assert str(RoomID.parse("!a b:x:1")) == "!a b:x:1"
    assert RoomID.parse("!:x") == RoomID("", "x")


@pytest.mark.parametrize(
    "room_id",
    [
        "",
        "!",
        "abc:matrix.org",
        "$abc:matrix.org",
        "!abc",
        "!abc:",
        "!a\x00:x",
        "!abc:bad host",
        HASH_ROOM_ID[:-1],
        HASH_ROOM_ID + "A",
        "!Nhcu5BS+UMnFX7hBVfVSoXiD7OgH6iRT/xyIuqDnpYQ",
        "!" + "a" * 249 + ":ab.cd",
    ],
)
def test_invalid_room_ids(room_id: str) -> None:
    assert not is_valid_room_id(room_id)
    with pytest.raises(InvalidIdentifier):
        RoomID.parse(room_id)


def test_room_id_length_is_255_bytes() -> None:
    fits = "!" + "a" * 248 + ":ab.cd"
    assert len(fits) == 255
    assert is_valid_room_id(fits, "1")


def test_room_aliases() -> None:
    assert RoomAlias.parse("#room:example.org") == RoomAlias("room", "example.org")
    assert str(RoomAlias.parse("#Räum 1!:example.org:8448")) == "#Räum 1!:example.org:8448"
    assert is_valid_room_alias("#:x")
    fits = "#" + "a" * 248 + ":ab.cd"
    assert is_valid_room_alias(fits)
    for bad in ("room:example.org", "#room", "#a\x00:x", "#a:b c", "#" + "a" * 249 + ":ab.cd"):
        assert not is_valid_room_alias(bad)
        with pytest.raises(InvalidIdentifier):
            RoomAlias.parse(bad)


def test_event_id_examples_from_the_spec() -> None:
    for fmt in VECTORS["event_id_formats"]:
        examples = [fmt[k] for k in ("example", "example2") if k in fmt]
        for version in fmt["room_versions"]:
            for example in examples:
                assert is_valid_event_id(example, version), (version, example)
                assert is_valid_event_id(example)


@pytest.mark.parametrize(
    ("event_id", "valid_in"),
    [
        ("$randomstring:example.org", {"1", "2"}),
        ("$0:domain", {"1", "2"}),
        ("$acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7XcJk", {"3"}),
        ("$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg", {str(n) for n in range(4, 13)}),
        ("$CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZgrW6o", {str(n) for n in range(3, 13)}),
        ("$CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZgrW6", set()),
        ("$CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZgrW6oo", set()),
        ("$CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZgrW6=", set()),
        ("!CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZgrW6o", set()),
        ("$nodomain", set()),
        ("$a:bad host", set()),
        ("$", set()),
        ("", set()),
    ],
)
def test_event_ids_per_version(event_id: str, valid_in: set[str]) -> None:
    for version in ROOM_VERSIONS:
        assert is_valid_event_id(event_id, version) is (version in valid_in), version
        assert is_valid_event_id(event_id, ROOM_VERSIONS[version]) is (version in valid_in)


def test_event_id_without_version() -> None:
    assert is_valid_event_id("$anything at all")
    assert not is_valid_event_id("$")
    assert not is_valid_event_id("$a\x00")
    assert is_valid_event_id("$" + "a" * 254)
    assert not is_valid_event_id("$" + "a" * 255)
    assert is_valid_event_id("$" + "é" * 127)  # 255 bytes
    assert not is_valid_event_id("$" + "é" * 128)  # 129 characters, 257 bytes


@pytest.mark.parametrize(
    ("identifier", "valid"),
    [
        ("m.room.message", True),
        ("com.example.thing-1_2", True),
        ("a", True),
        ("a" * 255, True),
        ("a" * 256, False),
        ("", False),
        ("M.room", False),
        ("1abc", False),
        ("_abc", False),
        ("m.room message", False),
        ("m:room", False),
    ],
)
def test_namespaced_identifiers(identifier: str, valid: bool) -> None:
    assert is_valid_namespaced_identifier(identifier) is valid
