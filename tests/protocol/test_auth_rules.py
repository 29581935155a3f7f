"""The authorisation rules, rule by rule, in every room version (table-driven).

Each row of :data:`CASES` builds a room and one event in room versions 1-12
and says what the rules must decide: allowed (None) or the key of the rule
that rejects it (``AuthError.rule``), possibly depending on the version's
flags. Most rules have an allowed and a forbidden row.

Rooms and events come from ``auth_builder``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.protocol.auth_builder import (
    ALICE,
    BOB,
    CAROL,
    CREATE_KEY,
    DAVE,
    ERIN,
    FORGER_KEY,
    PL_KEY,
    VERSIONS,
    VIA,
    Event,
    Room,
    levels,
    room,
    third_party_invite,
)
from trioserver.protocol.auth import (
    AuthError,
)
from trioserver.protocol.auth_context import rule_numbers
from trioserver.protocol.room_versions import RoomVersion, room_version

# --- the table --------------------------------------------------------------------

Expect = str | None | Callable[[RoomVersion], str | None]


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[str], tuple[Room, Event]]
    expect: Expect
    applies: Callable[[RoomVersion], bool]

    def expected(self, rv: RoomVersion) -> str | None:
        return self.expect(rv) if callable(self.expect) else self.expect


CASES: list[Case] = []


def case(
    name: str, expect: Expect = None, applies: Callable[[RoomVersion], bool] = lambda rv: True
) -> Callable[[Callable[[str], tuple[Room, Event]]], Callable[[str], tuple[Room, Event]]]:
    def register(build: Callable[[str], tuple[Room, Event]]) -> Callable[[str], tuple[Room, Event]]:
        CASES.append(Case(name, build, expect, applies))
        return build

    return register


def unless(flag: str, rule: str, otherwise: str | None = None) -> Callable[[RoomVersion], Any]:
    """``otherwise`` where the version has ``flag``, else ``rule``."""
    return lambda rv: otherwise if getattr(rv, flag) else rule


def when(flag: str, rule: str, otherwise: str | None = None) -> Callable[[RoomVersion], Any]:
    """``rule`` where the version has ``flag``, else ``otherwise``."""
    return lambda rv: rule if getattr(rv, flag) else otherwise


def _create(v: str, extra: dict[str, Any] | None = None, **fields: Any) -> tuple[Room, Event]:
    r = Room(v)
    content = r.create_content(extra)
    for key in fields.pop("drop", ()):
        content.pop(key)
    return r, r.make("m.room.create", content, fields.pop("sender", ALICE), "", **fields)


# Rule 1: m.room.create
case("create")(lambda v: (r := Room(v), r.create))
case("create: with prev_events", "create.prev_events")(
    lambda v: _create(v, prev=["$1:a" if int(v) < 3 else "$fake-0"])
)
case(
    "create: sender's domain is not the room's",
    "create.room_id",
    lambda rv: not rv.privileged_creators,
)(lambda v: _create(v, sender="@alice:b"))
case(
    "create: v12 create with a room_id", "create.room_id", lambda rv: rv.room_id_from_create_event
)(lambda v: _create(v, room_id="!room:a"))
case("create: known room_version")(lambda v: _create(v, {"room_version": "1"}))
case("create: unknown room_version", "create.room_version")(
    lambda v: _create(v, {"room_version": "99"})
)
case("create: no creator", unless("implicit_room_creator", "create.creator"))(
    lambda v: _create(v, {"creator": None}, drop=["creator"])
)
case("create: additional_creators")(lambda v: _create(v, {"additional_creators": [ERIN]}))
case(
    "create: additional_creators not user IDs",
    when("privileged_creators", "create.additional_creators"),
)(lambda v: _create(v, {"additional_creators": [ERIN, "erin"]}))
case(
    "create: additional_creators not a list",
    when("privileged_creators", "create.additional_creators"),
)(lambda v: _create(v, {"additional_creators": ERIN}))


# Rule 2 (v12: 2 and 3): the create event and the auth events
def _no_create(v: str) -> tuple[Room, Event]:
    r = room(v)
    del r.state[CREATE_KEY]
    return r, r.message(BOB)


case("message", None)(lambda v: (r := room(v), r.message(BOB)))
case("no create event", when("room_id_from_create_event", "room_id", "auth_events.no_create"))(
    _no_create
)
case("event in another room", when("room_id_from_create_event", "room_id", "auth_events.room_id"))(
    lambda v: (r := room(v), r.message(BOB, room_id="!other:a"))
)


def _foreign_auth_event(v: str) -> tuple[Room, Event]:
    r = room(v)
    r.state[PL_KEY] = {**r.state[PL_KEY], "room_id": "!elsewhere:a"}
    return r, r.message(BOB)


case("auth event in another room", "auth_events.room_id")(_foreign_auth_event)

# Rule 3 (v12: 4): m.federate
case("unfederated room, same server")(
    lambda v: (r := room(v, members={DAVE: "join"}, create={"m.federate": False}), r.message(DAVE))
)
case("unfederated room, other server", "federate")(
    lambda v: (r := room(v, create={"m.federate": False}), r.message(BOB))
)

# Rule 4 (v1-v5): m.room.aliases
case("aliases for own domain by a non-member", unless("special_case_aliases_auth", "joined"))(
    lambda v: (r := room(v), r.make("m.room.aliases", {"aliases": ["#x:c"]}, CAROL, "c"))
)
case(
    "aliases for another domain",
    when("special_case_aliases_auth", "aliases.domain", "required_level"),
)(lambda v: (r := room(v), r.make("m.room.aliases", {"aliases": []}, BOB, "a")))
case("aliases without state_key", when("special_case_aliases_auth", "aliases.state_key", "joined"))(
    lambda v: (r := room(v), r.make("m.room.aliases", {"aliases": []}, CAROL))
)

# Membership: join
case("creator's first join")(lambda v: (r := Room(v), r.member(ALICE, "join")))
case("first join by a non-creator", "member.join.otherwise")(
    lambda v: (r := Room(v), r.member(BOB, "join"))
)
case("creator's join after another event", "member.join.otherwise")(
    lambda v: (
        r := Room(v),
        r.make("m.room.member", {"membership": "join"}, ALICE, ALICE, prev=[r.create_id, "$x:a"]),
    )
)
case("creator's join sent by another user", "member.join.sender")(
    lambda v: (r := Room(v), r.member(ALICE, "join", sender=BOB))
)
case(
    "first join: create sender, content.creator is another",
    unless("implicit_room_creator", "member.join.otherwise"),
)(lambda v: (r := Room(v, create_content={"creator": BOB}), r.member(ALICE, "join")))
case(
    "first join: content.creator, not the sender",
    when("implicit_room_creator", "member.join.otherwise"),
)(lambda v: (r := Room(v, create_content={"creator": BOB}), r.member(BOB, "join")))
case("first join by an additional creator", "member.join.otherwise")(
    lambda v: (r := Room(v, create_content={"additional_creators": [ERIN]}), r.member(ERIN, "join"))
)
case("join a public room")(lambda v: (r := room(v), r.member(CAROL, "join")))
case("join a public room while banned", "member.join.banned")(
    lambda v: (r := room(v, members={CAROL: "ban"}), r.member(CAROL, "join"))
)
case("join someone else", "member.join.sender")(
    lambda v: (r := room(v), r.member(CAROL, "join", sender=BOB))
)
case("join an invite room when invited")(
    lambda v: (r := room(v, "invite", members={CAROL: "invite"}), r.member(CAROL, "join"))
)
case("join an invite room uninvited", "member.join.otherwise")(
    lambda v: (r := room(v, "invite"), r.member(CAROL, "join"))
)
case("profile change in a room without join rules")(
    lambda v: (r := room(v, None), r.member(BOB, "join", displayname="Bob"))
)
case("join a room without join rules uninvited", "member.join.otherwise")(
    lambda v: (r := room(v, None), r.member(CAROL, "join"))
)
case("join a private room", "member.join.otherwise")(
    lambda v: (r := room(v, "private"), r.member(CAROL, "join"))
)
case("join a knock room when invited", unless("knock_join_rule", "member.join.otherwise"))(
    lambda v: (r := room(v, "knock", members={CAROL: "invite"}), r.member(CAROL, "join"))
)
case("join a knock room uninvited", "member.join.otherwise")(
    lambda v: (r := room(v, "knock"), r.member(CAROL, "join"))
)
case(
    "restricted join authorised by a member",
    unless("restricted_join_rule", "member.join.otherwise"),
)(lambda v: (r := room(v, "restricted"), r.member(CAROL, "join", **{VIA: ALICE})))
case("restricted join when invited", unless("restricted_join_rule", "member.join.otherwise"))(
    lambda v: (r := room(v, "restricted", members={CAROL: "invite"}), r.member(CAROL, "join"))
)
case(
    "restricted join without authoriser",
    when("restricted_join_rule", "member.join.restricted.authoriser", "member.join.otherwise"),
)(lambda v: (r := room(v, "restricted"), r.member(CAROL, "join")))
case(
    "restricted join authorised by a non-member",
    when("restricted_join_rule", "member.join.restricted.authoriser", "member.join.otherwise"),
)(lambda v: (r := room(v, "restricted"), r.member(CAROL, "join", **{VIA: DAVE})))
case(
    "restricted join authorised by a member who cannot invite",
    when("restricted_join_rule", "member.join.restricted.authoriser", "member.join.otherwise"),
)(
    lambda v: (
        r := room(v, "restricted", pl={"invite": 50}, members={DAVE: "join"}),
        r.member(CAROL, "join", **{VIA: DAVE}),
    )
)
case(
    "knock_restricted join authorised",
    unless("knock_restricted_join_rule", "member.join.otherwise"),
)(lambda v: (r := room(v, "knock_restricted"), r.member(CAROL, "join", **{VIA: ALICE})))

# Membership: invite
case("invite by a member")(lambda v: (r := room(v), r.member(CAROL, "invite", ALICE)))
case("invite by a non-member", "member.invite.sender")(
    lambda v: (r := room(v), r.member(CAROL, "invite", DAVE))
)
case("invite a joined user", "member.invite.target")(
    lambda v: (r := room(v), r.member(BOB, "invite", ALICE))
)
case("invite a banned user", "member.invite.target")(
    lambda v: (r := room(v, members={CAROL: "ban"}), r.member(CAROL, "invite", ALICE))
)
case("invite at the invite level")(
    lambda v: (r := room(v, pl={"invite": 50, "users": {BOB: 50}}), r.member(CAROL, "invite", BOB))
)
case("invite below the invite level", "member.invite.otherwise")(
    lambda v: (r := room(v, pl={"invite": 50}), r.member(CAROL, "invite", BOB))
)

# Membership: third-party invites (rule 4.4.1, v11)
case("third-party invite")(lambda v: third_party_invite(v))
case("third-party invite, key in public_keys, URL-safe")(
    lambda v: third_party_invite(v, listed=True)
)
case("third-party invite, forged signature", "member.invite.third_party.otherwise")(
    lambda v: third_party_invite(v, key=FORGER_KEY)
)
case("third-party invite, target banned", "member.invite.third_party.banned")(
    lambda v: third_party_invite(v, members={CAROL: "ban"})
)
case("third-party invite, no signed", "member.invite.third_party.signed")(
    lambda v: third_party_invite(v, signed=None)
)
case("third-party invite, no token", "member.invite.third_party.fields")(
    lambda v: third_party_invite(v, signed={"mxid": CAROL, "signatures": {}})
)
case("third-party invite, mxid is another user", "member.invite.third_party.mxid")(
    lambda v: third_party_invite(v, mxid=DAVE)
)
case("third-party invite, unknown token", "member.invite.third_party.token")(
    lambda v: third_party_invite(v, token="other")
)
case("third-party invite, sent by another user", "member.invite.third_party.sender")(
    lambda v: third_party_invite(v, sender=BOB)
)

# Membership: leave
case("leave")(lambda v: (r := room(v), r.member(BOB, "leave")))
case("reject an invite")(
    lambda v: (r := room(v, members={CAROL: "invite"}), r.member(CAROL, "leave"))
)
case("leave without being in the room", "member.leave.self")(
    lambda v: (r := room(v), r.member(CAROL, "leave"))
)
case("rescind a knock", unless("knock_join_rule", "member.leave.self"))(
    lambda v: (r := room(v, "knock", members={CAROL: "knock"}), r.member(CAROL, "leave"))
)
case("kick")(lambda v: (r := room(v), r.member(BOB, "leave", ALICE)))
case("kick by a non-member", "member.leave.sender")(
    lambda v: (r := room(v), r.member(BOB, "leave", DAVE))
)
case("kick below the kick level", "member.leave.otherwise")(
    lambda v: (
        r := room(v, pl={"users": {BOB: 40}}, members={DAVE: "join"}),
        r.member(DAVE, "leave", BOB),
    )
)
case("kick an equal", "member.leave.otherwise")(
    lambda v: (
        r := room(v, pl={"users": {BOB: 50, DAVE: 50}}, members={DAVE: "join"}),
        r.member(DAVE, "leave", BOB),
    )
)
case("unban")(lambda v: (r := room(v, members={CAROL: "ban"}), r.member(CAROL, "leave", ALICE)))
case("unban below the ban level", "member.leave.banned")(
    lambda v: (
        r := room(v, pl={"ban": 75, "users": {BOB: 60}}, members={CAROL: "ban"}),
        r.member(CAROL, "leave", BOB),
    )
)

# Membership: ban
case("ban")(lambda v: (r := room(v), r.member(BOB, "ban", ALICE)))
case("ban a non-member")(lambda v: (r := room(v), r.member(CAROL, "ban", ALICE)))
case("ban by a non-member", "member.ban.sender")(
    lambda v: (r := room(v), r.member(BOB, "ban", DAVE))
)
case("ban below the ban level", "member.ban.otherwise")(
    lambda v: (r := room(v, pl={"users": {BOB: 40}}), r.member(CAROL, "ban", BOB))
)
case("ban a higher user", "member.ban.otherwise")(
    lambda v: (r := room(v, pl={"users": {BOB: 50}}), r.member(ALICE, "ban", BOB))
)
_ERIN_ROOM: dict[str, Any] = {"members": {ERIN: "join"}, "create": {"additional_creators": [ERIN]}}
case("additional creator bans a member", unless("privileged_creators", "member.ban.otherwise"))(
    lambda v: (r := room(v, **_ERIN_ROOM), r.member(BOB, "ban", ERIN))
)
case("additional creator bans the creator", "member.ban.otherwise")(
    lambda v: (r := room(v, **_ERIN_ROOM), r.member(ALICE, "ban", ERIN))
)
case("admin bans an additional creator", when("privileged_creators", "member.ban.otherwise"))(
    lambda v: (
        r := room(
            v,
            pl={"users": {DAVE: 100}},
            members={DAVE: "join"},
            create={"additional_creators": [ERIN]},
        ),
        r.member(ERIN, "ban", DAVE),
    )
)

# Membership: knock (v7+)
case("knock", unless("knock_join_rule", "member.unknown"))(
    lambda v: (r := room(v, "knock"), r.member(CAROL, "knock"))
)
case("knock on a public room", when("knock_join_rule", "member.knock.join_rule", "member.unknown"))(
    lambda v: (r := room(v), r.member(CAROL, "knock"))
)
case(
    "knock on a knock_restricted room",
    lambda rv: (
        None
        if rv.knock_restricted_join_rule
        else ("member.knock.join_rule" if rv.knock_join_rule else "member.unknown")
    ),
)(lambda v: (r := room(v, "knock_restricted"), r.member(CAROL, "knock")))
case("knock for another user", when("knock_join_rule", "member.knock.sender", "member.unknown"))(
    lambda v: (r := room(v, "knock"), r.member(CAROL, "knock", BOB))
)
case("knock while joined", when("knock_join_rule", "member.knock.otherwise", "member.unknown"))(
    lambda v: (r := room(v, "knock"), r.member(BOB, "knock"))
)
case("knock while banned", when("knock_join_rule", "member.knock.otherwise", "member.unknown"))(
    lambda v: (r := room(v, "knock", members={CAROL: "ban"}), r.member(CAROL, "knock"))
)

# Membership: shape and unknown values
case("member event without membership", "member.shape")(
    lambda v: (r := room(v), r.make("m.room.member", {}, BOB, BOB))
)
case("member event without state_key", "member.shape")(
    lambda v: (r := room(v), r.make("m.room.member", {"membership": "join"}, BOB))
)
case("unknown membership", "member.unknown")(lambda v: (r := room(v), r.member(BOB, "dance")))

# Other events: the sender must be joined, then levels
case("message by a non-member", "joined")(lambda v: (r := room(v), r.message(CAROL)))
case("message by an invited user", "joined")(
    lambda v: (r := room(v, members={CAROL: "invite"}), r.message(CAROL))
)
case("message below its events level", "required_level")(
    lambda v: (r := room(v, pl={"events": {"m.room.message": 10}}), r.message(BOB))
)
case("state event at state_default")(
    lambda v: (r := room(v, pl={"users": {BOB: 50}}), r.make("m.room.name", {"name": "x"}, BOB, ""))
)
case("state event below state_default", "required_level")(
    lambda v: (r := room(v), r.make("m.room.name", {"name": "x"}, BOB, ""))
)
case("third_party_invite at the invite level, above its events level")(
    lambda v: (
        r := room(v, pl={"events": {"m.room.third_party_invite": 100}}),
        r.make("m.room.third_party_invite", {"display_name": "x"}, BOB, "t"),
    )
)
case("third_party_invite below the invite level", "third_party_invite")(
    lambda v: (
        r := room(v, pl={"invite": 50}),
        r.make("m.room.third_party_invite", {"display_name": "x"}, BOB, "t"),
    )
)
case("state_key of one's own user ID")(
    lambda v: (r := room(v, pl={"state_default": 0}), r.make("org.example", {}, BOB, BOB))
)
case("state_key of another user's ID", "state_key")(
    lambda v: (r := room(v, pl={"state_default": 0}), r.make("org.example", {}, BOB, ALICE))
)


# Power levels (v11 rule 9)
def _pl(
    v: str, sender: str = BOB, current: dict[str, Any] | None = None, **new: Any
) -> tuple[Room, Event]:
    """BOB (50) may send power levels (events[m.room.power_levels] = 50);
    DAVE (50) is joined. ``current`` and ``new`` override :func:`levels`."""
    base: dict[str, Any] = {"users": {BOB: 50, DAVE: 50}, "events": {"m.room.power_levels": 50}}
    r = room(v, pl={**base, **(current or {})}, members={DAVE: "join"})
    users = {**levels(v)["users"], BOB: 50, DAVE: 50, **new.pop("users", {})}
    content = levels(v, **{**base, **new})
    content["users"] = {u: lvl for u, lvl in users.items() if lvl is not None}
    return r, r.make("m.room.power_levels", content, sender, "")


def _first_pl(v: str, **content: Any) -> tuple[Room, Event]:
    r = Room(v)
    r.set_member(ALICE, "join")
    return r, r.make("m.room.power_levels", levels(v, **content), ALICE, "")


case("first power levels")(lambda v: _first_pl(v))
case("power levels: no change")(lambda v: _pl(v))
case("power levels: grant one's own level")(lambda v: _pl(v, users={CAROL: 50}))
case("power levels: grant above one's own level", "power_levels.users_new")(
    lambda v: _pl(v, users={CAROL: 51})
)
case("power levels: raise oneself", "power_levels.users_new")(lambda v: _pl(v, users={BOB: 60}))
case("power levels: demote oneself")(lambda v: _pl(v, users={BOB: 10}))
case("power levels: demote an equal", "power_levels.users_old")(lambda v: _pl(v, users={DAVE: 0}))
case("power levels: remove an equal", "power_levels.users_old")(
    lambda v: _pl(v, users={DAVE: None})
)
case(
    "power levels: demote the creator",
    when("privileged_creators", "power_levels.creators", "power_levels.users_old"),
)(lambda v: _pl(v, users={ALICE: 0}))
case("power levels: lower a level key")(lambda v: _pl(v, ban=40))
case("power levels: raise a level key above one's own", "power_levels.keys")(
    lambda v: _pl(v, ban=60)
)
case("power levels: change a level key that is above one's own", "power_levels.keys")(
    lambda v: _pl(v, current={"kick": 60}, kick=10)
)
case("power levels: add an event level at one's own")(
    lambda v: _pl(v, events={"m.room.power_levels": 50, "m.room.name": 50})
)
case("power levels: add an event level above one's own", "power_levels.events_new")(
    lambda v: _pl(v, events={"m.room.power_levels": 50, "m.room.name": 60})
)
case("power levels: remove an event level above one's own", "power_levels.events_old")(
    lambda v: _pl(v, current={"events": {"m.room.power_levels": 50, "m.room.topic": 60}})
)
case("power levels: notifications at one's own")(lambda v: _pl(v, notifications={"room": 50}))
case(
    "power levels: notifications above one's own",
    when("limit_notifications_power_levels", "power_levels.events_new"),
)(lambda v: _pl(v, notifications={"room": 60}))
case("power levels: string user level", when("enforce_int_power_levels", "power_levels.users"))(
    lambda v: _pl(v, users={CAROL: "10"})
)
case("power levels: string level key", when("enforce_int_power_levels", "power_levels.levels"))(
    lambda v: _pl(v, ban=" +40 ")
)
case("power levels: string event level", when("enforce_int_power_levels", "power_levels.maps"))(
    lambda v: _pl(v, events={"m.room.power_levels": "50"})
)
case("power levels: float user level", when("strict_canonical_json", "power_levels.users"))(
    lambda v: _pl(v, users={CAROL: 10.5})
)
case("power levels: boolean user level", "power_levels.users")(
    lambda v: _pl(v, users={CAROL: True})
)
case("power levels: users key not a user ID", "power_levels.users")(
    lambda v: _pl(v, users={"carol": 10})
)
case("power levels: creator listed in users", when("privileged_creators", "power_levels.creators"))(
    lambda v: _first_pl(v, users={ALICE: 100})
)
case(
    "power levels: additional creator listed", when("privileged_creators", "power_levels.creators")
)(
    lambda v: (
        r := room(v, **_ERIN_ROOM),
        r.make("m.room.power_levels", levels(v, users={ERIN: 0}), ALICE, ""),
    )
)
case(
    "power levels: additional creator's unbounded power",
    unless("privileged_creators", "required_level"),
)(
    lambda v: (
        r := room(v, **_ERIN_ROOM),
        r.make("m.room.power_levels", levels(v, users={BOB: 10**9}, ban=10**9), ERIN, ""),
    )
)


# Redactions: rule 11 in v1-v2 only
def _redaction(v: str, sender: str, server: str, **pl: Any) -> tuple[Room, Event]:
    r = room(v, pl=pl)
    rv = room_version(v)
    target = f"$original:{server}" if not rv.event_ids_are_hashes else "$originalhash"
    if rv.updated_redaction_rules:
        return r, r.make("m.room.redaction", {"redacts": target}, sender)
    return r, r.make("m.room.redaction", {}, sender, redacts=target)


case("redaction at the redact level")(lambda v: _redaction(v, ALICE, "b"))
case("redaction of an event of one's own server")(lambda v: _redaction(v, BOB, "b"))
case("redaction below the redact level", when("redaction_auth_rule", "redaction.otherwise"))(
    lambda v: _redaction(v, BOB, "a")
)
case("redaction below its events level", "required_level")(
    lambda v: _redaction(v, BOB, "b", events={"m.room.redaction": 10})
)


@pytest.mark.parametrize(
    ("row", "version"),
    [
        pytest.param(row, v, id=f"{row.name}-v{v}")
        for row in CASES
        for v in VERSIONS
        if row.applies(room_version(v))
    ],
)
def test_rule(row: Case, version: str) -> None:
    built, event = row.build(version)
    expected = row.expected(room_version(version))
    if expected is None:
        built.check(event)
        return
    with pytest.raises(AuthError) as caught:
        built.check(event)
    assert caught.value.rule == expected, caught.value.message
    assert caught.value.errcode == "M_FORBIDDEN"


#: Rules that only allow, or that the caller checks (2.3 rejected auth
#: events; v8+ 4.2, the authorising server's signature).
NOT_REJECTING = {
    "auth_events.rejected",
    "member.authorised_via",
    "member.join.creator",
    "member.join.invite",
    "member.join.public",
    "member.join.restricted.member",
    "member.invite.third_party.signature",
    "member.invite.level",
    "member.leave.level",
    "member.ban.level",
    "member.knock.membership",
    "power_levels.no_previous",
    "redaction.level",
    "redaction.domain",
}
#: Rejections tested by test_check_auth_events_selection.
SELECTION_RULES = {"auth_events.duplicates", "auth_events.selection"}


def test_every_rejecting_rule_has_a_row() -> None:
    """Every rule that can reject, in any version, is the expected outcome of a row."""
    leaves: set[str] = set()
    for v in VERSIONS:
        keys = set(rule_numbers(room_version(v)))
        leaves |= {k for k in keys if not any(other.startswith(k + ".") for other in keys)}
    covered = {
        row.expected(room_version(v))
        for row in CASES
        for v in VERSIONS
        if row.applies(room_version(v))
    }
    assert leaves - NOT_REJECTING - SELECTION_RULES - covered == set()
    assert None in covered
