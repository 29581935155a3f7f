"""User-interactive auth for handlers (spec: "User-Interactive Authentication
API"); the sessions and stage checks are :mod:`trioserver.accounts.uia`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from quart import request

from trioserver.accounts.uia import PASSWORD, Flows, UiaSession
from trioserver.api.context import services
from trioserver.api.http import client_ip
from trioserver.api.ratelimit import rate_limit

#: The flows of endpoints that re-check who the user is.
PASSWORD_FLOWS: Flows = [[PASSWORD]]


@asynccontextmanager
async def user_interactive_auth(
    body: dict[str, Any], flows: Flows, *, user_id: str | None
) -> AsyncIterator[UiaSession]:
    """Run the UIA step of the current request (its body's ``auth``) for
    ``flows``: raises the 401 while stages remain; once a flow is complete,
    the body of the ``async with`` performs the operation. If it succeeds the
    session is spent; if it raises, the client may retry with the session.

        async with user_interactive_auth(body, PASSWORD_FLOWS, user_id=owner.user_id):
            ...

    The session is bound to this request's method and path and to
    ``user_id`` (the authenticated requester, or None where a token is
    optional; the password stage then names the user: ``session.user_id``).
    Password attempts count as logins for rate limiting."""
    auth = body.get("auth")
    if isinstance(auth, dict) and auth.get("type") == PASSWORD:
        rate_limit("login", ip=client_ip())
    uia = services().accounts.uia
    session = await uia.authenticate(
        auth, flows, operation=f"{request.method} {request.path}", user_id=user_id
    )
    try:
        yield session
    except BaseException:
        uia.release(session)
        raise
    uia.finish(session)
