"""The authorisation rules, rule by rule, in every room version (table-driven).

Each row of :data:`CASES` builds a room and one event in room versions 1-12
and says what the rules must decide: allowed (None) or the key of the rule
that rejects it (``AuthError.rule``), possibly depending on the version's
flags. Most rules have an allowed and a forbidden row.

Events have the format of their room version: v1/v2 carry an ``event_id``
(``$n:server``) and cite ``[id, {hashes}]`` pairs; v3+ carry no ID (the
builder gives each a fake one, ``$fake-n``, used where other events cite it
and passed to ``check_auth`` as the create event's ID); v12 create events
have no ``room_id`` and the room ID is ``!`` + the create event's ID.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import canonicaljson
import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trioserver.protocol.auth import (
    AuthError,
    auth_event_types,
    authorising_server,
    check_auth,
    check_auth_events_selection,
)
from trioserver.protocol.auth_context import rule_numbers
from trioserver.protocol.hashes import compute_event_id
from trioserver.protocol.room_versions import RoomVersion, room_version

Event = dict[str, Any]
Key = tuple[str, str]

ALICE = "@alice:a"  # creates the room
BOB = "@bob:b"
CAROL = "@carol:c"
DAVE = "@dave:a"
ERIN = "@erin:e"  # the v12 additional creator, in the rooms that have one

VERSIONS = [str(n) for n in range(1, 13)]
CREATE_KEY = ("m.room.create", "")
PL_KEY = ("m.room.power_levels", "")


# --- the builder ----------------------------------------------------------------


def domain(user_id: str) -> str:
    return user_id.split(":", 1)[1]


class Room:
    """One room: its create event, its current state, and its events' IDs."""

    def __init__(self, version: str, *, create_content: dict[str, Any] | None = None) -> None:
        self.version = version
        self.rv: RoomVersion = room_version(version)
        self.state: dict[Key, Event] = {}
        self.ids: dict[int, str] = {}  # id(event) -> event ID
        self._count = 0
        self.room_id = "!room:a"
        self.create = self.make("m.room.create", self.create_content(create_content), ALICE, "")
        if self.rv.room_id_from_create_event:
            self.room_id = "!" + self.create_id[1:]
        self.state[CREATE_KEY] = self.create
        self.last = self.create_id

    def create_content(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        content: dict[str, Any] = {"room_version": self.version}
        if not self.rv.implicit_room_creator:
            content["creator"] = ALICE
        content.update(extra or {})
        return content

    @property
    def create_id(self) -> str:
        return self.ids[id(self.create)]

    def _cite(self, ids: list[str]) -> list[Any]:
        if self.rv.event_ids_are_hashes:
            return list(ids)
        return [[event_id, {"sha256": "aGFzaA"}] for event_id in ids]

    def make(
        self,
        event_type: str,
        content: dict[str, Any],
        sender: str,
        state_key: str | None = None,
        *,
        prev: list[str] | None = None,
        **fields: Any,
    ) -> Event:
        """A PDU citing what auth events selection names in the current state."""
        self._count += 1
        fake_id = (
            f"$fake-{self._count}"
            if self.rv.event_ids_are_hashes
            else f"${self._count}:{domain(sender)}"
        )
        event: Event = {
            "type": event_type,
            "sender": sender,
            "content": content,
            "origin_server_ts": 1000 + self._count,
            "depth": self._count,
            "hashes": {"sha256": "aGFzaA"},
            "signatures": {},
        }
        if not (event_type == "m.room.create" and self.rv.room_id_from_create_event):
            event["room_id"] = self.room_id
        if state_key is not None:
            event["state_key"] = state_key
        if not self.rv.event_ids_are_hashes:
            event["event_id"] = fake_id
        event.update(fields)
        if event_type == "m.room.create":
            prev = [] if prev is None else prev
        event["prev_events"] = self._cite([self.last] if prev is None else prev)
        event["auth_events"] = self._cite(
            [self.ids.get(id(e), "$other") for e in self.cited(event)]
        )
        self.ids[id(event)] = fake_id
        return event

    def cited(self, event: Event) -> list[Event]:
        keys = auth_event_types(event, self.version)
        return [self.state[k] for k in sorted(keys) if k in self.state]

    def put(self, event_type: str, state_key: str, content: dict[str, Any], sender: str) -> Event:
        """Add a state event to the current state, unchecked."""
        event = self.make(event_type, content, sender, state_key)
        self.state[(event_type, state_key)] = event
        self.last = self.ids[id(event)]
        return event

    def member(
        self, user: str, membership: str, sender: str | None = None, **content: Any
    ) -> Event:
        """An ``m.room.member`` event for ``user`` (not added to the state)."""
        return self.make(
            "m.room.member", {"membership": membership, **content}, sender or user, user
        )

    def set_member(self, user: str, membership: str, sender: str | None = None) -> None:
        self.put("m.room.member", user, {"membership": membership}, sender or user)

    def message(self, sender: str, **fields: Any) -> Event:
        return self.make("m.room.message", {"body": "hi"}, sender, **fields)

    def check(self, event: Event) -> None:
        check_auth(event, self.state, self.version, create_event_id=self.create_id)


def levels(version: str, **overrides: Any) -> dict[str, Any]:
    """Power levels giving ALICE 100 (v12: nothing, she is a creator) and
    others 0, with the spec's defaults written out; ``users`` overrides merge."""
    rv = room_version(version)
    users = {} if rv.privileged_creators else {ALICE: 100}
    users.update(overrides.pop("users", {}))
    content: dict[str, Any] = {
        "users": users,
        "users_default": 0,
        "events": {"m.room.power_levels": 100},
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 0,
    }
    content.update(overrides)
    return content


def room(
    version: str,
    join_rule: str | None = "public",
    pl: dict[str, Any] | None = None,
    members: dict[str, str] | None = None,
    create: dict[str, Any] | None = None,
) -> Room:
    """A room ALICE created and joined, with power levels (:func:`levels`
    with ``pl`` as overrides), a join rule, BOB joined, then ``members``."""
    built = Room(version, create_content=create)
    built.set_member(ALICE, "join")
    built.put("m.room.power_levels", "", levels(version, **(pl or {})), ALICE)
    if join_rule is not None:
        built.put("m.room.join_rules", "", {"join_rule": join_rule}, ALICE)
    built.set_member(BOB, "join")
    for user, membership in (members or {}).items():
        built.set_member(user, membership, user if membership in ("join", "knock") else ALICE)
    return built


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
_VIA = "join_authorised_via_users_server"
case(
    "restricted join authorised by a member",
    unless("restricted_join_rule", "member.join.otherwise"),
)(lambda v: (r := room(v, "restricted"), r.member(CAROL, "join", **{_VIA: ALICE})))
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
)(lambda v: (r := room(v, "restricted"), r.member(CAROL, "join", **{_VIA: DAVE})))
case(
    "restricted join authorised by a member who cannot invite",
    when("restricted_join_rule", "member.join.restricted.authoriser", "member.join.otherwise"),
)(
    lambda v: (
        r := room(v, "restricted", pl={"invite": 50}, members={DAVE: "join"}),
        r.member(CAROL, "join", **{_VIA: DAVE}),
    )
)
case(
    "knock_restricted join authorised",
    unless("knock_restricted_join_rule", "member.join.otherwise"),
)(lambda v: (r := room(v, "knock_restricted"), r.member(CAROL, "join", **{_VIA: ALICE})))

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
IDENTITY_KEY = nacl.signing.SigningKey(b"\x01" * 32)
FORGER_KEY = nacl.signing.SigningKey(b"\x02" * 32)


def _b64(data: bytes, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(data).decode().rstrip("=")


def _signed(mxid: str, token: str, key: nacl.signing.SigningKey) -> dict[str, Any]:
    signed: dict[str, Any] = {"mxid": mxid, "token": token}
    signature = key.sign(canonicaljson.encode_canonical_json(signed)).signature
    return {**signed, "signatures": {"id.example": {"ed25519:0": _b64(signature)}}}


def _third_party(
    v: str,
    *,
    key: nacl.signing.SigningKey = IDENTITY_KEY,
    mxid: str = CAROL,
    token: str = "tok",
    sender: str = ALICE,
    listed: bool = False,
    members: dict[str, str] | None = None,
    signed: Any = "sign",
) -> tuple[Room, Event]:
    r = room(v, members=members)
    public = IDENTITY_KEY.verify_key.encode()
    content: dict[str, Any] = {"display_name": "c...", "key_validity_url": "https://id.example/v"}
    if listed:
        content["public_key"] = "bm90IGEga2V5"
        content["public_keys"] = [{"public_key": _b64(public, urlsafe=True)}]
    else:
        content["public_key"] = _b64(public)
    r.put("m.room.third_party_invite", "tok", content, ALICE)
    invite: dict[str, Any] = {"display_name": "c..."}
    if signed == "sign":
        invite["signed"] = _signed(mxid, token, key)
    elif signed is not None:
        invite["signed"] = signed
    return r, r.member(CAROL, "invite", sender, third_party_invite=invite)


case("third-party invite")(lambda v: _third_party(v))
case("third-party invite, key in public_keys, URL-safe")(lambda v: _third_party(v, listed=True))
case("third-party invite, forged signature", "member.invite.third_party.otherwise")(
    lambda v: _third_party(v, key=FORGER_KEY)
)
case("third-party invite, target banned", "member.invite.third_party.banned")(
    lambda v: _third_party(v, members={CAROL: "ban"})
)
case("third-party invite, no signed", "member.invite.third_party.signed")(
    lambda v: _third_party(v, signed=None)
)
case("third-party invite, no token", "member.invite.third_party.fields")(
    lambda v: _third_party(v, signed={"mxid": CAROL, "signatures": {}})
)
case("third-party invite, mxid is another user", "member.invite.third_party.mxid")(
    lambda v: _third_party(v, mxid=DAVE)
)
case("third-party invite, unknown token", "member.invite.third_party.token")(
    lambda v: _third_party(v, token="other")
)
case("third-party invite, sent by another user", "member.invite.third_party.sender")(
    lambda v: _third_party(v, sender=BOB)
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
    invite = _third_party(version)[1]
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
    join = r.member(CAROL, "join", **{_VIA: DAVE})
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
