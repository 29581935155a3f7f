"""The authorisation rules beyond the rule-by-rule table
(``test_auth_rules.py``): rule numbers in errors, real event IDs, the
selection of auth events, and properties of power-level changes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.protocol.auth_builder import (
    ALICE,
    BOB,
    CAROL,
    CREATE_KEY,
    DAVE,
    PL_KEY,
    VERSIONS,
    VIA,
    Event,
    levels,
    room,
    third_party_invite,
)
from trioserver.protocol.auth import (
    AuthError,
    auth_event_types,
    authorising_server,
    check_auth,
    check_auth_events_selection,
)
from trioserver.protocol.auth_context import rule_numbers
from trioserver.protocol.hashes import compute_event_id
from trioserver.protocol.room_versions import room_version

# --- messages and rule numbers ------------------------------------------------------


def test_error_names_the_rule_of_the_version() -> None:
    r = room("11")
    with pytest.raises(AuthError) as caught:
        r.check(r.member(CAROL, "join", sender=BOB))
    assert caught.value.message == "auth rule 4.3.2 (v11): sender does not match state_key"
    assert caught.value.status == 403
    assert caught.value.rule_number == "4.3.2"


@pytest.mark.parametrize(
    ("version", "rule", "number"),
    [
        ("1", "create.creator", "1.4"),
        ("1", "auth_events.room_id", "2.5"),
        ("1", "aliases.domain", "4.2"),
        ("1", "member.join.public", "5.2.5"),
        ("1", "member.invite.third_party.signature", "5.3.1.7"),
        ("1", "redaction.domain", "11.2"),
        ("2", "power_levels.users_new", "10.7"),
        ("3", "power_levels.users_new", "10.7"),
        ("6", "member.leave.self", "4.4.1"),
        ("6", "state_key", "8"),
        ("7", "member.knock.join_rule", "4.6.1"),
        ("8", "member.authorised_via", "4.2"),
        ("8", "member.join.restricted.authoriser", "4.3.5.2"),
        ("9", "member.join.public", "4.3.6"),
        ("10", "power_levels.levels", "9.1"),
        ("10", "power_levels.users", "9.3"),
        ("10", "power_levels.users_new", "9.9"),
        ("11", "create.room_version", "1.3"),
        ("12", "room_id", "2"),
        ("12", "create.additional_creators", "1.4"),
        ("12", "auth_events.room_id", "3.4"),
        ("12", "member.join.creator", "5.3.1"),
        ("12", "power_levels.creators", "10.4"),
        ("12", "power_levels.users_new", "10.10"),
    ],
)
def test_rule_numbers_follow_the_spec(version: str, rule: str, number: str) -> None:
    assert rule_numbers(room_version(version))[rule] == number


def test_rules_that_do_not_exist_in_a_version() -> None:
    assert "redaction" not in rule_numbers(room_version("3"))
    assert "aliases" not in rule_numbers(room_version("6"))
    assert "member.knock" not in rule_numbers(room_version("6"))
    assert "auth_events.no_create" not in rule_numbers(room_version("12"))


# --- event IDs from reference hashes --------------------------------------------------


@pytest.mark.parametrize("version", [v for v in VERSIONS if room_version(v).event_ids_are_hashes])
def test_creators_first_join_with_real_event_ids(version: str) -> None:
    rv = room_version(version)
    create: Event = {
        "type": "m.room.create",
        "state_key": "",
        "sender": ALICE,
        "content": {"room_version": version}
        | ({} if rv.implicit_room_creator else {"creator": ALICE}),
        "origin_server_ts": 1,
        "depth": 1,
        "prev_events": [],
        "auth_events": [],
        "hashes": {"sha256": "aGFzaA"},
        "signatures": {},
    }
    if not rv.room_id_from_create_event:
        create["room_id"] = "!room:a"
    create_id = compute_event_id(create, rv)
    room_id = "!" + create_id[1:] if rv.room_id_from_create_event else "!room:a"
    join: Event = {
        "type": "m.room.member",
        "state_key": ALICE,
        "sender": ALICE,
        "room_id": room_id,
        "content": {"membership": "join"},
        "prev_events": [create_id],
        "auth_events": [] if rv.room_id_from_create_event else [create_id],
    }
    state = {CREATE_KEY: create}
    check_auth(join, state, version)
    with pytest.raises(AuthError):
        check_auth({**join, "prev_events": ["$" + "A" * 43]}, state, version)
    if rv.room_id_from_create_event:
        with pytest.raises(AuthError) as caught:
            check_auth({**join, "room_id": "!" + "A" * 43}, state, version)
        assert caught.value.rule == "room_id"


# --- auth events selection -------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_auth_event_types(version: str) -> None:
    rv = room_version(version)
    r = room(version)
    base = {PL_KEY, ("m.room.member", BOB)} | (
        set() if rv.room_id_from_create_event else {CREATE_KEY}
    )
    assert auth_event_types(r.create, version) == set()
    assert auth_event_types(r.message(BOB), version) == base
    invite = third_party_invite(version)[1]
    assert auth_event_types(invite, version) == {
        *base - {("m.room.member", BOB)},
        ("m.room.member", ALICE),
        ("m.room.member", CAROL),
        ("m.room.join_rules", ""),
        ("m.room.third_party_invite", "tok"),
    }
    knock = r.member(BOB, "knock")
    assert ("m.room.join_rules", "") in auth_event_types(knock, version)
    leave = r.member(BOB, "leave")
    assert auth_event_types(leave, version) == base
    join = r.member(CAROL, "join", **{VIA: DAVE})
    assert (("m.room.member", DAVE) in auth_event_types(join, version)) == rv.restricted_join_rule
    assert authorising_server(join, version) == ("a" if rv.restricted_join_rule else None)
    assert authorising_server(r.member(CAROL, "join"), version) is None


def _selection_cases(v: str) -> list[tuple[str, list[Event] | None, Event, str | None]]:
    r = room(v)
    message = r.message(BOB)
    cited = r.cited(message)
    extra_join_rules = [*cited, r.state[("m.room.join_rules", "")]]
    return [
        ("as selected", None, message, None),
        ("a subset", [e for e in cited if e["type"] != "m.room.power_levels"], message, None),
        ("duplicate", [*cited, r.state[PL_KEY]], message, "auth_events.duplicates"),
        ("unexpected type", extra_join_rules, message, "auth_events.selection"),
        (
            "another user's member",
            [*cited, r.state[("m.room.member", ALICE)]],
            message,
            "auth_events.selection",
        ),
        (
            "create of v12",
            [*cited, r.create] if r.rv.room_id_from_create_event else None,
            message,
            "auth_events.selection" if r.rv.room_id_from_create_event else None,
        ),
        (
            "no create",
            [e for e in cited if e["type"] != "m.room.create"],
            message,
            None if r.rv.room_id_from_create_event else "auth_events.no_create",
        ),
        (
            "another room",
            [{**e, "room_id": "!x:a"} if e["type"] == "m.room.power_levels" else e for e in cited],
            message,
            "auth_events.room_id",
        ),
        ("create event itself", [], r.create, None),
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_check_auth_events_selection(version: str) -> None:
    r = room(version)
    for name, cited, event, expected in _selection_cases(version):
        given_events = r.cited(event) if cited is None else cited
        if expected is None:
            check_auth_events_selection(event, given_events, version)
            continue
        with pytest.raises(AuthError) as caught:
            check_auth_events_selection(event, given_events, version)
        assert caught.value.rule == expected, name


# --- properties ----------------------------------------------------------------------------

_LEVEL = st.integers(min_value=-5, max_value=110)
_USERS = st.sampled_from([BOB, CAROL, DAVE, "@fred:f"])
_KEYS = st.sampled_from(["ban", "kick", "redact", "invite", "state_default", "events_default"])


@settings(max_examples=150, deadline=None)
@given(
    version=st.sampled_from(VERSIONS),
    own=st.integers(min_value=0, max_value=100),
    old_users=st.dictionaries(_USERS, _LEVEL, max_size=4),
    new_users=st.dictionaries(_USERS, _LEVEL, max_size=4),
    old_keys=st.dictionaries(_KEYS, _LEVEL, max_size=3),
    new_keys=st.dictionaries(_KEYS, _LEVEL, max_size=3),
)
def test_nobody_grants_above_their_own_level(
    version: str,
    own: int,
    old_users: dict[str, int],
    new_users: dict[str, int],
    old_keys: dict[str, int],
    new_keys: dict[str, int],
) -> None:
    """Whatever BOB (level ``own``) sends, an allowed power levels event never
    sets a changed level above ``own``, nor changes another user who was at
    or above ``own``."""
    base_users = levels(version)["users"]
    old = {
        **levels(version),
        **old_keys,
        "events": {},
        "users": {**base_users, **old_users, BOB: own},
    }
    new = {**levels(version), **new_keys, "events": {}, "users": {**base_users, **new_users}}
    r = room(version, pl=old)
    event = r.make("m.room.power_levels", new, BOB, "")
    try:
        r.check(event)
    except AuthError:
        return
    old_levels = {**{k: v for k, v in old.items() if isinstance(v, int)}}
    new_levels = {**{k: v for k, v in new.items() if isinstance(v, int)}}
    for key in old_levels.keys() | new_levels.keys():
        if old_levels.get(key) != new_levels.get(key):
            assert old_levels.get(key, own) <= own and new_levels.get(key, own) <= own
    for user in old["users"].keys() | new["users"].keys():
        before, after = old["users"].get(user), new["users"].get(user)
        if before != after:
            assert after is None or after <= own
            assert user == BOB or before is None or before < own


@settings(max_examples=60, deadline=None)
@given(
    users=st.dictionaries(_USERS, st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)),
    keys=st.dictionaries(_KEYS, st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)),
)
def test_v12_creators_may_set_any_levels(users: dict[str, int], keys: dict[str, int]) -> None:
    r = room("12", pl={"users": {BOB: 10**6}, "ban": 10**6})
    r.check(r.make("m.room.power_levels", {**levels("12"), **keys, "users": users}, ALICE, ""))
