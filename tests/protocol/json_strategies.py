"""Hypothesis strategies for JSON values and PDU-shaped events, shared by the
tests of trioserver.protocol.{json,signing,hashes,redaction}."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from trioserver.protocol.json import CANONICAL_INT_MAX, CANONICAL_INT_MIN

DATA = Path(__file__).parent.parent / "data"


def load_vectors(relative: str) -> Any:
    """A JSON file under tests/data (see the SOURCES.md next to it)."""
    return json.loads((DATA / relative).read_text(encoding="utf-8"))


ALL_VERSIONS = [str(n) for n in range(1, 13)]

#: Scalars of the canonical JSON value domain (st.text() has no surrogates).
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(CANONICAL_INT_MIN, CANONICAL_INT_MAX)
    | st.text(max_size=12)
)

json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)

json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=6)

EVENT_TYPES = [
    "m.room.member",
    "m.room.create",
    "m.room.join_rules",
    "m.room.power_levels",
    "m.room.aliases",
    "m.room.history_visibility",
    "m.room.redaction",
    "m.room.message",
    "org.example.custom",
]

#: Content keys that some redaction rule keeps, and some that none keeps.
CONTENT_KEYS = [
    "membership",
    "join_authorised_via_users_server",
    "creator",
    "join_rule",
    "allow",
    "ban",
    "events",
    "events_default",
    "invite",
    "kick",
    "redact",
    "state_default",
    "users",
    "users_default",
    "aliases",
    "history_visibility",
    "redacts",
    "body",
    "displayname",
]

_third_party_invite = st.one_of(
    st.dictionaries(st.sampled_from(["signed", "display_name"]), json_values, max_size=2),
    json_scalars,
)

event_contents = st.builds(
    lambda base, tpi: base if tpi is None else {**base, "third_party_invite": tpi[0]},
    st.dictionaries(st.sampled_from(CONTENT_KEYS) | st.text(max_size=6), json_values, max_size=6),
    st.none() | st.tuples(_third_party_invite),
)

#: Events shaped like PDUs, with the top-level keys that redaction treats
#: specially (``origin``, ``membership``, ``prev_state``, ``redacts``,
#: ``unsigned``, ``age_ts``...) present or not.
events = st.fixed_dictionaries(
    {
        "type": st.sampled_from(EVENT_TYPES),
        "sender": st.just("@alice:example.org"),
        "room_id": st.just("!room:example.org"),
        "content": event_contents,
        "origin_server_ts": st.integers(0, CANONICAL_INT_MAX),
        "depth": st.integers(0, 1000),
        "prev_events": st.lists(st.just("$prev"), max_size=2),
        "auth_events": st.lists(st.just("$auth"), max_size=2),
    },
    optional={
        "state_key": st.text(max_size=10),
        "origin": st.just("example.org"),
        "membership": st.just("join"),
        "prev_state": json_values,
        "redacts": st.just("$redacted"),
        "unsigned": json_objects,
        "age_ts": st.integers(0, 10**12),
        "hashes": st.fixed_dictionaries({"sha256": st.text(max_size=4)}),
        "signatures": st.dictionaries(
            st.sampled_from(["example.org", "other.example"]),
            st.dictionaries(st.sampled_from(["ed25519:a", "ed25519:b"]), st.text(max_size=4)),
            max_size=2,
        ),
        "extra": json_values,
    },
)
