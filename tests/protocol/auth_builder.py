"""The room builder of the authorisation-rule tests: a room of any version
with its create event, state and event IDs, and events in that version's
format.

Events have the format of their room version: v1/v2 carry an ``event_id``
(``$n:server``) and cite ``[id, {hashes}]`` pairs; v3+ carry no ID (the
builder gives each a fake one, ``$fake-n``, used where other events cite it
and passed to ``check_auth`` as the create event's ID); v12 create events
have no ``room_id`` and the room ID is ``!`` + the create event's ID."""

from __future__ import annotations

import base64
from typing import Any

import canonicaljson
import nacl.signing

from trioserver.protocol.auth import (
    auth_event_types,
    check_auth,
)
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


#: The restricted-join field naming the authorising user.
VIA = "join_authorised_via_users_server"

# Third-party invites (rule 4.4.1, v11): an identity server key and a forger's.
IDENTITY_KEY = nacl.signing.SigningKey(b"\x01" * 32)
FORGER_KEY = nacl.signing.SigningKey(b"\x02" * 32)


def _b64(data: bytes, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(data).decode().rstrip("=")


def _signed(mxid: str, token: str, key: nacl.signing.SigningKey) -> dict[str, Any]:
    signed: dict[str, Any] = {"mxid": mxid, "token": token}
    signature = key.sign(canonicaljson.encode_canonical_json(signed)).signature
    return {**signed, "signatures": {"id.example": {"ed25519:0": _b64(signature)}}}


def third_party_invite(
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
