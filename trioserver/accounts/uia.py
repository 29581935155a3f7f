"""User-interactive authentication (spec: client-server API, "User-Interactive
Authentication API").

Sessions live in memory and expire on the trio clock. A session is bound to
one operation (method and path) and, once known, to one user, so completed
stages cannot be carried to another request. The stages offered:

* ``m.login.dummy``: always succeeds (open registration).
* ``m.login.password``: the account's password (identifier ``m.id.user``).
* ``m.login.registration_token``: reserves one use of a registration token;
  a session that expires unfinished gives the use back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from trioserver.accounts import tokens
from trioserver.accounts.errors import LoginFailed, UserDeactivated
from trioserver.db import Database
from trioserver.db import registration_tokens as reg_sql
from trioserver.protocol.errors import MatrixError
from trioserver.util.clock import Clock

log = logging.getLogger(__name__)

DUMMY = "m.login.dummy"
PASSWORD = "m.login.password"
REGISTRATION_TOKEN = "m.login.registration_token"

#: How long a session may take to complete (seconds).
SESSION_LIFETIME = 30 * 60.0
#: Sessions held at most; the oldest go first beyond this.
MAX_SESSIONS = 10_000

Flows = list[list[str]]
#: ``check_password(user, password)`` -> the user ID, or raises
#: :class:`LoginFailed` / :class:`UserDeactivated`.
PasswordCheck = Callable[[str, str], Awaitable[str]]


@dataclass(slots=True)
class UiaSession:
    session_id: str
    operation: str
    user_id: str | None
    expires_at: float
    completed: list[str] = field(default_factory=list)
    #: The registration token whose use this session reserved.
    registration_token: str | None = None
    #: A request holding the completed session is performing the operation.
    in_use: bool = False


class AuthRequired(MatrixError):
    """The 401 answer of UIA: flows, params, session, completed stages, and
    ``errcode``/``error`` after a failed attempt at a stage."""

    def __init__(
        self, flows: Flows, session: UiaSession, errcode: str | None = None, message: str = ""
    ) -> None:
        super().__init__(
            errcode or "M_UNAUTHORIZED", message or "Authentication required", status=401
        )
        body: dict[str, Any] = {
            "flows": [{"stages": list(stages)} for stages in flows],
            "params": {},
            "session": session.session_id,
        }
        if session.completed:
            body["completed"] = list(session.completed)
        if errcode is not None:
            body["errcode"] = errcode
            body["error"] = message
        self.body = body

    def to_json(self) -> dict[str, Any]:
        return self.body


def user_of_identifier(body: dict[str, Any]) -> str:
    """The user named by a login or ``m.login.password`` body: ``identifier``
    of type ``m.id.user``, or the deprecated top-level ``user``. Third-party
    identifiers name no user here (we hold no 3PIDs): 403, as the spec says
    for unknown 3PIDs."""
    identifier = body.get("identifier")
    if identifier is not None:
        if not isinstance(identifier, dict):
            raise MatrixError("M_INVALID_PARAM", "'identifier' must be an object")
        kind = identifier.get("type")
        if kind in ("m.id.thirdparty", "m.id.phone"):
            raise MatrixError("M_FORBIDDEN", "Unknown third-party identifier")
        if kind != "m.id.user":
            raise MatrixError("M_UNKNOWN", f"Unknown identifier type {kind!r}")
        user = identifier.get("user")
    elif "medium" in body or "address" in body:
        raise MatrixError("M_FORBIDDEN", "Unknown third-party identifier")
    else:
        user = body.get("user")  # deprecated top-level form
    if not isinstance(user, str) or not user:
        raise MatrixError("M_MISSING_PARAM", "Missing user identifier")
    return user


class InteractiveAuth:
    """The UIA sessions of one server and the checks of each stage."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        check_password: PasswordCheck,
        *,
        lifetime: float = SESSION_LIFETIME,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self._db = db
        self._clock = clock
        self._check_password = check_password
        self._lifetime = lifetime
        self._max_sessions = max_sessions
        #: In creation order, which is also expiry order.
        self._sessions: dict[str, UiaSession] = {}
        #: Token uses held by sessions evicted for room, given back at the next sweep.
        self._evicted_tokens: list[str] = []

    def __len__(self) -> int:
        return len(self._sessions)

    async def authenticate(
        self, auth: object, flows: Flows, *, operation: str, user_id: str | None
    ) -> UiaSession:
        """Run one UIA step for a request whose body held ``auth``.

        Returns the session once a whole flow is complete, held for this
        request (no other request can use it meanwhile); raises
        :class:`AuthRequired` (401) while stages remain, or a
        :class:`MatrixError` for a malformed attempt. ``user_id`` is the
        authenticated requester, if any; a password stage must name them.
        The caller performs the operation, then calls :meth:`finish` if it
        succeeded or :meth:`release` if it failed (the client may retry).
        """
        await self.sweep()
        if auth is None:
            raise AuthRequired(flows, self._new(operation, user_id))
        if not isinstance(auth, dict):
            raise MatrixError("M_INVALID_PARAM", "'auth' must be an object")
        session_id = auth.get("session")
        if session_id is None:
            session = self._new(operation, user_id)
        elif not isinstance(session_id, str):
            raise MatrixError("M_INVALID_PARAM", "'auth.session' must be a string")
        else:
            found = self._sessions.get(session_id)
            if found is None:
                raise MatrixError("M_UNKNOWN", "Unknown or expired authentication session")
            session = found
            if session.in_use:
                raise MatrixError("M_UNKNOWN", "Another request is using this session")
            if session.operation != operation or (
                user_id is not None and session.user_id not in (None, user_id)
            ):
                raise MatrixError(
                    "M_FORBIDDEN", "Requested operation has changed during the UI auth session"
                )
            if user_id is not None:
                session.user_id = user_id
        kind = auth.get("type")
        if kind is not None and kind not in session.completed:
            if not isinstance(kind, str):
                raise MatrixError("M_INVALID_PARAM", "'auth.type' must be a string")
            attempt = [*session.completed, kind]
            if not any(flow[: len(attempt)] == attempt for flow in flows):
                raise AuthRequired(flows, session, "M_UNKNOWN", f"{kind} is not expected next")
            await self._check_stage(kind, auth, session, flows)
            if kind not in session.completed:  # (a concurrent attempt may have added it)
                session.completed.append(kind)
        if any(session.completed[: len(flow)] == flow for flow in flows):
            session.in_use = True
            return session
        raise AuthRequired(flows, session)

    def finish(self, session: UiaSession) -> None:
        """The operation succeeded: the session is spent (and any registration
        token use it reserved was completed by the operation)."""
        self._sessions.pop(session.session_id, None)

    def release(self, session: UiaSession) -> None:
        """The operation failed: the completed session may be retried."""
        session.in_use = False

    async def _check_stage(
        self, kind: str, auth: dict[str, Any], session: UiaSession, flows: Flows
    ) -> None:
        if kind == DUMMY:
            return
        if kind == PASSWORD:
            user = user_of_identifier(auth)
            password = auth.get("password")
            if not isinstance(password, str):
                raise MatrixError("M_MISSING_PARAM", "Missing password")
            try:
                user_id = await self._check_password(user, password)
            except LoginFailed:
                raise AuthRequired(flows, session, "M_FORBIDDEN", "Invalid password") from None
            except UserDeactivated:
                raise MatrixError(
                    "M_USER_DEACTIVATED", "This account has been deactivated"
                ) from None
            if session.user_id is not None and user_id != session.user_id:
                raise MatrixError("M_FORBIDDEN", "The password given is not the requester's")
            session.user_id = user_id
            return
        if kind == REGISTRATION_TOKEN:
            token = auth.get("token")
            if not isinstance(token, str):
                raise MatrixError("M_MISSING_PARAM", "Missing registration token")
            valid = tokens.is_valid_registration_token(token) and await self._db.run_write(
                reg_sql.reserve_use_txn, token, self._clock.time_ms()
            )
            if not valid:
                raise AuthRequired(flows, session, "M_UNAUTHORIZED", "Invalid registration token")
            if session.session_id not in self._sessions:  # expired meanwhile
                await self._db.run_write(reg_sql.release_uses_txn, [token])
                raise MatrixError("M_UNKNOWN", "Unknown or expired authentication session")
            if session.registration_token is not None:
                # A concurrent attempt passed the stage first: one use is enough.
                await self._db.run_write(reg_sql.release_uses_txn, [token])
                return
            session.registration_token = token
            return
        raise AuthRequired(flows, session, "M_UNKNOWN", f"Unsupported auth type {kind}")

    def _new(self, operation: str, user_id: str | None) -> UiaSession:
        while len(self._sessions) >= self._max_sessions:
            evicted = self._sessions.pop(next(iter(self._sessions)))
            if evicted.registration_token is not None:
                self._evicted_tokens.append(evicted.registration_token)
        session = UiaSession(
            tokens.new_session_id(), operation, user_id, trio.current_time() + self._lifetime
        )
        self._sessions[session.session_id] = session
        return session

    async def sweep(self) -> None:
        """Forget expired sessions, giving back the registration-token uses they held."""
        now = trio.current_time()
        expired: list[UiaSession] = []
        while self._sessions:
            oldest = next(iter(self._sessions.values()))
            if oldest.expires_at > now:
                break
            expired.append(self._sessions.pop(oldest.session_id))
        held = [s.registration_token for s in expired if s.registration_token is not None]
        held += self._evicted_tokens
        self._evicted_tokens = []
        if held:
            await self._db.run_write(reg_sql.release_uses_txn, held)
