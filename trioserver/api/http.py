"""Helpers shared by handlers: JSON bodies, JSON responses, the requesting user."""

from __future__ import annotations

import json
from typing import Any, cast

from quart import Response, g, request

from trioserver.accounts import AccessTokenExpired
from trioserver.api.context import services
from trioserver.db.accounts import TokenOwner
from trioserver.protocol.errors import MatrixError

JsonDict = dict[str, Any]


def json_response(body: Any, status: int = 200) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(data, status=status, content_type="application/json")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> JsonDict:
    result: JsonDict = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_body(data: bytes) -> JsonDict:
    """A request body as a JSON object, or ``400 M_NOT_JSON``.

    Client bodies may hold floats (account data, filters); what may be
    stored in events is checked where events are built.
    """
    try:
        text = data.decode("utf-8")
        body = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MatrixError("M_NOT_JSON", f"Content not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise MatrixError("M_NOT_JSON", "Content must be a JSON object")
    # A \u escape of an unpaired surrogate is no Unicode text: nothing could
    # store or re-encode it (surrogates cannot come from valid UTF-8).
    if "\\u" in text:
        try:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise MatrixError("M_BAD_JSON", "Unpaired surrogate escape in a string") from None
    return body


async def json_body(*, allow_empty: bool = False) -> JsonDict:
    """The current request's body as a JSON object. An empty body is ``{}``
    where ``allow_empty`` (some endpoints take an optional body)."""
    data = cast(bytes, await request.get_data(cache=True, as_text=False))
    if allow_empty and not data.strip():
        return {}
    return parse_body(data)


def access_token_of_request() -> str | None:
    """The access token from the ``Authorization: Bearer`` header or the
    deprecated ``access_token`` query parameter (spec: "Using access tokens")."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise MatrixError(
                "M_MISSING_TOKEN", "Authorization header must be 'Bearer <token>'", status=401
            )
        return token.strip()
    return request.args.get("access_token")


def client_ip() -> str:
    """The address the request came from (the key of per-IP rate limits)."""
    return request.remote_addr or "<unknown>"


async def require_user(*, allow_guest: bool = True) -> TokenOwner:
    """The authenticated requester, or 401 ``M_MISSING_TOKEN`` / ``M_UNKNOWN_TOKEN``
    (with ``soft_logout: true`` for an expired token: spec "Soft logout").
    Guests get 403 ``M_GUEST_ACCESS_FORBIDDEN`` unless ``allow_guest`` (spec:
    "Guest Access" lists the endpoints guests may use)."""
    token = access_token_of_request()
    if not token:
        raise MatrixError("M_MISSING_TOKEN", "Missing access token")
    try:
        owner = await services().accounts.authenticate(
            token, ip=client_ip(), user_agent=request.headers.get("User-Agent")
        )
    except AccessTokenExpired:
        raise MatrixError("M_UNKNOWN_TOKEN", "Access token has expired", soft_logout=True) from None
    if owner is None:
        raise MatrixError("M_UNKNOWN_TOKEN", "Unknown access token", soft_logout=False)
    g.user_id = owner.user_id  # for error logs
    if owner.is_guest and not allow_guest:
        raise MatrixError("M_GUEST_ACCESS_FORBIDDEN", "Guest accounts cannot use this endpoint")
    return owner


async def optional_user(*, allow_guest: bool = True) -> TokenOwner | None:
    """The requester where an access token is optional: None without one; a
    token given must be valid (as :func:`require_user`)."""
    if access_token_of_request() is None:
        return None
    return await require_user(allow_guest=allow_guest)
