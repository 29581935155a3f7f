"""The authorisation rules for ``m.room.member`` events, every room version.

Rule numbers below are those of room v11 (``rooms/v11.md``, rule 4); v1-v5
call it rule 5 (the ``m.room.aliases`` rule comes first), v12 rule 5 (it adds
rule 2), and v1-v7 have no 4.2 (``join_authorised_via_users_server``), so
their join rules are 5.2.x / 4.2.x. Errors carry the version's own number.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator, Mapping
from typing import Any

import canonicaljson
import nacl.exceptions
import nacl.signing

from trioserver.protocol.auth_context import THIRD_PARTY_INVITE, AuthContext, content_of
from trioserver.protocol.events import prev_event_ids

_JOINED_OR_INVITED = ("join", "invite")


def check_member(ctx: AuthContext) -> None:
    """Rule 4 (v11): allow (return) or reject (raise) an ``m.room.member`` event."""
    event, content, rv = ctx.event, ctx.content, ctx.version
    target = event.get("state_key")
    membership = content.get("membership")
    if not isinstance(target, str) or not isinstance(membership, str):
        ctx.fail("member.shape", "no state_key, or no membership in content")
    # Rule 4.2 (v8+): a join_authorised_via_users_server must be signed for by
    # that user's server. Signatures are checked with the server's keys, which
    # pure code does not have: the caller checks it (auth.authorising_server).
    if membership == "join":
        _check_join(ctx, target)
    elif membership == "invite":
        _check_invite(ctx, target)
    elif membership == "leave":
        _check_leave(ctx, target)
    elif membership == "ban":
        _check_ban(ctx, target)
    elif membership == "knock" and rv.knock_join_rule:
        _check_knock(ctx, target)
    else:
        ctx.fail("member.unknown", f"unknown membership {membership!r}")


def _first_join_creator(ctx: AuthContext) -> str | None:
    """Who may make the first join: ``content.creator`` before v11, the
    create event's ``sender`` from v11 (not the v12 additional creators)."""
    if ctx.version.implicit_room_creator:
        sender = ctx.create.get("sender")
    else:
        sender = content_of(ctx.create).get("creator")
    return sender if isinstance(sender, str) else None


def _is_creators_first_join(ctx: AuthContext, target: str) -> bool:
    """Rule 4.3.1: the only previous event is the create event and the
    ``state_key`` is the creator. The joining user must also be the sender
    (the ``m.room.member`` schema: only a user can join themselves)."""
    prev = prev_event_ids(ctx.event)
    if len(prev) != 1 or target != _first_join_creator(ctx) or ctx.sender != target:
        return False
    create_id = ctx.create_id()
    return create_id is not None and prev[0] == create_id


def _check_join(ctx: AuthContext, target: str) -> None:
    """Rule 4.3 (v11): ``membership`` is ``join``."""
    rv = ctx.version
    if _is_creators_first_join(ctx, target):
        return
    if ctx.sender != target:
        ctx.fail("member.join.sender", "sender does not match state_key")
    current = ctx.membership(target)
    if current == "ban":
        ctx.fail("member.join.banned", "sender is banned")
    join_rule = ctx.join_rule()
    if join_rule == "invite" or (join_rule == "knock" and rv.knock_join_rule):
        if current in _JOINED_OR_INVITED:
            return
        ctx.fail("member.join.otherwise", f"join rule is {join_rule} and sender is not invited")
    if (join_rule == "restricted" and rv.restricted_join_rule) or (
        join_rule == "knock_restricted" and rv.knock_restricted_join_rule
    ):
        if current in _JOINED_OR_INVITED:
            return
        authoriser = ctx.content.get("join_authorised_via_users_server")
        if not isinstance(authoriser, str):
            ctx.fail(
                "member.join.restricted.authoriser",
                f"join rule is {join_rule}, sender is not invited and no user authorised the join",
            )
        if ctx.membership(authoriser) != "join":
            ctx.fail(
                "member.join.restricted.authoriser",
                f"authorising user {authoriser} is not joined",
            )
        if ctx.power(authoriser) < ctx.pl.invite:
            ctx.fail(
                "member.join.restricted.authoriser",
                f"authorising user {authoriser} may not invite",
            )
        return
    if join_rule == "public":
        return
    ctx.fail("member.join.otherwise", f"join rule {join_rule!r} does not let sender join")


def _check_invite(ctx: AuthContext, target: str) -> None:
    """Rule 4.4 (v11): ``membership`` is ``invite``."""
    if "third_party_invite" in ctx.content:
        _check_third_party_invite(ctx, target)
        return
    if ctx.membership(ctx.sender) != "join":
        ctx.fail("member.invite.sender", "sender is not joined")
    if ctx.membership(target) in ("join", "ban"):
        ctx.fail("member.invite.target", f"target is {ctx.membership(target)}")
    if ctx.power(ctx.sender) >= ctx.pl.invite:
        return
    ctx.fail("member.invite.otherwise", "sender's power level is below the invite level")


def _check_third_party_invite(ctx: AuthContext, target: str) -> None:
    """Rule 4.4.1 (v11): an invite exchanged for an ``m.room.third_party_invite``."""
    rule = "member.invite.third_party"
    if ctx.membership(target) == "ban":
        ctx.fail(f"{rule}.banned", "target is banned")
    third_party = ctx.content.get("third_party_invite")
    signed = third_party.get("signed") if isinstance(third_party, Mapping) else None
    if not isinstance(signed, Mapping):
        ctx.fail(f"{rule}.signed", "third_party_invite has no signed object")
    mxid, token = signed.get("mxid"), signed.get("token")
    if not isinstance(mxid, str) or not isinstance(token, str):
        ctx.fail(f"{rule}.fields", "signed has no mxid or no token")
    if mxid != target:
        ctx.fail(f"{rule}.mxid", "signed mxid does not match state_key")
    invite = ctx.auth_events.get((THIRD_PARTY_INVITE, token))
    if invite is None:
        ctx.fail(f"{rule}.token", "no m.room.third_party_invite for the token")
    if invite.get("sender") != ctx.sender:
        ctx.fail(f"{rule}.sender", "sender did not send the m.room.third_party_invite")
    if third_party_signature_valid(signed, content_of(invite)):
        return
    ctx.fail(f"{rule}.otherwise", "no signature in signed matches a public key of the invite")


def _check_leave(ctx: AuthContext, target: str) -> None:
    """Rule 4.5 (v11): ``membership`` is ``leave`` (leaving, kicks, unbans)."""
    current = ctx.membership(target)
    if ctx.sender == target:
        may_leave = (
            ("invite", "join", "knock") if ctx.version.knock_join_rule else ("invite", "join")
        )
        if current in may_leave:
            return
        ctx.fail("member.leave.self", f"sender cannot leave from membership {current!r}")
    if ctx.membership(ctx.sender) != "join":
        ctx.fail("member.leave.sender", "sender is not joined")
    sender_power = ctx.power(ctx.sender)
    if current == "ban" and sender_power < ctx.pl.ban:
        ctx.fail("member.leave.banned", "sender's power level is below the ban level")
    if sender_power >= ctx.pl.kick and ctx.power(target) < sender_power:
        return
    ctx.fail(
        "member.leave.otherwise",
        "sender's power level is below the kick level or not above the target's",
    )


def _check_ban(ctx: AuthContext, target: str) -> None:
    """Rule 4.6 (v11): ``membership`` is ``ban``."""
    if ctx.membership(ctx.sender) != "join":
        ctx.fail("member.ban.sender", "sender is not joined")
    sender_power = ctx.power(ctx.sender)
    if sender_power >= ctx.pl.ban and ctx.power(target) < sender_power:
        return
    ctx.fail(
        "member.ban.otherwise",
        "sender's power level is below the ban level or not above the target's",
    )


def _check_knock(ctx: AuthContext, target: str) -> None:
    """Rule 4.7 (v11; v7+): ``membership`` is ``knock``."""
    rv = ctx.version
    join_rule = ctx.join_rule()
    if not (
        join_rule == "knock" or (join_rule == "knock_restricted" and rv.knock_restricted_join_rule)
    ):
        ctx.fail("member.knock.join_rule", f"join rule {join_rule!r} does not allow knocking")
    if ctx.sender != target:
        ctx.fail("member.knock.sender", "sender does not match state_key")
    current = ctx.membership(target)
    if current not in ("ban", "invite", "join"):
        return
    ctx.fail("member.knock.otherwise", f"sender's membership is {current}")


# --- third-party invite signatures -------------------------------------------


def _decode_unpadded_base64(text: Any) -> bytes | None:
    """Standard or URL-safe unpadded Base64 (appendices), or None if invalid."""
    if not isinstance(text, str):
        return None
    text = text.rstrip("=").replace("-", "+").replace("_", "/")
    if len(text) % 4 == 1:
        return None
    try:
        return binascii.a2b_base64(
            (text + "=" * (-len(text) % 4)).encode("ascii"), strict_mode=True
        )
    except (binascii.Error, UnicodeEncodeError):
        return None


def _public_keys(invite_content: Mapping[str, Any]) -> Iterator[nacl.signing.VerifyKey]:
    """The keys of an ``m.room.third_party_invite``: ``public_key`` and each
    ``public_keys[].public_key`` (rule 4.4.1.7)."""
    encoded = [invite_content.get("public_key")]
    listed = invite_content.get("public_keys")
    if isinstance(listed, list):
        encoded += [item.get("public_key") for item in listed if isinstance(item, Mapping)]
    for text in encoded:
        raw = _decode_unpadded_base64(text)
        if raw is not None and len(raw) == 32:
            yield nacl.signing.VerifyKey(raw)


def third_party_signature_valid(
    signed: Mapping[str, Any], invite_content: Mapping[str, Any]
) -> bool:
    """Whether any ed25519 signature in ``signed`` (the identity server's
    ``third_party_invite.signed`` block) verifies with any public key of the
    ``m.room.third_party_invite`` content (rule 4.4.1.7, v11). A signature
    covers the canonical JSON of ``signed`` without ``signatures`` and
    ``unsigned`` (appendices, "Signing JSON")."""
    signatures = signed.get("signatures")
    if not isinstance(signatures, Mapping):
        return False
    candidates: list[bytes] = []
    for by_key in signatures.values():
        if not isinstance(by_key, Mapping):
            continue
        for key_id, value in by_key.items():
            raw = _decode_unpadded_base64(value)
            is_ed25519 = isinstance(key_id, str) and key_id.startswith("ed25519:")
            if is_ed25519 and raw is not None and len(raw) == 64:
                candidates.append(raw)
    if not candidates:
        return False
    try:
        message = canonicaljson.encode_canonical_json(
            {k: v for k, v in signed.items() if k not in ("signatures", "unsigned")}
        )
    except (TypeError, ValueError):
        return False
    for key in _public_keys(invite_content):
        for signature in candidates:
            try:
                key.verify(message, signature)
            except nacl.exceptions.BadSignatureError:
                continue
            return True
    return False
