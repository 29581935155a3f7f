"""The redaction algorithm of every room version (spec: client-server API,
"Redactions", and the room versions: ``rooms/fragments/v1-redactions.md``,
``v6-redactions.md``, ``v9-redactions.md``, ``v11-redactions.md``).

Redaction keeps only the top-level keys and content keys that the auth rules,
hashes and signatures need; everything else is dropped. The differences
between room versions are read from :class:`RoomVersion` flags:

* ``special_case_aliases_auth`` (v1-v5): ``m.room.aliases`` keeps ``aliases``.
* ``restricted_join_rule`` (v8+): ``m.room.join_rules`` keeps ``allow``.
* ``restricted_join_rule_fix`` (v9+): ``m.room.member`` keeps
  ``join_authorised_via_users_server``.
* ``updated_redaction_rules`` (v11+): top-level ``origin``, ``membership`` and
  ``prev_state`` are no longer kept; ``m.room.create`` keeps all of its
  content; ``m.room.power_levels`` keeps ``invite``; ``m.room.redaction``
  keeps ``redacts``; ``m.room.member`` keeps ``third_party_invite.signed``.
  Room v12 redacts exactly like v11.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trioserver.protocol.room_versions import RoomVersion, room_version

__all__ = ["redact"]

_TOP_LEVEL_KEYS = frozenset(
    {
        "event_id",
        "type",
        "room_id",
        "sender",
        "state_key",
        "content",
        "hashes",
        "signatures",
        "depth",
        "prev_events",
        "auth_events",
        "origin_server_ts",
    }
)
#: Also kept before the updated redaction rules of room v11.
_LEGACY_TOP_LEVEL_KEYS = _TOP_LEVEL_KEYS | {"origin", "membership", "prev_state"}

_POWER_LEVELS_KEYS = (
    "ban",
    "events",
    "events_default",
    "kick",
    "redact",
    "state_default",
    "users",
    "users_default",
)


def _kept_content_keys(event_type: object, version: RoomVersion) -> tuple[str, ...] | None:
    """The content keys kept for ``event_type``; None means all of them."""
    if event_type == "m.room.member":
        if version.restricted_join_rule_fix:
            return ("membership", "join_authorised_via_users_server")
        return ("membership",)
    if event_type == "m.room.create":
        return None if version.updated_redaction_rules else ("creator",)
    if event_type == "m.room.join_rules":
        return ("join_rule", "allow") if version.restricted_join_rule else ("join_rule",)
    if event_type == "m.room.power_levels":
        if version.updated_redaction_rules:
            return (*_POWER_LEVELS_KEYS, "invite")
        return _POWER_LEVELS_KEYS
    if event_type == "m.room.aliases":
        return ("aliases",) if version.special_case_aliases_auth else ()
    if event_type == "m.room.history_visibility":
        return ("history_visibility",)
    if event_type == "m.room.redaction":
        return ("redacts",) if version.updated_redaction_rules else ()
    return ()


def _redact_content(
    event_type: object, content: Mapping[str, Any], version: RoomVersion
) -> dict[str, Any]:
    keys = _kept_content_keys(event_type, version)
    if keys is None:
        return dict(content)
    kept = {key: content[key] for key in keys if key in content}
    if event_type == "m.room.member" and version.updated_redaction_rules:
        invite = content.get("third_party_invite")
        # The spec keeps the ``signed`` key of ``third_party_invite``. An object
        # without ``signed`` stays as ``{}``, which is what Synapse produces; the
        # signed bytes of redacted events must agree between implementations.
        if isinstance(invite, Mapping):
            kept["third_party_invite"] = {"signed": invite["signed"]} if "signed" in invite else {}
    return kept


def redact(event: Mapping[str, Any], version: RoomVersion | str) -> dict[str, Any]:
    """The redacted form of ``event`` under the rules of room ``version``.

    Returns a new dict and never modifies ``event`` (kept values are shared, not
    copied). ``unsigned`` is always dropped and ``content`` is always present
    (``{}`` if the event had none, or had a non-object ``content``).
    Redaction is idempotent: ``redact(redact(e, v), v) == redact(e, v)``.
    """
    rv = room_version(version) if isinstance(version, str) else version
    allowed = _TOP_LEVEL_KEYS if rv.updated_redaction_rules else _LEGACY_TOP_LEVEL_KEYS
    redacted = {key: value for key, value in event.items() if key in allowed}
    content = event.get("content")
    redacted["content"] = (
        _redact_content(event.get("type"), content, rv) if isinstance(content, Mapping) else {}
    )
    return redacted
